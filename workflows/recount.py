"""Count provisional due dates again once the calendar of their year is entered.

A timer counted in working days through a year with no calendar was counted Monday to Friday and
remembered (`ProvisionalTimer`: its start and number of working days). When the year is entered
(`calendar.enter_year`, in the same transaction) or another worker's cache has caught up (the
timer worker's `sweep`), each such timer is counted again: the waiting timer moves in the engine
state, its task's due date and the instance's next timer follow, and a timer no longer
provisional is forgotten.
"""

from __future__ import annotations

from itertools import groupby

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, calendar, definitions, engine, projection, workdays
from .db import Database
from .models import ProvisionalTimer, Task
from .service import lock_instance
from .workdays import Calendar, Due


def recount(session: Session, cal: Calendar) -> int:
    """Move every provisional timer whose count `cal` changes; the number of timers moved."""
    rows = session.scalars(
        select(ProvisionalTimer).order_by(ProvisionalTimer.instance_id, ProvisionalTimer.id)
    ).all()
    moved = 0
    for instance_id, group in groupby(rows, key=lambda r: r.instance_id):
        moves = {}
        for row in group:
            due = workdays.count(row.start, row.days, cal)
            if not (due.provisional and due.at == row.due_at):
                moves[row.id] = (row, due)
        if moves:
            moved += _move(session, instance_id, moves)
    return moved


def sweep(db: Database) -> int:
    """Recount by the calendar this worker sees now (a year entered through another worker)."""
    with db.write() as session:
        if session.scalar(select(ProvisionalTimer.id).limit(1)) is None:
            return 0
        return recount(session, calendar.current(session))


def _move(
    session: Session, instance_id: int, moves: dict[int, tuple[ProvisionalTimer, Due]]
) -> int:
    instance = lock_instance(session, instance_id)
    if instance.status != "running":
        for row, _ in moves.values():
            session.delete(row)
        return 0
    workflow = engine.load(definitions.of_instance(session, instance), instance.state)
    moved = 0
    for row, due in moves.values():
        task = engine.spiff_task(workflow, row.spiff_id)
        if task is None or not task.has_state(TaskState.WAITING):
            session.delete(row)  # fired or cancelled since
            continue
        engine.set_timer_date(task, due.at.isoformat())
        moved += 1
        if due.provisional:
            row.due_at = due.at
        else:
            session.delete(row)
    session.flush()
    instance.state = engine.dump(workflow)
    instance.next_timer_at = engine.next_timer_at(workflow)
    still = {
        r.due_at.isoformat()
        for r in session.scalars(
            select(ProvisionalTimer).where(ProvisionalTimer.instance_id == instance_id)
        )
    }
    for row in session.scalars(
        select(Task).where(Task.instance_id == instance_id, Task.status == "open")
    ):
        spiff = engine.spiff_task(workflow, row.spiff_id)
        if spiff is not None:
            row.due_at, row.due_provisional = projection.due_of(
                engine.boundary_timers(spiff), still
            )
    audit.record(
        session,
        "instance.due_recounted",
        instance_id=instance_id,
        business_key=instance.business_key,
        timers=moved,
    )
    return moved
