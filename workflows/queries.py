"""Read-side queries shared by the API and the web pages: inbox, requests, instances.

Nobody reads outside their scope: an instance is visible to a user with a membership matching one
of its (role, org unit) parties, to the assignee of one of its tasks, and to admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from . import clock, definitions, engine
from .errors import Forbidden, NotFound
from .models import (
    Agreement,
    AuditEvent,
    InstanceParty,
    LedgerEntry,
    ProcessInstance,
    Request,
    Task,
)
from .routing import can_see, inbox_clause
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
REQUEST_SORTS = {"created_at": Request.created_at, "id": Request.id, "title": Request.title}


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


def _paged(session: Session, stmt: Select, page: int, per_page: int) -> Page:
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items, total or 0, page, per_page)


def _order(column, order: str):
    return column.asc() if order == "asc" else column.desc()


def _like(text: str) -> str:
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
    request_id: int | None = None


def inbox_statement(actor: Actor, f: InboxFilter) -> Select:
    stmt = select(Task).where(inbox_clause(set(actor.pairs), actor.user_id))
    now = clock.now()
    conditions: list[ColumnElement[bool]] = []
    if f.role:
        conditions.append(Task.role == f.role)
    if f.process:
        conditions.append(Task.process_key == f.process)
    if f.key:
        conditions.append(Task.key == f.key)
    if f.request_id:
        conditions.append(Task.request_id == f.request_id)
    if f.due_before:
        conditions.append(Task.due_at < f.due_before)
    if f.due_after:
        conditions.append(Task.due_at > f.due_after)
    if f.overdue is True:
        conditions.append(Task.due_at < now)
    elif f.overdue is False:
        conditions.append(or_(Task.due_at.is_(None), Task.due_at >= now))
    if f.claimed is True:
        conditions.append(Task.assignee_id.is_not(None))
    elif f.claimed is False:
        conditions.append(Task.assignee_id.is_(None))
    if f.q:
        conditions.append(Task.title.ilike(_like(f.q), escape="\\"))
    return stmt.where(*conditions) if conditions else stmt


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
    stmt = inbox_statement(actor, f).order_by(
        _order(TASK_SORTS.get(sort, Task.created_at), order), Task.id.desc()
    )
    return _paged(session, stmt, page, per_page)


def inbox_counts(session: Session, actor: Actor) -> dict[str, int]:
    base = inbox_statement(actor, InboxFilter()).subquery()
    now = clock.now()
    row = session.execute(
        select(
            func.count(),
            func.count().filter(base.c.due_at < now),
            func.count().filter(base.c.assignee_id == actor.user_id),
        ).select_from(base)
    ).one()
    return {"open": row[0], "overdue": row[1], "mine": row[2]}


def task_for(session: Session, actor: Actor, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("task not found")
    if not (actor.is_admin or can_see(set(actor.pairs), actor.user_id, task)):
        raise Forbidden("this task is not in your inbox")
    return task


def task_detail(session: Session, actor: Actor, task_id: int) -> dict[str, Any]:
    """The task, its form, and the instance data it needs."""
    task = task_for(session, actor, task_id)
    instance = session.get(ProcessInstance, task.instance_id)
    parsed = definitions.loaded(instance.definition)
    info = parsed.user_tasks[task.key]
    data: dict[str, Any] = {}
    if task.status == "open":
        workflow = engine.load(parsed, instance.state)
        spiff = workflow.get_task_from_id(_uuid(task.spiff_id))
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
    return or_(by_party, by_assignment)


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
        "agreement": session.scalar(select(Agreement).where(Agreement.instance_id == instance.id)),
        "ledger": ledger(session, instance.id),
        "states": engine.element_states(workflow),
    }


def history(session: Session, *, instance_id: int | None = None, request_id: int | None = None):
    stmt = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if instance_id is not None:
        stmt = stmt.where(AuditEvent.instance_id == instance_id)
    if request_id is not None:
        stmt = stmt.where(AuditEvent.request_id == request_id)
    return list(session.scalars(stmt))


def ledger(session: Session, instance_id: int) -> dict[str, Any]:
    entries = list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.instance_id == instance_id)
            .order_by(LedgerEntry.id)
        )
    )
    agreed = sum(e.amount_fen for e in entries if e.kind == "agreed")
    transferred = sum(e.amount_fen for e in entries if e.kind == "transferred")
    return {
        "entries": entries,
        "agreed_fen": agreed,
        "transferred_fen": transferred,
        "outstanding_fen": agreed - transferred,
    }


def requests(
    session: Session,
    actor: Actor,
    *,
    q: str | None = None,
    sort: str = "created_at",
    order: str = "desc",
    page: int = 1,
    per_page: int = 20,
) -> Page[Request]:
    visible = select(ProcessInstance.request_id).where(visible_instances(actor))
    stmt = select(Request).where(Request.id.in_(visible))
    if q:
        stmt = stmt.where(Request.title.ilike(_like(q), escape="\\"))
    stmt = stmt.order_by(
        _order(REQUEST_SORTS.get(sort, Request.created_at), order), Request.id.desc()
    )
    return _paged(session, stmt, page, per_page)


def request_detail(session: Session, actor: Actor, request_id: int) -> dict[str, Any]:
    instances = list(
        session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.request_id == request_id, visible_instances(actor))
            .order_by(ProcessInstance.id)
        )
    )
    if not instances:
        raise NotFound("request not found")
    request = session.scalar(
        select(Request).where(Request.id == request_id).options(selectinload(Request.department))
    )
    return {"request": request, "instances": instances}


def _uuid(value: str) -> UUID:
    return UUID(value)
