"""The statutory calendar through the API and the admin page (one validation, one write path):
a due date counted into a year not entered is provisional in the task's JSON and on the pages;
entering the year, either way, counts it again. SQLite and PostgreSQL, Flask's test client."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from handoff import requests as handoff
from server import create_app
from server.web import i18n
from workflows import clock, workdays
from workflows.models import AuditEvent, Task

from .test_admin_paths import Api, page_errors
from .test_web_pages import signed_in, text
from .test_web_processes import _data_words, assert_one_language
from .unit.workflows.test_calendar import CHRISTMAS_EVE, NOTICE_2027, end_of

PROVISIONAL = "假日安排未公布，按周末计算"


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def launch(db, actor) -> int:
    payload = handoff.RequestInput(
        title="低保对象入户调查",
        community_codes=["TB-RG-01"],
        amount="5000.00",
        item_code="A01",
        due_date="2027-06-30",
    )
    return handoff.create_request(db, actor("dept.mz"), payload)


def street_review(db) -> Task:
    with db.read() as s:
        return s.scalar(select(Task).where(Task.key == "street_review", Task.status == "open"))


def holidays_form(notice: dict) -> dict[str, str]:
    return {
        "notice": notice["notice"],
        "holidays": "\n".join(f"{h['name']} {h['start']} {h['end']}" for h in notice["holidays"]),
        "workdays": "\n".join(f"{w['name']} {w['day']}" for w in notice["workdays"]),
    }


# 15 working days of street review from Thu 2026-12-24: 12-25, 12-28..12-31 (5), then 10 in 2027
WEEKENDS_ONLY = end_of(date(2027, 1, 14))  # 01-01 counted as a working day
WITH_2027 = end_of(date(2027, 1, 15))  # 01-01 a holiday


def test_a_provisional_due_date_is_marked_in_the_api_and_on_the_pages(app, db, actor, no_2027):
    clock.freeze(CHRISTMAS_EVE)
    launch(db, actor)
    task = street_review(db)
    assert (task.due_at, task.due_provisional) == (WEEKENDS_ONLY, True)
    (item,) = Api(app, "street.rg").call("GET", "/tasks").get_json()["items"]
    assert item["due_provisional"] is True
    assert item["due_at"].startswith("2027-01-14T23:59:59")
    street = signed_in(app, "street.rg")
    for path in ("/inbox", f"/tasks/{task.id}", f"/instances/{task.instance_id}"):
        page = text(street.get(path))
        assert PROVISIONAL in page, path
    assert "holidays not published yet" in text(street.get("/inbox?lang=en"))


def test_the_earliest_due_date_says_it_is_provisional(db, actor, no_2027):
    clock.freeze(CHRISTMAS_EVE)
    problem = handoff.due_date_problem(date(2027, 1, 5), 100)
    assert problem and PROVISIONAL in problem and "weekends only" in problem


def test_entering_the_year_through_the_api_recounts(app, db, actor, no_2027):
    clock.freeze(CHRISTMAS_EVE)
    launch(db, actor)
    years = Api(app, "dept.mz").call("GET", "/calendar/years").get_json()
    assert years["first_unknown_year"] == 2027
    assert {"year": 2026, "source": "library"}.items() <= years["items"][0].items()
    assert Api(app, "dept.mz").call("PUT", "/calendar/years/2027", NOTICE_2027).status_code == 403
    admin = Api(app, "admin")
    assert admin.call("GET", "/calendar/years/2027").status_code == 404
    r = admin.call("PUT", "/calendar/years/2027", NOTICE_2027)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["recounted"] == 1 and body["source"] == "admin"
    assert body["holidays"] == NOTICE_2027["holidays"]
    task = street_review(db)
    assert (task.due_at, task.due_provisional) == (WITH_2027, False)
    assert admin.call("GET", "/calendar/years").get_json()["first_unknown_year"] == 2028
    assert admin.call("GET", "/calendar/years/2027").get_json()["notice"] == NOTICE_2027["notice"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"workdays": [{"name": "春节", "day": "2027-02-15"}]}, "workdays.0.day"),
        (
            {"holidays": [{"name": "元旦", "start": "2027-01-01", "end": "2026-01-03"}]},
            "holidays.0.end",
        ),  # fmt: skip
        ({"holidays": []}, "holidays"),
    ],
)
def test_the_api_and_the_page_refuse_the_same_notice(app, db, no_2027, change, field):
    notice = {**NOTICE_2027, **change}
    r = Api(app, "admin").call("PUT", "/calendar/years/2027", notice)
    assert r.status_code == 422
    assert field in r.get_json()["error"]["fields"]
    admin = signed_in(app, "admin")
    page = admin.post("/admin/calendar/2027", holidays_form(notice), token_from="/admin/calendar")
    assert page.status_code == 422
    area = field.split(".")[0]
    shown = page_errors(page)
    assert area in shown, shown
    with db.read() as s:
        entered = select(func.count()).where(AuditEvent.action == "calendar.year_entered")
        assert s.scalar(entered) == 0


def test_the_page_enters_the_year_and_recounts(app, db, actor, no_2027):
    clock.freeze(CHRISTMAS_EVE)
    launch(db, actor)
    admin = signed_in(app, "admin")
    page = admin.get("/admin/calendar")
    assert 'data-first-unknown="2027"' in text(page)
    r = admin.post("/admin/calendar/2027", holidays_form(NOTICE_2027), token_from="/admin/calendar")
    assert r.status_code == 302, text(r)[:2000]
    after = text(admin.get(r.headers["Location"]))
    assert "已保存 2027 年假日安排，重新计算了 1 个期限" in after
    assert 'data-year="2027"' in after and "春节 2027-02-06 2027-02-13" in after
    task = street_review(db)
    assert (task.due_at, task.due_provisional) == (WITH_2027, False)


def test_a_line_error_names_the_line(app, db, no_2027):
    admin = signed_in(app, "admin")
    form = {**holidays_form(NOTICE_2027), "workdays": "春节 2027-02-14\n春节 2027-02-15"}
    r = admin.post("/admin/calendar/2027", form, token_from="/admin/calendar")
    assert page_errors(r)["workdays"] == "第 2 行：调休上班日应为周六或周日"
    r = admin.post("/admin/calendar/2027?lang=en", form, token_from="/admin/calendar")
    assert "line 2: must be a Saturday or Sunday" in text(r)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_calendar_page_speaks_one_language(app, db, no_2027, lang):
    admin = signed_in(app, "admin")
    # the holidays' own names (as the notices give them) are data
    words = _data_words(db) + sorted({d.name for d in workdays.library_days()}, key=len)[::-1]
    for path in ("/admin/calendar", "/admin/calendar?year=2026"):
        r = admin.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        assert r.status_code == 200
        assert_one_language(r, lang, words)
    assert i18n.STRINGS["due.provisional"][0] == PROVISIONAL


def test_counting_matches_the_pure_arithmetic():
    start = datetime(2026, 12, 24, 10, tzinfo=CHRISTMAS_EVE.tzinfo)
    weekends = workdays.Calendar(frozenset({2026}), frozenset(), frozenset())
    assert workdays.count(start, 15, weekends).at == WEEKENDS_ONLY
    assert WITH_2027 - WEEKENDS_ONLY == timedelta(days=1)
