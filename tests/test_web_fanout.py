"""A request to many communities reads at a glance: counts per stage and per street, streets
and rows with overdue handoffs first, a spreadsheet of the communities, and several withdrawn at
once through the page and the API alike. SQLite and PostgreSQL, Flask's test client."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from handoff import requests as handoff
from server import create_app
from workflows import clock, service
from workflows.models import ProcessInstance, Task

from .test_admin_paths import Api
from .test_web_pages import signed_in, text

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=CST)
COMMUNITIES = ["TB-RG-01", "TB-RG-02", "TB-RG-03", "TB-HM-01", "TB-HM-02"]


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


@pytest.fixture
def fanned(db, actor):
    """Five handoffs: RG's three reviewed at once, HM's two left until they are overdue."""
    clock.freeze(MONDAY)
    payload = handoff.RequestInput(
        title="低保对象入户调查",
        community_codes=COMMUNITIES,
        amount="1000.00",
        item_code="A01",
        due_date="2099-12-31",
    )
    request_id = handoff.create_request(db, actor("dept.mz"), payload)
    with db.read() as s:
        reviews = s.scalars(select(Task).where(Task.key == "street_review")).all()
    clock.freeze(MONDAY + timedelta(days=25))  # RG's signing is not due yet on day 30
    for task in reviews:
        if task.org_unit.code == "TB-RG":
            service.complete_task(db, task.id, actor("street.rg"), {"decision": "approve"})
    clock.freeze(MONDAY + timedelta(days=30))  # HM's reviews are overdue now
    return request_id


def test_the_request_page_counts_stages_and_puts_the_overdue_street_first(app, db, fanned):
    page = text(signed_in(app, "dept.mz").get(f"/requests/{fanned}"))
    counts = dict(re.findall(r'data-stage="([^"]+)"><span class="count-n">(\d+)</span>', page))
    assert counts == {"sign_committee": "3", "street_review": "2", "overdue": "2"}
    streets = re.findall(r'<details class="street-group" data-street="([^"]+)"', page)
    assert streets == ["TB-HM", "TB-RG"]  # the street with overdue handoffs first
    rows = re.findall(r'<tr class="([^"]*)" data-instance-id', page)
    assert [("is-overdue" in r) for r in rows] == [True, True, False, False, False]
    assert "共 5 个社区" in page and "2 个超期" in page
    # the timeline of five handoffs is folded; one handoff's is open
    assert re.search(r'<details class="timeline-box" >', page)


def test_the_communities_download_as_a_spreadsheet(app, db, fanned):
    r = signed_in(app, "dept.mz").get(f"/requests/{fanned}/communities.xlsx")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats"
    )
    sheet = load_workbook(io.BytesIO(r.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("街道", "社区", "状态")
    assert len(rows) == 1 + len(COMMUNITIES)
    assert [row[5] for row in rows[1:3]] == ["是", "是"]  # HM's overdue two come first
    assert {row[6] for row in rows[1:]} == {0}  # nothing agreed before signing
    outsider = signed_in(app, "street.xl").get(f"/requests/{fanned}/communities.xlsx")
    assert outsider.status_code == 404


def test_several_are_withdrawn_at_once_on_the_page(app, db, fanned):
    dept = signed_in(app, "dept.mz")
    page = text(dept.get(f"/requests/{fanned}"))
    boxes = re.findall(r'name="instance_id" value="(\d+)"', page)
    assert len(boxes) == len(COMMUNITIES)  # none signed yet: all may be withdrawn
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    chosen = boxes[:2]
    r = dept.client.post(
        f"/requests/{fanned}/withdraw",
        data={"csrf_token": token, "instance_id": chosen, "reason": "工作已调整"},
    )
    assert r.status_code == 302
    after = text(dept.get(r.headers["Location"]))
    assert "已撤回 2 个社区的委托" in after
    with db.read() as s:
        states = {str(i.id): i.status for i in s.scalars(select(ProcessInstance))}
    assert [states[i] for i in chosen] == ["cancelled", "cancelled"]
    assert sorted(v for k, v in states.items() if k not in chosen) == ["running"] * 3


def test_the_api_withdraws_and_names_what_it_could_not(app, db, fanned):
    with db.read() as s:
        ids = sorted(s.scalars(select(ProcessInstance.id)))
    dept = Api(app, "dept.mz")
    r = dept.call("POST", f"/requests/{fanned}/withdraw", {"instance_ids": [ids[0], 999999]})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["withdrawn"] == [ids[0]]
    assert body["refused"] == [{"instance_id": 999999, "reason": "not_found"}]
    again = dept.call("POST", f"/requests/{fanned}/withdraw", {"instance_ids": [ids[0]]})
    assert again.get_json()["withdrawn"] == [] and again.get_json()["refused"][0]["reason"]
    street = Api(app, "street.rg")  # not the department: forbidden, nothing changes
    r = street.call("POST", f"/requests/{fanned}/withdraw", {"instance_ids": [ids[1]]})
    assert r.get_json()["refused"] == [{"instance_id": ids[1], "reason": "forbidden"}]
    bad = dept.call("POST", f"/requests/{fanned}/withdraw", {"instance_ids": []})
    assert bad.status_code == 422
