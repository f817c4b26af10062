"""Notices no engine step causes: a task due within N working days (`NOTIFY_DUE_SOON_DAYS`, 2)
and a task past its due date. The worker runs them on each poll; each tells once per task
(`NotificationScan`), whoever runs them and however often.

A scan is one transaction: its marks, its outbox rows. Two workers scanning at once on
PostgreSQL race on the marks' primary key; the loser's transaction is refused whole
(IntegrityError) and it finds nothing left to tell on its next poll.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from workflows import calendar, clock, workdays
from workflows.db import Database
from workflows.models import Task

from . import service
from .models import NotificationScan

BATCH = 500


def due_soon_days() -> int:
    try:
        return max(0, int(os.environ.get("NOTIFY_DUE_SOON_DAYS", "2")))
    except ValueError:
        return 2


def working_days_left(now: datetime, due: datetime, cal: workdays.Calendar) -> int:
    """Working days after today up to the due date (0: due today)."""
    today, last = workdays.shanghai_date(now), workdays.shanghai_date(due)
    day, left = today, 0
    while day < last:
        day += timedelta(days=1)
        left += cal.is_working_day(day)
    return left


def _unscanned(kind: str):
    return (
        select(Task)
        .outerjoin(
            NotificationScan,
            and_(NotificationScan.task_id == Task.id, NotificationScan.kind == kind),
        )
        .where(Task.status == "open", Task.due_at.is_not(None), NotificationScan.task_id.is_(None))
        .options(lazyload("*"))
        .order_by(Task.due_at, Task.id)
        .limit(BATCH)
    )


def _tell(session: Session, kind: str, tasks: list[Task], extra=None) -> None:
    now = clock.now()
    for task in tasks:
        session.add(NotificationScan(task_id=task.id, kind=kind, at=now))
        data = service.task_data(task) | (extra(task) if extra else {})
        service.enqueue(
            session,
            kind,
            f"{kind}:{task.id}",
            data,
            **service.task_audience(task),
            units=[task.org_unit_id],
        )


def scan(db: Database) -> int:
    """Tell about tasks newly due soon or overdue; the number of tasks told about."""
    told = 0
    for step in (_scan_overdue, _scan_due_soon):
        try:
            with db.write() as session:
                told += step(session)
                # written here, not at commit, so a race with another worker is caught here
                service.flush_pending(session)
        except IntegrityError:
            continue  # another worker told about these first
    return told


def _scan_overdue(session: Session) -> int:
    now = clock.now()
    tasks = list(session.scalars(_unscanned("overdue").where(Task.due_at <= now)))
    _tell(session, "overdue", tasks)
    return len(tasks)


def _scan_due_soon(session: Session) -> int:
    now = clock.now()
    cal = calendar.current(session)
    horizon = workdays.count(now, due_soon_days(), cal).at
    tasks = list(
        session.scalars(_unscanned("due_soon").where(Task.due_at > now, Task.due_at <= horizon))
    )
    _tell(
        session,
        "due_soon",
        tasks,
        lambda task: {"days_left": working_days_left(now, task.due_at, cal)},
    )
    return len(tasks)
