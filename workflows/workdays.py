"""Chinese working days (statutory holidays and adjusted working weekends).

Due dates in the BPMN models are counted in working days by the statutory calendar of the PRC
State Council: public holidays are days off even on weekdays, and the "adjusted" weekend days
(调休上班) are working days. The data comes from the ``chinesecalendar`` package
(``chinese_calendar.is_workday``), which only knows the years published so far. For any other
year the package raises ``NotImplementedError``; we then fall back to Monday–Friday and log a
warning once per year, so a missing package update shows up in the logs instead of failing every
due date. Upgrade ``chinesecalendar`` each December when the next year's arrangement is published.

All calendar arithmetic happens on Asia/Shanghai dates.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = ["SHANGHAI", "add_working_days", "is_working_day", "shanghai_date"]

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)

_warned_years: set[int] = set()
_warned_lock = threading.Lock()


def _warn_fallback_once(year: int) -> None:
    with _warned_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    log.warning(
        "chinese_calendar %s has no holiday data for %d; counting Monday-Friday as working days "
        "for that year (upgrade the chinesecalendar package)",
        getattr(chinese_calendar, "__version__", "?"),
        year,
    )


def shanghai_date(moment: datetime) -> date:
    """The Asia/Shanghai date of ``moment`` (a naive datetime is taken as Shanghai time)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(SHANGHAI).date()


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day by the Chinese statutory calendar.

    Holidays (also on weekdays) are not working days; adjusted working weekend days are. For years
    the ``chinesecalendar`` package has no data for, Monday–Friday are working days and a warning
    is logged once per year. A ``datetime`` is first converted to its Asia/Shanghai date.
    """
    if isinstance(day, datetime):
        day = shanghai_date(day)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_fallback_once(day.year)
        return day.weekday() < 5


def add_working_days(start: datetime, n: int) -> datetime:
    """The end (23:59:59 Asia/Shanghai) of the ``n``-th working day after ``start``'s date.

    Counting starts on the day after ``start``'s Asia/Shanghai date, whatever the time of day: from
    Friday 2026-09-25 (any time), 1 working day is Monday 2026-09-28 23:59:59 +08:00. With
    ``n == 0`` the result is the end of ``start``'s own date (even if that is not a working day).
    A naive ``start`` is taken as Asia/Shanghai wall time. The result is an aware UTC datetime.

    Working days follow the statutory calendar (see :func:`is_working_day`); for years the
    ``chinesecalendar`` package has no data for, Monday–Friday are counted and a warning is logged
    once per year.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an integer")
    if n < 0:
        raise ValueError("n must not be negative")
    if not isinstance(start, datetime):
        raise TypeError("start must be a datetime")
    day = shanghai_date(start)
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return datetime.combine(day, END_OF_DAY, SHANGHAI).astimezone(UTC)
