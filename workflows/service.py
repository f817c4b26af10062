"""Engine operations, each one database transaction: start, complete, claim, delegate, cancel,
fire timers. Engine state, task rows, audit events and the process's own records commit together
or not at all.

Writers lock the instance row first (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the write
transaction is BEGIN IMMEDIATE), so concurrent requests on one instance run one after the other
and the loser of a race on one task sees it already completed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock, definitions, ending, engine, forms, hooks, plugins, projection
from .db import Database
from .errors import Conflict, EngineFailure, Forbidden, Invalid, NotFound
from .evaluator import ExpressionError
from .models import Membership, ProcessInstance, Task, User
from .routing import ADMIN_ROLE, can_see


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
) -> projection.SyncResult:
    """Run one engine step, store the state and bring the projection and records in step."""
    try:
        step()
    except (SpiffWorkflowException, ExpressionError) as exc:
        raise EngineFailure(f"the process failed: {exc}") from exc
    instance.lock_version = (instance.lock_version or 0) + 1  # this step's number
    instance.state = engine.dump(workflow)
    result = projection.sync(session, instance, workflow, parsed)
    session.flush()
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
    return result


def lock_instance(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update(of=ProcessInstance)
        .execution_options(populate_existing=True)
    )
    if instance is None:
        raise NotFound("instance not found")
    return instance


def locked_task(session: Session, task_id: int) -> tuple[Task, ProcessInstance]:
    """Lock the task's instance, then read the task as it is now."""
    instance_id = session.scalar(select(Task.instance_id).where(Task.id == task_id))
    if instance_id is None:
        raise NotFound("task not found")
    instance = lock_instance(session, instance_id)
    task = session.scalar(
        select(Task).where(Task.id == task_id).execution_options(populate_existing=True)
    )
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
    with db.write() as session:
        task, instance = locked_task(session, task_id)
        ensure_actionable(task, actor)
        if instance.status != "running":
            raise Conflict(f"instance is {instance.status}")
        parsed = definitions.loaded(instance.definition)
        workflow = engine.load(parsed, instance.state)
        spiff_task = engine.spiff_task(workflow, task.spiff_id)
        if spiff_task is None or not spiff_task.has_state(TaskState.READY):
            raise Conflict("task is no longer open in the process")
        info = parsed.user_tasks[task.key]
        plugin = plugins.for_process(parsed.key)
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
        session.flush()
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
            "instance_id": instance.id,
            "instance_state": instance.status,
            "outcome": instance.outcome,
            "opened": [t.id for t in result.opened],
        }


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
        parsed = definitions.loaded(instance.definition)
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
        except EngineFailure as exc:
            _mark_error(db, exc)
    return fired


def _fire(session: Session, instance_id: int) -> None:
    instance = lock_instance(session, instance_id)
    parsed = definitions.loaded(instance.definition)
    workflow = engine.load(parsed, instance.state)
    waiting = {t.id for t in engine.iter_timer_tasks(workflow, TaskState.WAITING)}
    try:
        run_step(session, instance, workflow, parsed, None, lambda: engine.advance(workflow))
    except EngineFailure as exc:
        exc.instance_id = instance_id
        raise
    for t in engine.iter_timer_tasks(workflow, TaskState.COMPLETED):
        if t.id in waiting:
            audit.record(
                session,
                "timer.fired",
                instance_id=instance.id,
                business_key=instance.business_key,
                timer=t.task_spec.name,
            )


def _mark_error(db: Database, exc: EngineFailure) -> None:
    instance_id = getattr(exc, "instance_id", None)
    if instance_id is None:
        raise exc
    with db.write() as session:
        instance = lock_instance(session, instance_id)
        instance.status, instance.error, instance.next_timer_at = "error", exc.message, None
        audit.record(session, "instance.error", instance_id=instance_id, error=exc.message)
