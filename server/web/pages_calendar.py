"""Administration: the statutory calendar. The admin enters a year from the State Council's
notice, through the same service as the API (`workflows.calendar_admin.enter_year`): the form's
lines become the API's holiday periods and adjusted working days, and the service's refusal is
shown next to the line it names."""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for

from workflows import calendar_admin, clock, workdays
from workflows.errors import Invalid

from .. import get_db
from . import signin
from .blueprint import bp, int_arg
from .i18n import t
from .pages_admin import admin_only, refusal

FIELD = re.compile(r"(holidays|workdays)\.(\d+)\.?(.*)")
DIGIT = re.compile(r"\d")


def _lines(text: str, most_dates: int) -> list[tuple[str, list[str]]]:
    """Each line as (name, dates): the trailing words with digits are the dates (at most
    `most_dates`), the words before them the name (which may have spaces)."""
    out = []
    for line in text.splitlines()[:200]:
        words = line.split()
        if not words:
            continue
        dates: list[str] = []
        while len(words) > 1 and len(dates) < most_dates and DIGIT.search(words[-1]):
            dates.insert(0, words.pop())
        out.append((" ".join(words), dates))
    return out


def _payload(form) -> dict:
    """The form's text as the API's body: `名称 起始日期 [结束日期]` and `名称 日期` per line."""
    holidays = [
        {"name": name, "start": (dates or [""])[0], "end": (dates or [""])[-1]}
        for name, dates in _lines(form.get("holidays", "")[:20000], 2)
    ]
    days = [
        {"name": name, "day": (dates or [""])[0]}
        for name, dates in _lines(form.get("workdays", "")[:20000], 1)
    ]
    return {"notice": form.get("notice", "")[:1000].strip(), "holidays": holidays, "workdays": days}


def _text(detail: dict | None) -> dict[str, str]:
    if not detail:
        return {"notice": "", "holidays": "", "workdays": ""}
    spans = [
        f"{h['name']} {h['start']}" + (f" {h['end']}" if h["end"] != h["start"] else "")
        for h in detail["holidays"]
    ]
    return {
        "notice": detail["notice"],
        "holidays": "\n".join(spans),
        "workdays": "\n".join(f"{w['name']} {w['day']}" for w in detail["workdays"]),
    }


def _errors(exc: Exception) -> tuple[dict[str, str], int]:
    """A line's problem next to its text area: "第 3 行：…" / "line 3: …"."""
    errors, status = refusal(exc)
    shown: dict[str, str] = {}
    for field, message in errors.items():
        match = FIELD.fullmatch(field)
        if match:
            area, line = match.group(1), int(match.group(2)) + 1
            shown.setdefault(area, t("calendar.line_error", line=line, message=message))
        else:
            shown.setdefault(field, message)
    return shown, status


def _render(year: int, values=None, errors=None, status=200):
    with get_db().read() as session:
        years = calendar_admin.years(session)
        first = calendar_admin.first_unknown_year(session, workdays.shanghai_date(clock.now()))
        detail = calendar_admin.year_detail(session, year)
    return render_template(
        "admin/calendar.html",
        years=years,
        year=year,
        first_unknown=first,
        detail=detail,
        values=values or _text(detail),
        errors=errors or {},
    ), status


def _default_year() -> int:
    with get_db().read() as session:
        today = workdays.shanghai_date(clock.now())
        return calendar_admin.first_unknown_year(session, today) or today.year


@bp.get("admin/calendar")
@admin_only
def admin_calendar():
    year = int_arg("year", _default_year(), calendar_admin.YEARS[0], calendar_admin.YEARS[1])
    return _render(year)


@bp.post("admin/calendar/<int:year>")
@admin_only
def admin_enter_year(year: int):
    payload = _payload(request.form)
    try:
        with get_db().write() as session:
            moved = calendar_admin.enter_year(session, signin.actor().user_id, year, payload)
    except Invalid as exc:
        errors, status = _errors(exc)
        values = {k: request.form.get(k, "")[:20000] for k in ("notice", "holidays", "workdays")}
        return _render(year, values, errors, status)
    flash(t("calendar.entered_flash", year=year, moved=moved), "ok")
    return redirect(url_for("web.admin_calendar", year=year))
