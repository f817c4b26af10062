"""The admin's statutory calendar: the years entered, a year's notice entered or corrected.

The years the `chinesecalendar` package knows are imported after every migration
(`import_library`, never overwriting a year an admin entered); the admin enters the next year from
the State Council's notice (`enter_year`, the API and the page alike, one validation), and every
provisional due date is counted again in the same transaction (`workflows.recount`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import audit, calendar, clock, recount, workdays
from .admin import Problems
from .inputs import column_length
from .models import CalendarDay, CalendarYear
from .workdays import SpecialDay

YEARS = (2000, 2100)
NAME_MAX = column_length(CalendarDay.name)
NOTICE_MAX = column_length(CalendarYear.notice)
SPAN_MAX = 31  # days of one holiday period


def first_unknown_year(session: Session, today: date) -> int | None:
    """The first year from `today`'s on that has no calendar entered (for the admin's notice)."""
    known = set(session.scalars(select(CalendarYear.year).where(CalendarYear.year >= today.year)))
    year = today.year
    while year in known:
        year += 1
    return year if year <= YEARS[1] else None


def years(session: Session) -> list[dict[str, Any]]:
    """Every year entered, newest first, with its number of holidays and adjusted working days."""
    rows = session.scalars(select(CalendarYear).order_by(CalendarYear.year.desc())).all()
    counts: dict[tuple[int, str], int] = {}
    for year, kind in session.execute(select(CalendarDay.year, CalendarDay.kind)):
        counts[(year, kind)] = counts.get((year, kind), 0) + 1
    return [
        {
            "year": row.year,
            "source": row.source,
            "notice": row.notice,
            "entered_at": row.entered_at,
            "entered_by_id": row.entered_by_id,
            "holidays": counts.get((row.year, "holiday"), 0),
            "workdays": counts.get((row.year, "workday"), 0),
        }
        for row in rows
    ]


def year_detail(session: Session, year: int) -> dict[str, Any] | None:
    row = session.get(CalendarYear, year)
    if row is None:
        return None
    days = session.scalars(
        select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)
    ).all()
    return {
        "year": row.year,
        "source": row.source,
        "notice": row.notice,
        "entered_at": row.entered_at,
        "entered_by_id": row.entered_by_id,
        "holidays": _spans([d for d in days if d.kind == "holiday"]),
        "workdays": [
            {"name": d.name, "day": d.day.isoformat()} for d in days if d.kind == "workday"
        ],
    }


def _spans(days: list[CalendarDay]) -> list[dict[str, str]]:
    """Consecutive holiday days of one name as one period, as the notice writes them."""
    spans: list[dict[str, Any]] = []
    for d in days:
        last = spans[-1] if spans else None
        if last and last["name"] == d.name and last["end"] + timedelta(days=1) == d.day:
            last["end"] = d.day
        else:
            spans.append({"name": d.name, "start": d.day, "end": d.day})
    return [{**s, "start": s["start"].isoformat(), "end": s["end"].isoformat()} for s in spans]


# --- writing ----------------------------------------------------------------------------------


def enter_year(session: Session, actor_id: int | None, year: Any, data: Mapping[str, Any]) -> int:
    """Enter (or correct) `year` from the State Council's notice, then count again every
    provisional due date; the number of timers moved. `data`: notice, holidays [{name, start,
    end}], workdays [{name, day}]; dates as ISO strings. Raises `admin.InvalidInput` naming
    each wrong field."""
    days, notice = parse_year(year, data)
    _store(session, year, days, source="admin", notice=notice, actor_id=actor_id)
    audit.record(
        session,
        "calendar.year_entered",
        actor_id=actor_id,
        year=year,
        holidays=sum(d.kind == "holiday" for d in days),
        workdays=sum(d.kind == "workday" for d in days),
        notice=notice,
    )
    calendar.forget(session)
    return recount.recount(session, calendar.load(session))


def parse_year(year: Any, data: Mapping[str, Any]) -> tuple[list[SpecialDay], str]:
    """The days of a year's notice, or `InvalidInput` with every problem found."""
    problems = Problems()
    if isinstance(year, bool) or not isinstance(year, int) or not YEARS[0] <= year <= YEARS[1]:
        problems.add("year", "invalid_year", f"年份应在 {YEARS[0]}–{YEARS[1]} 之间 a year")
        problems.refuse()
    notice = data.get("notice", "")
    problems.text("notice", notice, NOTICE_MAX, required=False)
    days: dict[date, SpecialDay] = {}
    holidays = _list(problems, data, "holidays")
    if not holidays and "holidays" not in problems.found:
        problems.add("holidays", "no_holidays", "请填写假日 enter the holidays of the notice")
    for i, item in enumerate(holidays):
        field = f"holidays.{i}"
        name = _name(problems, field, item)
        start, end = (_day(problems, f"{field}.{k}", item.get(k), year) for k in ("start", "end"))
        if start and end and (end < start or (end - start).days >= SPAN_MAX):
            problems.add(f"{field}.end", "date_order", "结束日期有误 end before start or too long")
            continue
        for offset in range((end - start).days + 1 if start and end else 0):
            day = start + timedelta(days=offset)
            if day in days:
                problems.add(f"{field}.start", "overlap", f"{day} 重复 given twice")
            days[day] = SpecialDay(day, "holiday", name)
    for i, item in enumerate(_list(problems, data, "workdays")):
        field = f"workdays.{i}"
        name = _name(problems, field, item)
        day = _day(problems, f"{field}.day", item.get("day"), year)
        if day is None:
            continue
        if day.weekday() < 5:
            problems.add(f"{field}.day", "not_weekend", "调休上班日应为周六或周日 not a weekend")
        elif day in days:
            problems.add(f"{field}.day", "overlap", f"{day} 重复 given twice")
        days[day] = SpecialDay(day, "workday", name)
    problems.refuse("假日安排有误 the holiday arrangement has errors")
    return sorted(days.values(), key=lambda d: d.day), notice.strip()


def _list(problems: Problems, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        problems.add(key, "invalid_list", "应为列表 a list of objects")
        return []
    return items[:200]


def _name(problems: Problems, field: str, item: Mapping[str, Any]) -> str:
    name = item.get("name")
    problems.text(f"{field}.name", name, NAME_MAX)
    return name.strip() if isinstance(name, str) else ""


def _day(problems: Problems, field: str, value: Any, year: int) -> date | None:
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        problems.add(field, "invalid_date", "日期格式应为 YYYY-MM-DD a date YYYY-MM-DD")
    elif day.year != year:
        problems.add(field, "date_outside_year", f"日期应在 {year} 年内 a date in {year}")
        return None
    return day


def _store(
    session: Session,
    year: int,
    days: list[SpecialDay],
    *,
    source: str,
    notice: str = "",
    actor_id: int | None = None,
) -> None:
    row = session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        session.add(row)
    row.source, row.notice, row.entered_at, row.entered_by_id = (
        source,
        notice,
        clock.now(),
        actor_id,
    )
    session.flush()
    session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    session.add_all(CalendarDay(day=d.day, year=year, kind=d.kind, name=d.name) for d in days)
    session.flush()


def import_library(session: Session) -> list[int]:
    """Enter the years the `chinesecalendar` package knows and the database lacks (a year an
    admin entered is never touched); the years imported."""
    have = set(session.scalars(select(CalendarYear.year)))
    by_year: dict[int, list[SpecialDay]] = {}
    for d in workdays.library_days():
        by_year.setdefault(d.day.year, []).append(d)
    added = sorted(set(by_year) - have)
    for year in added:
        _store(session, year, by_year[year], source="library", notice="chinesecalendar")
    if added:
        calendar.forget(session)
    return added
