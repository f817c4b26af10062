"""Working days in sight and the catalog found by its short names: through Flask's test client on
SQLite and PostgreSQL (issue 15, item 5)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from handoff import requests as handoff
from server import create_app
from workflows import clock
from workflows.models import Task

from .test_web_pages import signed_in, text

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=CST)  # no holiday for the next three weeks


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def options(page: str) -> list[str]:
    return re.findall(r'<option value="([A-Z][0-9]+)"', page)


def test_the_catalog_is_found_by_short_name_and_pinyin_initials(app, db):
    dept = signed_in(app, "dept.mz")
    page = text(dept.get("/requests/new"))
    assert 'data-search="a01 ' in page and " dibao " in page  # the keys the script filters by
    for query in ("低保", "dibao", "zdshbz", "A01"):
        found = text(dept.post("/requests/new", {"action": "search", "item_q": query}))
        assert options(found) == ["A01"], (query, options(found))
        assert re.search(r"data-none-found hidden", found)
    # initials are matched anywhere: db is 低保 and also 居民代表 (S01)
    found = options(text(dept.post("/requests/new", {"action": "search", "item_q": "db"})))
    assert "A01" in found and "A02" not in found
    none = text(dept.post("/requests/new", {"action": "search", "item_q": "qqqzzz"}))
    assert options(none) == []
    assert re.search(r"data-none-found>未找到匹配的清单事项", none)
    english = text(dept.post("/requests/new?lang=en", {"action": "search", "item_q": "qqqzzz"}))
    assert "No catalog item matches" in english


def days_left(page: str) -> list[str]:
    return [re.sub(r"\s+", " ", m) for m in re.findall(r"data-days-left>([^<]+)<", page)]


def test_every_task_shows_its_working_days_left_then_overdue(app, db, actor):
    clock.freeze(MONDAY)
    payload = handoff.RequestInput(
        title="低保对象入户调查",
        community_codes=["TB-RG-01"],
        amount="5000.00",
        item_code="A01",
        due_date="2099-12-31",
    )
    handoff.create_request(db, actor("dept.mz"), payload)
    with db.read() as s:
        task = s.scalar(select(Task).where(Task.key == "street_review"))
    street = signed_in(app, "street.rg")
    assert days_left(text(street.get("/inbox"))) == ["剩余 15 个工作日"]
    assert days_left(text(street.get(f"/tasks/{task.id}"))) == ["剩余 15 个工作日"]
    assert days_left(text(street.get("/inbox?lang=en"))) == ["15 working day(s) left"]
    # (each time signed in again: a web session lasts TOKEN_TTL_HOURS)
    clock.freeze(MONDAY + timedelta(days=7))  # a week on: five working days gone
    assert days_left(text(signed_in(app, "street.rg").get("/inbox"))) == ["剩余 10 个工作日"]
    clock.freeze(task.due_at - timedelta(hours=2))
    assert days_left(text(signed_in(app, "street.rg").get("/inbox"))) == ["今日到期"]
    # due Mon 11-23 (15 working days from Mon 11-02); three days on it is Thursday: Tue, Wed, Thu
    clock.freeze(task.due_at + timedelta(days=3))
    page = text(signed_in(app, "street.rg").get("/inbox"))
    assert days_left(page) == ["已超期 3 个工作日"]
    badge = re.search(r'data-badge="overdue">([^<]+)<', page)
    assert badge and badge.group(1) == "1 项超期"
    assert re.search(r'data-badge="open">1<span class="sr-only"> 项待办</span>', page)
