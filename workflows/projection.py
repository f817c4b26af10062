"""Keep the inbox projection (`task` rows) and the instance row in step with the engine state.

After every engine run the service calls `sync`, in the same transaction, so that an inbox query
never has to deserialise a workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, lazyload

from . import calendar, clock, engine
from .definitions import ParsedProcess
from .errors import EngineFailure
from .models import Membership, MessageSubscription, ProcessInstance, ProvisionalTimer, Task, User
from .routing import ESCALATION_ROLE

OVERDUE_SUFFIX = "_overdue"


@dataclass
class SyncResult:
    opened: list[Task] = field(default_factory=list)
    withdrawn: list[Task] = field(default_factory=list)
    escalated: list[Task] = field(default_factory=list)
    finished: bool = False
    task_data: dict[str, dict] = field(default_factory=dict)  # spiff id -> data of opened tasks


def sync(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    parsed: ParsedProcess,
    insert: Callable[[], None] | None = None,
) -> SyncResult:
    """`insert`: the instance is new, and this adds its row (once its state, next timer and
    time are set, before its task rows, which name it)."""
    now = clock.now()
    result = SyncResult()
    provisional = calendar.provisional_counts(session)
    snap = engine.snapshot(workflow)
    ready = {str(t.id): t for t in snap.ready_user_tasks}
    fresh = getattr(workflow, engine.FRESH, False)
    open_rows = _open_rows(session, instance, workflow)
    instance.next_timer_at = snap.next_timer_at
    instance.updated_at = now
    if insert is not None:
        insert()
    by_spiff = {row.spiff_id: row for row in open_rows}

    for row in open_rows:
        if row.spiff_id not in ready:  # cancelled by the engine (terminate end, cancel)
            row.status, row.completed_at = "withdrawn", now
            result.withdrawn.append(row)

    for spiff_id, spiff_task in ready.items():
        timers = engine.boundary_timers(spiff_task)
        row = by_spiff.get(spiff_id)
        if row is None:
            row = _new_row(session, instance, parsed, spiff_task, now)
            row.due_at, row.due_provisional = due_of(timers, provisional)
            result.opened.append(row)  # inserted by the step's flush (`service.flush_step`)
            result.task_data[spiff_id] = spiff_task.data
        if row.escalated_at is None and any(
            t.task_spec.name.endswith(OVERDUE_SUFFIX) and t.has_state(TaskState.COMPLETED)
            for t in timers
        ):
            row.escalated_at = now
            row.escalation_unit_id = instance.scope.get(ESCALATION_ROLE)
            result.escalated.append(row)

    if provisional:
        keep_provisional_timers(session, instance, workflow, provisional, fresh)
    if parsed.has_messages:
        sync_subscriptions(session, instance, waiting_messages(workflow))
    if workflow.is_completed() and instance.status == "running":
        instance.status = "completed"
        instance.outcome = engine.outcome(workflow)
        instance.completed_at = now
        instance.next_timer_at = None
        result.finished = True
    return result


def due_of(timers: list, provisional: dict[str, tuple] | set[str]) -> tuple[datetime | None, bool]:
    """A task's due date (its earliest timer) and whether that date is provisional (counted
    through a year with no calendar: its value is among `provisional`)."""
    dues = [(d, engine.timer_value(t)) for t in timers if (d := engine.timer_due(t))]
    if not dues:
        return None, False
    due, value = min(dues, key=lambda pair: pair[0])
    return due, isinstance(value, str) and value in provisional


def keep_provisional_timers(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    provisional: dict,
    fresh: bool = False,
) -> None:
    """Remember the waiting timers whose date was counted provisionally in this transaction
    (`fresh`: the instance is new, so it has none remembered yet)."""
    kept = (
        set()
        if fresh
        else set(
            session.scalars(
                select(ProvisionalTimer.spiff_id).where(ProvisionalTimer.instance_id == instance.id)
            )
        )
    )
    for task in engine.iter_timer_tasks(workflow, TaskState.WAITING):
        value = engine.timer_value(task)
        if isinstance(value, str) and value in provisional and str(task.id) not in kept:
            start, days = provisional[value]
            session.add(
                ProvisionalTimer(
                    instance_id=instance.id,
                    spiff_id=str(task.id),
                    start=start,
                    days=days,
                    due_at=engine.timer_due(task),
                )
            )


def waiting_messages(workflow: BpmnWorkflow) -> set[str]:
    """Names of the messages the workflow waits for (catch events, receive tasks, boundary
    events; SpiffWorkflow keeps all of them WAITING)."""
    return {
        d.name
        for t in workflow.get_tasks(state=TaskState.WAITING)
        for d in engine.event_definitions(t.task_spec)
        if isinstance(d, MessageEventDefinition)
    }


def sync_subscriptions(session: Session, instance: ProcessInstance, names: set[str]) -> None:
    stored = set(
        session.scalars(
            select(MessageSubscription.name).where(MessageSubscription.instance_id == instance.id)
        )
    )
    if stored - names:
        session.execute(
            delete(MessageSubscription).where(
                MessageSubscription.instance_id == instance.id,
                MessageSubscription.name.in_(stored - names),
            )
        )
    session.add_all(
        MessageSubscription(instance_id=instance.id, name=name) for name in sorted(names - stored)
    )


def clear_subscriptions(session: Session, instance: ProcessInstance) -> None:
    session.execute(
        delete(MessageSubscription).where(MessageSubscription.instance_id == instance.id)
    )


OPEN_ROWS = "projection.open_rows"  # session.info: instance id -> its open rows, read under lock


def remember_open_rows(session: Session, instance: ProcessInstance, rows: list[Task]) -> None:
    """The instance's open rows as its locker just read them (`service.locked_task`): the next
    `sync` of the instance in this session takes them instead of asking again."""
    session.info.setdefault(OPEN_ROWS, {})[instance.id] = rows


def _open_rows(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow) -> list[Task]:
    """The instance's open task rows.

    A workflow just made by `engine.new_workflow` belongs to an instance created in this
    transaction, which has no rows yet: no query. Otherwise one query through the
    `task.instance_id` index, without the eager joins the inbox needs, and without flushing
    first, so that the new engine state, `next_timer_at` and `updated_at` go out in one UPDATE.
    Rows changed in this session but not yet flushed are taken as they are in the session.
    """
    if getattr(workflow, engine.FRESH, False):
        setattr(workflow, engine.FRESH, False)
        return []
    known = session.info.get(OPEN_ROWS, {}).pop(instance.id, None)
    if known is not None:
        return [row for row in known if row.status == "open"]
    with session.no_autoflush:
        rows = session.scalars(
            select(Task)
            .where(Task.instance_id == instance.id, Task.status == "open")
            .options(lazyload("*"))
        ).all()
    return [row for row in rows if row.status == "open"]


def _new_row(
    session: Session, instance: ProcessInstance, parsed: ParsedProcess, spiff_task, now
) -> Task:
    info = parsed.user_tasks[spiff_task.task_spec.name]
    assignee_id = _assignee(session, instance, info.assignee)
    role, unit = info.role, instance.scope.get(info.role)
    if not role and assignee_id is not None:  # routed by its assignee alone
        role, unit = _home(session, instance, assignee_id)
    if unit is None:
        raise EngineFailure(
            f"task {info.key!r} needs an org unit for role {info.role!r}, "
            "but the instance has none (routing data missing)"
        )
    return Task(
        spiff_id=str(spiff_task.id),
        instance_id=instance.id,
        business_key=instance.business_key,
        process_key=parsed.key,
        key=info.key,
        name=info.name,
        title=instance.title,
        role=role,
        org_unit_id=unit,
        assignee_id=assignee_id,
        opened_step=instance.lock_version or 0,
        created_at=now,
        status="open",
    )


def _home(session: Session, instance: ProcessInstance, user_id: int) -> tuple[str, int | None]:
    """The (role, org unit) a task with only an assignee is filed under: the assignee's
    membership among the instance's parties, else their first one."""
    rows = session.execute(
        select(Membership.role, Membership.org_unit_id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.id)
    ).all()
    parties = set(instance.scope.items())
    for role, unit in rows:
        if (role, unit) in parties:
            return role, unit
    return (rows[0][0], rows[0][1]) if rows else ("", None)


def _assignee(session: Session, instance: ProcessInstance, assignee: str | None) -> int | None:
    """camunda:assignee: the instance's starter, or a user by name (an unknown or inactive
    name leaves the task in the role's inbox rather than with nobody)."""
    if assignee is None:
        return None
    if assignee == "starter":
        return instance.started_by_id
    return session.scalar(
        select(User.id).where(User.username == assignee, User.is_active.is_(True))
    )
