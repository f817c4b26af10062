"""Engine operations, each one database transaction: start, complete, claim, delegate, cancel,
fire timers. Engine state, task rows, audit events and the process's own records commit together
or not at all.

Writers lock the instance row first (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the write
transaction is BEGIN IMMEDIATE), so concurrent requests on one instance run one after the other
and the loser of a race on one task sees it already completed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, lazyload

from . import (
    audit,
    clock,
    deadline,
    definitions,
    ending,
    engine,
    forms,
    guards,
    hooks,
    limits,
    plugins,
    projection,
    row_insert,
    write_behind,
)
from .db import Database
from .errors import (
    Conflict,
    EngineFailure,
    Forbidden,
    Invalid,
    LimitExceeded,
    NotFound,
    StepTimedOut,
    column_overflow,
)
from .evaluator import ExpressionError
from .models import Membership, ProcessInstance, Task, User
from .routing import ADMIN_ROLE, can_see

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who acts: a user id with the (role, org unit id) pairs of their memberships."""

    user_id: int
    username: str
    pairs: frozenset[tuple[str, int]]

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(
            user.id, user.username, frozenset((m.role, m.org_unit_id) for m in user.memberships)
        )

    @property
    def is_admin(self) -> bool:
        return any(role == ADMIN_ROLE for role, _ in self.pairs)

    def has_role(self, role: str) -> bool:
        return any(r == role for r, _ in self.pairs)


# --- the shared step ------------------------------------------------------------------------


def run_step(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    parsed: definitions.ParsedProcess,
    actor_id: int | None,
    step: Callable[[], None],
    insert: Callable[[], None] | None = None,
    *,
    flush: bool = True,
) -> projection.SyncResult:
    """Run one engine step, store the state and bring the projection and records in step.

    The step runs within its wall-clock limit (`workflows.deadline`) and its new state within
    the instance's size limit; any failure of the process is an EngineFailure naming the
    element, and the caller's transaction rolls back. `insert` (a start) adds the new
    instance's row once its state is known, so that it is written once, not written and then
    updated. `flush=False` (many instances' steps written together) stops after the
    projection: the caller calls `flush_step` once, then `record_step` for each."""
    try:
        with deadline.step_limit(limits.SETTINGS.step_seconds):
            step()
            state = engine.dump(workflow)  # inside the limit too: a big state dumps slowly
    except deadline.StepTimeout as exc:
        raise StepTimedOut(
            f"流程步骤运行超过 {exc.seconds:g} 秒，已撤销，实例标记为出错 "
            f"(the step ran longer than its limit of {exc.seconds:g} seconds"
            + (f" at {exc.element!r}" if exc.element else "")
            + "; it was undone and the instance marked error; MAX_STEP_SECONDS)",
            element=exc.element,
            instance_id=instance.id,
        ) from None
    except EngineFailure as exc:
        exc.instance_id = instance.id
        raise
    except (SpiffWorkflowException, ExpressionError) as exc:
        raise process_failure(exc, instance.id) from exc
    except Exception as exc:  # RecursionError, a fault inside SpiffWorkflow: still no 500
        log.exception("engine fault in instance %s", instance.id)
        raise process_failure(exc, instance.id) from exc
    size = limits.state_bytes(state)
    if size > limits.SETTINGS.state_bytes:
        raise LimitExceeded(
            f"实例数据将达到 {size} 字节，超过上限 {limits.SETTINGS.state_bytes} 字节，未保存 "
            f"(the instance's state would be {size} bytes, over its limit of "
            f"{limits.SETTINGS.state_bytes}; nothing was stored; MAX_INSTANCE_STATE_BYTES)",
            instance_id=instance.id,
        )
    instance.lock_version = (instance.lock_version or 0) + 1  # this step's number
    instance.state = state
    result = projection.sync(session, instance, workflow, parsed, insert)
    if not flush:
        return result
    # the locked instance's own rows: written behind, with the step's next statement
    write_behind.update_rows(session, [instance, *result.withdrawn, *result.escalated])
    flush_step(session, instance.id, result.opened)
    record_step(session, instance, workflow, parsed, actor_id, result)
    return result


def flush_step(session: Session, instance_id: int | None, opened: Sequence[Task] = ()) -> None:
    """Write what the step changed, its opened task rows first (one INSERT, their ids read
    back, `row_insert`); a value its column cannot hold fails the step."""
    try:
        row_insert.insert_rows(session, list(opened))
        session.flush()
    except DataError as exc:  # e.g. a name longer than its column (a write behind that
        # fails does so at the COMMIT: `Database.write` says the same then)
        raise column_overflow(exc, instance_id) from None


def record_step(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    parsed: definitions.ParsedProcess,
    actor_id: int | None,
    result: projection.SyncResult,
) -> None:
    """After the step's rows are written (they have ids): its audit events and hooks."""
    # the process's own hooks first, then the observers (plugins.observe)
    listeners = plugins.hooks_for(parsed.key)
    common = {"instance_id": instance.id, "business_key": instance.business_key}
    for row in result.withdrawn:
        audit.record(
            session, "task.withdrawn", actor_id=actor_id, task_id=row.id, key=row.key, **common
        )
    for row in result.opened:
        audit.record(session, "task.created", task_id=row.id, key=row.key, role=row.role, **common)
        data = result.task_data.get(row.spiff_id, {})
        for listener in listeners:
            listener.task_opened(hooks.HookContext(session, instance, data, actor_id), row)
    for row in result.escalated:
        audit.record(session, "task.escalated", task_id=row.id, key=row.key, **common)
        for listener in listeners:
            listener.task_escalated(hooks.HookContext(session, instance, {}, actor_id), row)
    if result.finished:
        audit.record(
            session, "instance.completed", actor_id=actor_id, outcome=instance.outcome, **common
        )
        last = workflow.last_task
        data = last.data if last is not None else {}
        for listener in listeners:
            listener.instance_finished(hooks.HookContext(session, instance, data, actor_id))


def process_failure(exc: BaseException, instance_id: int | None = None) -> EngineFailure:
    """An EngineFailure for an error the process raised, naming the element it was at.

    SpiffWorkflow 3.2 puts the task spec on its exceptions (`WorkflowException.task_spec`)
    and wraps an expression's error without its text when a condition fails, so the
    evaluator's message is taken from the wrapped exception."""
    spec = getattr(exc, "task_spec", None)
    element = guards.element_of(spec) if spec is not None else None
    detail = str(exc).strip().rstrip(".")
    inner = exc.__context__
    if isinstance(inner, ExpressionError) and str(inner) not in detail:
        detail = f"{detail}: {inner}"
    if not isinstance(exc, SpiffWorkflowException | ExpressionError):
        detail = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    name = getattr(spec, "bpmn_name", None)
    where = f" at {element!r}" + (f" ({name})" if name and name != element else "")
    return EngineFailure(
        f"the process failed{where if element else ''}: {detail}",
        element=element,
        instance_id=instance_id,
    )


@contextmanager
def marking_failures(db: Database) -> Iterator[None]:
    """Around an operation that runs engine steps: a failure that marks its instance
    (`EngineFailure.marks_instance`, an overrun step) marks it `error` once the transaction
    has rolled back, so that the reason is kept although the step is undone."""
    try:
        yield
    except EngineFailure as exc:
        if exc.marks_instance and exc.instance_id is not None:
            instance_id, reason = exc.instance_id, exc.message
            db.after_rollback(lambda: mark_error(db, instance_id, reason))
        raise


def _locking(where) -> Select:
    # The definition (and its BPMN text) is not joined in: the spec comes from the cache by id.
    return (
        select(ProcessInstance)
        .where(where)
        .with_for_update(of=ProcessInstance)
        .options(lazyload(ProcessInstance.definition))
        .execution_options(populate_existing=True)
    )


# A completion's two reads, built once: the task's instance locked (found through the task),
# then the task as it is now with the instance's other open rows.
_LOCK_BY_TASK = _locking(
    ProcessInstance.id
    == select(Task.instance_id).where(Task.id == bindparam("task_id")).scalar_subquery()
)
_TASK_AND_OPEN_ROWS = (
    select(Task)
    .where(
        Task.instance_id == bindparam("instance_id"),
        or_(Task.id == bindparam("task_id"), Task.status == "open"),
    )
    .options(lazyload("*"))
    .execution_options(populate_existing=True)
)


def lock_instance(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.scalar(_locking(ProcessInstance.id == instance_id))
    if instance is None:
        raise NotFound("instance not found")
    return instance


def locked_task(session: Session, task_id: int) -> tuple[Task, ProcessInstance]:
    """Lock the task's instance (found through the task in the same statement), then read the
    task as it is now, with the instance's other open rows (`projection.sync` needs them: the
    session then has them, and sync asks nobody again)."""
    instance = session.scalar(_LOCK_BY_TASK, {"task_id": task_id})
    if instance is None:
        raise NotFound("task not found")
    params = {"instance_id": instance.id, "task_id": task_id}
    rows = session.scalars(_TASK_AND_OPEN_ROWS, params).all()
    task = next(row for row in rows if row.id == task_id)
    projection.remember_open_rows(session, instance, [r for r in rows if r.status == "open"])
    return task, instance


def _visible(task: Task, actor: Actor) -> None:
    if not can_see(set(actor.pairs), actor.user_id, task):
        raise Forbidden("this task is not in your inbox")


def ensure_actionable(task: Task, actor: Actor) -> None:
    _visible(task, actor)
    if task.status != "open":
        raise Conflict(f"task is already {task.status}")
    if task.assignee_id not in (None, actor.user_id):
        raise Conflict("task is claimed by someone else")


# --- task operations ------------------------------------------------------------------------


def complete_task(db: Database, task_id: int, actor: Actor, data: Any) -> dict[str, Any]:
    with marking_failures(db), db.write() as session:
        task, instance = locked_task(session, task_id)
        ensure_actionable(task, actor)
        if instance.status != "running":
            raise Conflict(f"instance is {instance.status}")
        parsed = definitions.of_instance(session, instance)
        workflow = engine.load(parsed, instance.state)
        spiff_task = engine.spiff_task(workflow, task.spiff_id)
        if spiff_task is None or not spiff_task.has_state(TaskState.READY):
            raise Conflict("task is no longer open in the process")
        info = parsed.user_tasks[task.key]
        plugin = plugins.for_process(parsed.key)
        refuse_unmet_fields(plugin, task.key, info.form)
        cleaned = forms.clean(info.form, data, spiff_task.data, plugin.rules_for(task.key))
        before = hooks.HookContext(session, instance, spiff_task.data, actor.user_id)
        problems = plugin.hooks.check_completion(before, task, cleaned)
        if problems:
            raise forms.FormErrors(problems)

        def step() -> None:
            spiff_task.data[task.key] = cleaned
            spiff_task.run()
            engine.advance(workflow)

        now = clock.now()
        task.status, task.completed_at, task.completed_by_id = "completed", now, actor.user_id
        task.data = cleaned
        write_behind.update_rows(session, [task])
        audit.record(
            session,
            "task.completed",
            actor_id=actor.user_id,
            instance_id=instance.id,
            business_key=instance.business_key,
            task_id=task.id,
            key=task.key,
            data=cleaned,
        )
        result = run_step(session, instance, workflow, parsed, actor.user_id, step)
        ctx = hooks.HookContext(session, instance, spiff_task.data, actor.user_id)
        for listener in plugins.hooks_for(parsed.key):
            listener.task_completed(ctx, task, cleaned)
        return {
            "task_id": task.id,
            "process_key": task.process_key,
            "key": task.key,
            "instance_id": instance.id,
            "instance_state": instance.status,
            "outcome": instance.outcome,
            "opened": [t.id for t in result.opened],
        }


def refuse_unmet_fields(plugin: plugins.ProcessPlugin, key: str, form: forms.Form) -> None:
    """A version deployed before deployment checked the fields the plugin reads: a clear 409
    naming the task and the fields, not a KeyError inside the rule."""
    unmet = plugin.unmet_fields(key, form)
    if unmet:
        raise EngineFailure(
            f"本流程版本的“{key}”表单缺少流程规则要读取的字段：{', '.join(unmet)} "
            f"(the form of {key!r} in this version lacks fields the process's rules read: "
            f"{', '.join(unmet)}; deploy a version that has them)",
            unmet,
            element=key,
        )


def claim_task(db: Database, task_id: int, actor: Actor) -> Task:
    with db.write() as session:
        task, instance = locked_task(session, task_id)
        ensure_actionable(task, actor)
        if task.assignee_id != actor.user_id:
            task.assignee_id, task.claimed_at = actor.user_id, clock.now()
            audit.record(
                session,
                "task.claimed",
                actor_id=actor.user_id,
                task_id=task.id,
                instance_id=instance.id,
                business_key=instance.business_key,
            )
        return task


def unclaim_task(db: Database, task_id: int, actor: Actor) -> Task:
    with db.write() as session:
        task, instance = locked_task(session, task_id)
        _visible(task, actor)
        if task.status != "open":
            raise Conflict(f"task is already {task.status}")
        if task.assignee_id is None:
            raise Conflict("task is not claimed")
        if task.assignee_id != actor.user_id:
            raise Conflict("task is claimed by someone else")
        task.assignee_id, task.claimed_at = None, None
        audit.record(
            session,
            "task.unclaimed",
            actor_id=actor.user_id,
            task_id=task.id,
            instance_id=instance.id,
            business_key=instance.business_key,
        )
        return task


def delegate_task(db: Database, task_id: int, actor: Actor, username: str) -> Task:
    """Hand the task to a colleague: someone who holds the task's role at its org unit (a
    member of the unit in another role could not have been routed the task either)."""
    with db.write() as session:
        task, instance = locked_task(session, task_id)
        ensure_actionable(task, actor)
        target = session.scalar(select(User).where(User.username == username))
        if target is None or not target.is_active:
            raise Invalid("no such active user", {"username": "用户不存在 no such active user"})
        in_unit = session.scalar(
            select(Membership.id)
            .where(
                Membership.user_id == target.id,
                Membership.org_unit_id == task.org_unit_id,
                Membership.role == task.role,
            )
            .limit(1)
        )
        if in_unit is None:
            raise Invalid(
                "the user does not hold the task's role at its org unit",
                {"username": "该用户在本单位没有此角色 not in the task's role at its unit"},
            )
        task.assignee_id, task.claimed_at = target.id, clock.now()
        audit.record(
            session,
            "task.delegated",
            actor_id=actor.user_id,
            task_id=task.id,
            instance_id=instance.id,
            business_key=instance.business_key,
            to=target.username,
        )
        return task


def may_cancel(instance: ProcessInstance, actor: Actor) -> bool:
    """The engine's rule: an admin, or whoever started the instance."""
    return actor.is_admin or (
        instance.started_by_id is not None and instance.started_by_id == actor.user_id
    )


def cancel_allowed(instance: ProcessInstance, actor: Actor) -> bool:
    """Whether the actor may cancel the instance, by its process's rule."""
    parsed = definitions.loaded(instance.definition)
    policy = plugins.for_process(parsed.key).may_cancel or may_cancel
    return policy(instance, actor)


def cancel_instance(
    db: Database, instance_id: int, actor: Actor, reason: str = ""
) -> ProcessInstance:
    with db.write() as session:
        instance = lock_instance(session, instance_id)
        parsed = definitions.of_instance(session, instance)
        plugin = plugins.for_process(parsed.key)
        policy = plugin.may_cancel or may_cancel
        if not policy(instance, actor):
            raise Forbidden("you may not cancel this instance")
        ending.end_instance(session, instance, actor.user_id, reason=reason)
        return instance


# --- timers ---------------------------------------------------------------------------------


def fire_due_timers(db: Database, limit: int = 100) -> int:
    """Fire the timers that are due, one instance per transaction; safe to run in many workers.

    PostgreSQL workers skip instances another worker holds (FOR UPDATE SKIP LOCKED); SQLite
    writers run one at a time. Either way a fired timer moves `next_timer_at` in the same
    transaction, so no timer fires twice.
    """
    fired = 0
    while fired < limit:
        instance_id = None
        try:
            with db.write() as session:
                instance_id = session.scalar(
                    select(ProcessInstance.id)
                    .where(
                        ProcessInstance.status == "running",
                        ProcessInstance.next_timer_at <= clock.now(),
                    )
                    .order_by(ProcessInstance.next_timer_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if instance_id is None:
                    return fired
                _fire(session, instance_id)
                fired += 1
        # The step is undone; the instance is marked `error` with the reason so that the next
        # poll moves on to the others instead of failing on it again and again.
        except EngineFailure as exc:
            if instance_id is None:
                raise
            mark_error(db, instance_id, exc.message)
        except (OperationalError, InterfaceError):
            raise  # the database, not the instance: the worker's caller retries
        except Exception as exc:
            if instance_id is None:
                raise
            log.exception("timer step of instance %s failed", instance_id)
            mark_error(db, instance_id, f"the timer step failed: {type(exc).__name__}: {exc}")
    return fired


def _fire(session: Session, instance_id: int) -> None:
    instance = lock_instance(session, instance_id)
    parsed = definitions.of_instance(session, instance)
    try:
        workflow = engine.load(parsed, instance.state)
    except Exception as exc:  # a state SpiffWorkflow cannot read back: not a worker crash
        raise process_failure(exc, instance_id) from exc
    waiting = {t.id for t in engine.iter_timer_tasks(workflow, TaskState.WAITING)}
    run_step(session, instance, workflow, parsed, None, lambda: engine.advance(workflow))
    for t in engine.iter_timer_tasks(workflow, TaskState.COMPLETED):
        if t.id in waiting:
            audit.record(
                session,
                "timer.fired",
                instance_id=instance.id,
                business_key=instance.business_key,
                timer=t.task_spec.name,
            )


def mark_error(db: Database, instance_id: int, reason: str) -> None:
    """Take a running instance out of service with the reason: state `error`, its open tasks
    withdrawn (nobody can complete them), no timers, no message subscriptions."""
    with db.write() as session:
        instance = session.scalar(
            select(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .with_for_update(of=ProcessInstance)
            .execution_options(populate_existing=True)
        )
        if instance is None or instance.status != "running":
            return  # e.g. started in the transaction that failed: it never existed
        now = clock.now()
        instance.status, instance.error, instance.next_timer_at = "error", reason, None
        instance.updated_at = now
        for row in session.scalars(
            select(Task).where(Task.instance_id == instance.id, Task.status == "open")
        ):
            row.status, row.completed_at = "withdrawn", now
        projection.clear_subscriptions(session, instance)
        audit.record(
            session,
            "instance.error",
            instance_id=instance_id,
            business_key=instance.business_key,
            error=reason,
        )
