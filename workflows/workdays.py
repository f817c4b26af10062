"""Chinese working days (statutory holidays and adjusted working weekends), pure arithmetic.

Due dates in the BPMN models are counted in working days by the statutory calendar of the PRC
State Council: public holidays are days off even on weekdays, and the "adjusted" weekend days
(调休上班) are working days. A `Calendar` holds the years whose arrangement is known and the days
that differ from Monday to Friday. In a year it does not know, Monday to Friday are counted and
the result is *provisional* (`Due.provisional`): the holidays of that year are not published or
not entered yet, so the date may move when they are.

The calendar in force is data (`workflows.calendar`, maintained by the admin, seeded from the
`chinesecalendar` package); `library_calendar()` is the package's own data, for code that runs
without a database.

All calendar arithmetic happens on Asia/Shanghai dates.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "SHANGHAI",
    "Calendar",
    "Due",
    "add_working_days",
    "between",
    "count",
    "is_working_day",
    "library_calendar",
    "shanghai_date",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Calendar:
    """The known years, and in them the holidays and the adjusted working (weekend) days."""

    years: frozenset[int]
    holidays: frozenset[date]
    workdays: frozenset[date]

    def knows(self, year: int) -> bool:
        return year in self.years

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


@dataclass(frozen=True)
class Due:
    at: datetime  # aware, UTC
    provisional: bool  # counted through a year the calendar does not know


def shanghai_date(moment: datetime) -> date:
    """The Asia/Shanghai date of ``moment`` (a naive datetime is taken as Shanghai time)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(SHANGHAI).date()


def count(start: datetime, n: int, calendar: Calendar) -> Due:
    """The end (23:59:59 Asia/Shanghai) of the ``n``-th working day after ``start``'s date.

    Counting starts on the day after ``start``'s Asia/Shanghai date, whatever the time of day: from
    Friday 2026-09-25 (any time), 1 working day is Monday 2026-09-28 23:59:59 +08:00. With
    ``n == 0`` the result is the end of ``start``'s own date (even if that is not a working day).
    A naive ``start`` is taken as Asia/Shanghai wall time. The result is an aware UTC datetime,
    provisional when a day counted lies in a year the calendar does not know.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an integer")
    if n < 0:
        raise ValueError("n must not be negative")
    if not isinstance(start, datetime):
        raise TypeError("start must be a datetime")
    day = shanghai_date(start)
    remaining = n
    provisional = False
    while remaining:
        day += timedelta(days=1)
        provisional = provisional or not calendar.knows(day.year)
        if calendar.is_working_day(day):
            remaining -= 1
    return Due(datetime.combine(day, END_OF_DAY, SHANGHAI).astimezone(UTC), provisional)


def between(first: date, last: date, calendar: Calendar) -> int:
    """The working days after `first` up to and including `last` (negative when `last` comes
    first): from today to a due date, the working days left."""
    sign, (lo, hi) = (1, (first, last)) if first <= last else (-1, (last, first))
    days = sum(
        calendar.is_working_day(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1)
    )
    return sign * days


def add_working_days(start: datetime, n: int, calendar: Calendar | None = None) -> datetime:
    """`count(...).at`, by ``calendar`` (default: the ``chinesecalendar`` package's data)."""
    return count(start, n, calendar or library_calendar()).at


def is_working_day(day: date, calendar: Calendar | None = None) -> bool:
    """Whether ``day`` is a working day (a ``datetime`` is taken at its Asia/Shanghai date).

    In a year the calendar does not know, Monday to Friday are working days."""
    if isinstance(day, datetime):
        day = shanghai_date(day)
    return (calendar or library_calendar()).is_working_day(day)


# --- the chinesecalendar package's data -------------------------------------------------------

# chinese_calendar.Holiday values (English) -> the names of the State Council's notices
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


@dataclass(frozen=True)
class SpecialDay:
    day: date
    kind: str  # holiday | workday
    name: str


def library_days() -> list[SpecialDay]:
    """The package's holidays and adjusted working days, with Chinese names.

    Version note: reads ``chinese_calendar.constants.holidays`` / ``workdays`` (dicts of date ->
    ``Holiday``), public in chinesecalendar 1.x.
    """
    from chinese_calendar import constants

    def name(holiday) -> str:
        value = getattr(holiday, "value", str(holiday))
        return HOLIDAY_NAMES.get(value, value)[:40]

    days = [SpecialDay(d, "holiday", name(h)) for d, h in constants.holidays.items()]
    days += [SpecialDay(d, "workday", name(h)) for d, h in constants.workdays.items()]
    return sorted(days, key=lambda d: d.day)


def library_years() -> set[int]:
    """The years the package knows (every year in its range has at least one holiday)."""
    return {d.day.year for d in library_days()}


def calendar_of(years: Iterable[int], days: Iterable[SpecialDay]) -> Calendar:
    days = list(days)
    return Calendar(
        years=frozenset(years),
        holidays=frozenset(d.day for d in days if d.kind == "holiday"),
        workdays=frozenset(d.day for d in days if d.kind == "workday"),
    )


@functools.cache
def library_calendar() -> Calendar:
    return calendar_of(library_years(), library_days())
