"""Ending a running instance from outside its flow, inside the caller's transaction.

`service.cancel_instance` is the user's own cancel (its transaction, its permission check).
`end_instance` is the same ending for a caller that already holds the instance's lock and
decides for itself that the instance is over: another process's step, say, that ends this one
with an outcome of its own. Engine state, task rows, timers, subscriptions and the audit trail
change as for a cancel; the instance's plugin hears of it (`instance_cancelled`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock, definitions, engine, hooks, inputs, plugins, projection
from .errors import Conflict, Invalid
from .models import ProcessInstance, Task

# A cancel's reason is kept in its audit event (JSON, no column): a paragraph, not a document.
REASON_MAX = 2000


def end_instance(
    session: Session,
    instance: ProcessInstance,
    actor_id: int | None,
    *,
    outcome: str = "cancelled",
    reason: str = "",
    action: str = "instance.cancelled",
) -> None:
    """End the running `instance` (locked by the caller: `service.lock_instance`) with
    `outcome`: its open tasks are withdrawn and nothing of it waits any more."""
    # the reason by the rule of every input (the API's CancelIn has the same), before any change
    problem = inputs.text_problem(reason, REASON_MAX, required=False, multiline=True)
    if problem is not None:
        raise Invalid("bad reason", {"reason": problem.message})
    if instance.status != "running":
        raise Conflict(f"instance is already {instance.status}")
    parsed = definitions.of_instance(session, instance)
    workflow = engine.load(parsed, instance.state)
    workflow.cancel()
    # a step of its own: whatever the caller records for the instance now, by step number,
    # comes after everything the instance did before
    instance.lock_version = (instance.lock_version or 0) + 1
    instance.state = engine.dump(workflow)
    now = clock.now()
    common = {"instance_id": instance.id, "business_key": instance.business_key}
    for row in session.scalars(
        select(Task).where(Task.instance_id == instance.id, Task.status == "open")
    ):
        row.status, row.completed_at = "withdrawn", now
        audit.record(
            session, "task.withdrawn", actor_id=actor_id, task_id=row.id, key=row.key, **common
        )
    instance.status, instance.outcome, instance.completed_at = "cancelled", outcome, now
    instance.next_timer_at = None
    ctx = hooks.HookContext(session, instance, engine.current_data(workflow), actor_id)
    for listener in plugins.hooks_for(parsed.key):
        listener.instance_cancelled(ctx)
    projection.clear_subscriptions(session, instance)
    audit.record(session, action, actor_id=actor_id, outcome=outcome, reason=reason, **common)
