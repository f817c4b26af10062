"""Consistency checker: does every stored row agree with what the engine state implies?

For each instance it deserialises the workflow and compares: the open task rows with the
engine's ready user tasks, the instance status and outcome with the workflow's, `next_timer_at`
with the waiting timers, the routing parties with the scope, the message subscriptions with the
waiting message events, and whatever the process's plugin checks of its own records. Used after
crash tests and by operators (`flask --app server check-consistency`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import definitions, engine, plugins, projection
from .db import Database
from .models import InstanceParty, MessageSubscription, ProcessInstance, Task


@dataclass(frozen=True)
class Problem:
    instance_id: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"instance {self.instance_id}: {self.kind}: {self.detail}"


def check_instance(session: Session, instance: ProcessInstance) -> list[Problem]:
    problems: list[Problem] = []

    def problem(kind: str, detail: str) -> None:
        problems.append(Problem(instance.id, kind, detail))

    parsed = definitions.of_instance(session, instance)
    workflow = engine.load(parsed, instance.state)
    rows = session.scalars(select(Task).where(Task.instance_id == instance.id)).all()
    open_rows = {r.spiff_id: r.key for r in rows if r.status == "open"}
    if instance.status == "running":
        ready = {str(t.id): t.task_spec.name for t in engine.ready_user_tasks(workflow)}
        for spiff_id in ready.keys() - open_rows.keys():
            problem("missing_task_row", f"engine task {ready[spiff_id]} has no open row")
        for spiff_id in open_rows.keys() - ready.keys():
            problem("stale_task_row", f"open row {open_rows[spiff_id]} is not open in the engine")
        if workflow.is_completed():
            problem("status", "the workflow is completed but the instance is running")
        expected = engine.next_timer_at(workflow)
        if expected != instance.next_timer_at:
            problem("next_timer_at", f"stored {instance.next_timer_at}, engine says {expected}")
    else:
        if open_rows:
            problem(
                "open_rows", f"{len(open_rows)} open task row(s) on a {instance.status} instance"
            )
        if instance.status == "completed":
            if not workflow.is_completed():
                problem("status", "the instance is completed but the workflow is not")
            elif engine.outcome(workflow) != instance.outcome:
                problem(
                    "outcome", f"stored {instance.outcome}, engine says {engine.outcome(workflow)}"
                )
    parties = {
        p.role: p.org_unit_id
        for p in session.scalars(
            select(InstanceParty).where(InstanceParty.instance_id == instance.id)
        )
    }
    if parties != instance.scope:
        problem("parties", f"parties {parties} differ from scope {instance.scope}")
    subscribed = set(
        session.scalars(
            select(MessageSubscription.name).where(MessageSubscription.instance_id == instance.id)
        )
    )
    waiting = projection.waiting_messages(workflow) if instance.status == "running" else set()
    if subscribed != waiting:
        problem(
            "subscriptions", f"subscribed to {sorted(subscribed)}, waiting for {sorted(waiting)}"
        )
    for check in plugins.for_process(parsed.key).consistency_checks:
        for kind, detail in check(session, instance):
            problem(kind, detail)
    return problems


def check_all(db: Database, batch: int = 200) -> tuple[int, list[Problem]]:
    """(instances checked, problems) over every instance, in id order, batch by batch."""
    problems: list[Problem] = []
    checked, last_id = 0, 0
    while True:
        with db.read() as session:
            instances = session.scalars(
                select(ProcessInstance)
                .where(ProcessInstance.id > last_id)
                .order_by(ProcessInstance.id)
                .limit(batch)
            ).all()
            if not instances:
                return checked, problems
            for instance in instances:
                problems.extend(check_instance(session, instance))
            checked += len(instances)
            last_id = instances[-1].id
