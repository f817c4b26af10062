"""The statutory calendar: the years entered; an admin enters a year from the State Council's
notice, and the due dates counted provisionally in it are counted again."""

from __future__ import annotations

from flask_smorest import Blueprint

from workflows import calendar_admin, clock, workdays
from workflows.errors import NotFound

from .. import get_db
from ..auth import admin_required, current_actor, login_required
from ..schemas import CalendarYearIn, CalendarYearOut, CalendarYears
from .contract import may_answer

blp = Blueprint("calendar", __name__, description="法定节假日 Statutory calendar")


@blp.get("/calendar/years")
@blp.response(200, CalendarYears)
@login_required
def list_years():
    """Every year entered, newest first; `first_unknown_year` is the one to enter next."""
    with get_db().read() as session:
        items = calendar_admin.years(session)
        today = workdays.shanghai_date(clock.now())
        first = calendar_admin.first_unknown_year(session, today)
        return {"items": items, "total": len(items), "first_unknown_year": first}


@blp.get("/calendar/years/<int:year>")
@blp.response(200, CalendarYearOut)
@may_answer(404)
@login_required
def get_year(year: int):
    with get_db().read() as session:
        detail = calendar_admin.year_detail(session, year)
    if detail is None:
        raise NotFound("该年的假日安排尚未录入 this year is not entered")
    return detail


@blp.put("/calendar/years/<int:year>")
@blp.arguments(CalendarYearIn)
@blp.response(200, CalendarYearOut)
@may_answer(422)
@admin_required
def put_year(body, year: int):
    """Enter or correct a year: its holiday periods and adjusted working days as the State
    Council's notice gives them (dates in that year, adjusted working days on weekends). Every
    open due date and timer counted provisionally into the year is counted again."""
    with get_db().write() as session:
        recounted = calendar_admin.enter_year(session, current_actor().user_id, year, body)
        return {**calendar_admin.year_detail(session, year), "recounted": recounted}
