"""The statutory calendar in force, as the engine reads it.

Each year's arrangement (国务院办公厅 notice: holidays and adjusted working days) is a row of
`calendar_year` and its days rows of `calendar_day`, maintained by `workflows.calendar_admin`.

Working days are counted in engine steps, deep inside an expression; they read the calendar of the
database whose transaction is running (`db.ambient_session()`), cached per database for
`CALENDAR_CACHE_SECONDS` (30): another worker sees a newly entered year within that time, and the
timer worker counts again whatever it counted provisionally meanwhile.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from . import db, workdays
from .models import CalendarDay, CalendarYear
from .workdays import SHANGHAI, Calendar, Due, SpecialDay

PROVISIONAL = "workflows.calendar.provisional"  # session.info: ISO due -> (start, days)

_cache: dict[str, tuple[float, Calendar]] = {}
_cache_lock = threading.Lock()


def _ttl() -> float:
    return float(os.environ.get("CALENDAR_CACHE_SECONDS", "30"))


def load(session: Session) -> Calendar:
    years = session.scalars(select(CalendarYear.year)).all()
    rows = session.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)).all()
    return workdays.calendar_of(years, (SpecialDay(*row) for row in rows))


def current(session: Session | None = None) -> Calendar:
    """The calendar of `session`'s database (default: the running transaction's); without a
    database, the `chinesecalendar` package's data."""
    session = session or db.ambient_session()
    if session is None:
        return workdays.library_calendar()
    key = str(session.get_bind().url)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < _ttl():
        return hit[1]
    calendar = load(session)
    with _cache_lock:
        _cache[key] = (time.monotonic(), calendar)
    return calendar


def forget(session: Session) -> None:
    """Drop the cached calendar of `session`'s database now and again when it commits (so no
    other thread caches the old data in between)."""
    key = str(session.get_bind().url)

    def drop(*_args) -> None:
        with _cache_lock:
            _cache.pop(key, None)

    drop()
    event.listen(session, "after_commit", drop, once=True)


def count(start: datetime, days: int) -> Due:
    """`workdays.count` by the calendar in force. A provisional result is remembered in the
    transaction, so the engine step that uses it as a timer can have it counted again later."""
    if start.tzinfo is None:
        start = start.replace(tzinfo=SHANGHAI)
    session = db.ambient_session()
    due = workdays.count(start, days, current(session))
    if due.provisional and session is not None:
        session.info.setdefault(PROVISIONAL, {})[due.at.isoformat()] = (start, days)
    return due


def provisional_counts(session: Session) -> dict[str, tuple[datetime, int]]:
    """ISO due -> (start, days) of the provisional counts made in this transaction."""
    return session.info.get(PROVISIONAL, {})
