"""Read-side queries shared by the API and the web pages: inbox, requests, instances.

Nobody reads outside their scope: an instance is visible to a user with a membership matching one
of its (role, org unit) parties, to the assignee of one of its tasks, and to admins.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, reduce
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session, defer, joinedload, lazyload

from . import audit, clock, definitions, diagram, engine, progress
from .db import core
from .errors import Forbidden, NotFound
from .models import (
    AuditEvent,
    InstanceParty,
    OrgUnit,
    ProcessDefinition,
    ProcessInstance,
    Task,
    User,
)
from .routing import can_see, inbox_branches, inbox_clause, inbox_params, inbox_shape
from .service import Actor

T = TypeVar("T")
MAX_PER_PAGE = 200
TASK_SORTS = {
    "created_at": Task.created_at,
    "due_at": Task.due_at,
    "name": Task.name,
    "title": Task.title,
    "id": Task.id,
}
INSTANCE_SORTS = {
    "created_at": ProcessInstance.created_at,
    "updated_at": ProcessInstance.updated_at,
    "id": ProcessInstance.id,
    "title": ProcessInstance.title,
}


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


def paged(session: Session, stmt: Select, page: int, per_page: int) -> Page:
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items, total or 0, page, per_page)


def order_by(column, order: str):
    return column.asc() if order == "asc" else column.desc()


def like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# --- inbox ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilter:
    role: str | None = None
    process: str | None = None
    key: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None
    claimed: bool | None = None
    q: str | None = None
    business_key: str | None = None


def _filters(f: InboxFilter) -> dict[str, tuple[ColumnElement[bool], object]]:
    """name -> (condition on a bound parameter of that name, its value) for the filters set."""
    out: dict[str, tuple[ColumnElement[bool], object]] = {}

    def add(name, make, value):
        out[name] = (make(bindparam(name, type_=_FILTER_TYPES.get(name))), value)

    if f.role:
        add("f_role", lambda p: Task.role == p, f.role)
    if f.process:
        add("f_process", lambda p: Task.process_key == p, f.process)
    if f.key:
        add("f_key", lambda p: Task.key == p, f.key)
    if f.business_key:
        add("f_business_key", lambda p: Task.business_key == p, f.business_key)
    if f.due_before:
        add("f_due_before", lambda p: Task.due_at < p, f.due_before)
    if f.due_after:
        add("f_due_after", lambda p: Task.due_at > p, f.due_after)
    if f.overdue is True:
        add("f_overdue", lambda p: Task.due_at < p, clock.now())
    elif f.overdue is False:
        add("f_not_overdue", lambda p: or_(Task.due_at.is_(None), Task.due_at >= p), clock.now())
    if f.claimed is True:
        out["f_claimed"] = (Task.assignee_id.is_not(None), None)
    elif f.claimed is False:
        out["f_unclaimed"] = (Task.assignee_id.is_(None), None)
    if f.q:
        add("f_q", lambda p: Task.title.ilike(p, escape="\\"), like_pattern(f.q))
    return out


_FILTER_TYPES = {
    "f_due_before": Task.due_at.type,
    "f_due_after": Task.due_at.type,
    "f_overdue": Task.due_at.type,
    "f_not_overdue": Task.due_at.type,
}


def inbox_statement(actor: Actor, f: InboxFilter) -> Select:
    """The inbox as one statement (one OR over the user's scopes); `inbox` runs it faster."""
    stmt = select(Task).where(inbox_clause(set(actor.pairs), actor.user_id))
    filters = _filters(f)
    values = {name: value for name, (_, value) in filters.items() if value is not None}
    return stmt.where(*[cond for cond, _ in filters.values()]).params(values)


def _inbox_query(actor: Actor, f: InboxFilter, sort: str, order: str, page: int, per_page: int):
    """(count statement, page statement, parameters) of one inbox page.

    The statements depend only on the shape of the question (how many memberships, which
    filters, which sort), not on its values, so they are built once and reused: building them
    costs more than running them on a small inbox."""
    filters = _filters(f)
    n_scopes, escalation = inbox_shape(actor.pairs)
    count_stmt, page_stmt = _inbox_statements(
        n_scopes, escalation, tuple(filters), sort if sort in TASK_SORTS else "created_at", order
    )
    params = inbox_params(actor.pairs, actor.user_id)
    params.update((name, value) for name, (_, value) in filters.items() if value is not None)
    params.update(
        inbox_need=page * per_page, inbox_limit=per_page, inbox_skip=(page - 1) * per_page
    )
    return count_stmt, page_stmt, params


@lru_cache(maxsize=256)
def _inbox_statements(
    n_scopes: int, escalation: bool, filter_names: tuple[str, ...], sort: str, order: str
) -> tuple[Select, Select]:
    probe = InboxFilter(
        **{_FILTER_FIELDS[name][0]: _FILTER_FIELDS[name][1] for name in filter_names}
    )
    conditions = [cond for cond, _ in _filters(probe).values()]
    branches = [and_(b, *conditions) for b in inbox_branches(n_scopes, escalation)]
    count_stmt = select(_sum_of_counts(branches))
    column = TASK_SORTS[sort]
    ordering = (order_by(column, order), Task.id.desc())
    firsts = [
        select(Task.id)
        .where(b)
        .order_by(*ordering)
        .limit(bindparam("inbox_need", type_=Integer))
        .subquery()
        for b in branches
    ]
    ids = union_all(*[select(sub.c.id) for sub in firsts]).subquery()
    page_stmt = (
        select(Task)
        .where(Task.id.in_(select(ids.c.id)))
        .order_by(*ordering)
        .limit(bindparam("inbox_limit", type_=Integer))
        .offset(bindparam("inbox_skip", type_=Integer))
        .options(
            joinedload(Task.org_unit).lazyload(OrgUnit.parent),
            joinedload(Task.assignee).lazyload(User.memberships),
        )
    )
    return count_stmt, page_stmt


# filter parameter -> (InboxFilter field, a value that makes `_filters` emit that condition)
_FILTER_FIELDS: dict[str, tuple[str, object]] = {
    "f_role": ("role", "x"),
    "f_process": ("process", "x"),
    "f_key": ("key", "x"),
    "f_business_key": ("business_key", "x"),
    "f_due_before": ("due_before", datetime.min),
    "f_due_after": ("due_after", datetime.min),
    "f_overdue": ("overdue", True),
    "f_not_overdue": ("overdue", False),
    "f_claimed": ("claimed", True),
    "f_unclaimed": ("claimed", False),
    "f_q": ("q", "x"),
}


def _sum_of_counts(branches: list[ColumnElement[bool]]):
    counts = [select(func.count()).select_from(Task).where(b).scalar_subquery() for b in branches]
    return reduce(operator.add, counts)


def inbox_count_statement(actor: Actor, f: InboxFilter) -> Select:
    """The inbox total: one count per disjoint branch (an index range each, index-only where
    the filters allow), added up in one statement; with its parameters bound."""
    count_stmt, _, params = _inbox_query(actor, f, "created_at", "desc", 1, 20)
    return count_stmt.params(params)


def inbox_page_statement(
    actor: Actor, f: InboxFilter, sort: str, order: str, page: int, per_page: int
) -> Select:
    """One page of the inbox: the first page*per_page ids of each branch in index order, merged,
    then the page itself with the task's org unit and assignee; with its parameters bound."""
    _, page_stmt, params = _inbox_query(actor, f, sort, order, page, per_page)
    return page_stmt.params(params)


def inbox(
    session: Session,
    actor: Actor,
    f: InboxFilter = InboxFilter(),
    *,
    sort: str = "created_at",
    order: str = "desc",
    page: int = 1,
    per_page: int = 20,
) -> Page[Task]:
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    count_stmt, page_stmt, params = _inbox_query(actor, f, sort, order, page, per_page)
    total = core(session).scalar(count_stmt, params) or 0
    items: list[Task] = []
    if (page - 1) * per_page < total:
        items = list(session.scalars(page_stmt, params))
    return Page(items, total, page, per_page)


def inbox_counts(session: Session, actor: Actor) -> dict[str, int]:
    count_stmt, overdue_stmt, mine_stmt = _counts_statements(*inbox_shape(actor.pairs))
    params = inbox_params(actor.pairs, actor.user_id)
    params["f_overdue"] = clock.now()
    row = session.execute(select(count_stmt, overdue_stmt, mine_stmt), params).one()
    return {"open": row[0] or 0, "overdue": row[1] or 0, "mine": row[2] or 0}


@lru_cache(maxsize=64)
def _counts_statements(n_scopes: int, escalation: bool):
    branches = inbox_branches(n_scopes, escalation)
    overdue = Task.due_at < bindparam("f_overdue", type_=Task.due_at.type)
    mine = (
        select(func.count())
        .select_from(Task)
        .where(Task.status == "open", Task.assignee_id == bindparam("inbox_user"))
        .scalar_subquery()
    )
    return (
        _sum_of_counts(branches).label("open"),
        _sum_of_counts([and_(b, overdue) for b in branches]).label("overdue"),
        mine.label("mine"),
    )


def task_for(session: Session, actor: Actor, task_id: int) -> Task:
    # as it is now, with its assignee and unit, also when this session changed it just before
    task = session.get(Task, task_id, populate_existing=True)
    if task is None:
        raise NotFound("task not found")
    if not (actor.is_admin or can_see(set(actor.pairs), actor.user_id, task)):
        raise Forbidden("this task is not in your inbox")
    return task


def task_detail(session: Session, actor: Actor, task_id: int) -> dict[str, Any]:
    """The task, its form, and the instance data it needs."""
    task = task_for(session, actor, task_id)
    # the definition (and its BPMN text) only if someone asks for it: the spec is cached by id
    instance = session.get(
        ProcessInstance, task.instance_id, options=[lazyload(ProcessInstance.definition)]
    )
    parsed = definitions.loaded_by_id(session, instance.definition_id)
    info = parsed.user_tasks[task.key]
    data: dict[str, Any] = {}
    if task.status == "open":
        workflow = engine.load(parsed, instance.state)
        spiff = engine.spiff_task(workflow, task.spiff_id)
        data = dict(spiff.data) if spiff is not None else {}
    return {"task": task, "instance": instance, "form": info.form.describe(), "data": data}


# --- instances and requests -----------------------------------------------------------------


def visible_instances(actor: Actor) -> ColumnElement[bool]:
    if actor.is_admin:
        return true()
    pairs = sorted(actor.pairs)
    by_party = exists().where(
        InstanceParty.instance_id == ProcessInstance.id,
        or_(*[and_(InstanceParty.role == r, InstanceParty.org_unit_id == u) for r, u in pairs])
        if pairs
        else false(),
    )
    by_assignment = exists().where(
        Task.instance_id == ProcessInstance.id, Task.assignee_id == actor.user_id
    )
    return or_(by_party, by_assignment, ProcessInstance.started_by_id == actor.user_id)


def instance_for(session: Session, actor: Actor, instance_id: int) -> ProcessInstance:
    instance = session.scalar(
        select(ProcessInstance).where(ProcessInstance.id == instance_id, visible_instances(actor))
    )
    if instance is None:
        raise NotFound("instance not found")
    return instance


def instance_detail(session: Session, actor: Actor, instance_id: int) -> dict[str, Any]:
    instance = instance_for(session, actor, instance_id)
    parsed = definitions.loaded(instance.definition)
    workflow = engine.load(parsed, instance.state)
    open_tasks = session.scalars(
        select(Task).where(Task.instance_id == instance.id, Task.status == "open").order_by(Task.id)
    ).all()
    return {
        "instance": instance,
        "data": engine.current_data(workflow),
        "open_tasks": list(open_tasks),
        "history": history(session, instance_id=instance.id),
        "states": engine.element_states(workflow),
        "taken": _taken(workflow, instance.definition.bpmn_xml),
    }


def _taken(workflow, bpmn_xml: str) -> set[str]:
    """The sequence flows the instance went along (to colour the path actually taken)."""
    try:
        flows = diagram.sequence_flows(bpmn_xml)
    except diagram.DiagramError:
        return set()
    return progress.taken_flows(workflow, flows)


def history(session: Session, *, instance_id: int | None = None, business_key: str | None = None):
    audit.write_pending(session)  # what this transaction recorded so far is history too
    stmt = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if instance_id is not None:
        stmt = stmt.where(AuditEvent.instance_id == instance_id)
    if business_key is not None:
        stmt = stmt.where(AuditEvent.business_key == business_key)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class InstanceFilter:
    process: str | None = None
    state: str | None = None
    outcome: str | None = None
    started_by_me: bool = False
    org_unit: int | None = None  # an org unit id among the instance's parties
    business_key: str | None = None
    q: str | None = None


def instances(
    session: Session,
    actor: Actor,
    f: InstanceFilter = InstanceFilter(),
    *,
    sort: str = "created_at",
    order: str = "desc",
    page: int = 1,
    per_page: int = 20,
) -> Page[ProcessInstance]:
    """Instances the actor may read, filtered, newest first; engine state not loaded."""
    stmt = select(ProcessInstance).where(visible_instances(actor))
    if f.process:
        keys = select(ProcessDefinition.id).where(ProcessDefinition.key == f.process)
        stmt = stmt.where(ProcessInstance.definition_id.in_(keys))
    if f.state:
        stmt = stmt.where(ProcessInstance.status == f.state)
    if f.outcome:
        stmt = stmt.where(ProcessInstance.outcome == f.outcome)
    if f.started_by_me:
        stmt = stmt.where(ProcessInstance.started_by_id == actor.user_id)
    if f.org_unit is not None:
        stmt = stmt.where(
            exists().where(
                InstanceParty.instance_id == ProcessInstance.id,
                InstanceParty.org_unit_id == f.org_unit,
            )
        )
    if f.business_key:
        stmt = stmt.where(ProcessInstance.business_key == f.business_key)
    if f.q:
        stmt = stmt.where(ProcessInstance.title.ilike(like_pattern(f.q), escape="\\"))
    column = INSTANCE_SORTS.get(sort, ProcessInstance.created_at)
    stmt = stmt.order_by(order_by(column, order), ProcessInstance.id.desc()).options(
        defer(ProcessInstance.state),
        joinedload(ProcessInstance.definition).defer(ProcessDefinition.bpmn_xml),
    )
    return paged(session, stmt, page, per_page)


def instance_counts(session: Session) -> dict[int, dict[str, int]]:
    """definition id -> {status: count}, for the process pages."""
    rows = session.execute(
        select(ProcessInstance.definition_id, ProcessInstance.status, func.count()).group_by(
            ProcessInstance.definition_id, ProcessInstance.status
        )
    ).all()
    out: dict[int, dict[str, int]] = {}
    for definition_id, status, n in rows:
        out.setdefault(definition_id, {})[status] = n
    return out


def org_unit_id(session: Session, code: str) -> int | None:
    return session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


def open_tasks_by_instance(session: Session, instance_ids: list[int]) -> dict[int, list[Task]]:
    """instance id -> its open task rows, oldest first (for lists of instances)."""
    out: dict[int, list[Task]] = {i: [] for i in instance_ids}
    if instance_ids:
        for task in session.scalars(
            select(Task)
            .where(Task.instance_id.in_(instance_ids), Task.status == "open")
            .order_by(Task.id)
        ):
            out[task.instance_id].append(task)
    return out
