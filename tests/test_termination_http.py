"""终止委托 through the JSON API (the generic start endpoint) and through the pages (the 申请终止
button, the start page, the agreement 已终止, the money trail, the dashboard), with Flask's test
client on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from handoff.models import HandoffInstance, Termination
from server import create_app
from tests.test_handoff import start_at, tasks, today
from tests.test_web_pages import PASSWORD, complete, signed_in, text

START = "/api/v1/process-definitions/handoff_termination/start"


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def token(client, username) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def open_task(db, instance_id: int, key: str) -> int:
    (row,) = [t for t in tasks(db, instance_id) if t.key == key]
    return row.id


def test_the_api_refuses_cancel_and_terminates_through_the_generic_start(app, db, actor):
    handoff_id = start_at(db, actor, "work")
    client = app.test_client()
    dept = token(client, "dept.mz")

    r = client.post(f"/api/v1/instances/{handoff_id}/cancel", json={}, headers=dept)
    assert r.status_code == 409, r.get_json()
    assert "协议已生效" in r.get_json()["error"]["message"]

    data = {"handoff_instance": handoff_id, "reason": "事项取消", "refund": "100", "kept": "0"}
    r = client.post(START, json={"data": data}, headers=dept)
    assert r.status_code == 422, r.get_json()
    assert set(r.get_json()["error"]["fields"]) == {"refund", "kept"}
    r = client.post(START, json={"data": {**data, "refund": "5000.00"}}, headers=dept)
    assert r.status_code == 201, r.get_json()
    termination_id = r.get_json()["id"]
    r = client.post(START, json={"data": {**data, "refund": "5000.00"}}, headers=dept)
    assert r.status_code == 409 and "终止申请办理中" in r.get_json()["error"]["message"]

    body = client.get(f"/api/v1/instances/{handoff_id}", headers=dept).get_json()
    assert body["termination"] == {
        "instance_id": termination_id,
        "state": "running",
        "outcome": None,
    }
    mine = client.get(f"/api/v1/instances/{termination_id}", headers=dept).get_json()
    assert mine["termination"] == {"handoff_instance_id": handoff_id}
    assert (mine["data"]["refund_fen"], mine["data"]["transferred_fen"]) == (500000, 500000)

    committee = token(client, "committee.rg01")
    work = open_task(db, handoff_id, "work")
    report = {"report": "已完成", "completed_on": today()}
    r = client.post(f"/api/v1/tasks/{work}/complete", json={"data": report}, headers=committee)
    assert r.status_code == 409 and "终止申请办理中" in r.get_json()["error"]["message"]

    for key, who in (("street_confirm", "street.rg"), ("committee_confirm", "committee.rg01")):
        task_id = open_task(db, termination_id, key)
        r = client.post(
            f"/api/v1/tasks/{task_id}/complete",
            json={"data": {"decision": "agree"}},
            headers=token(client, who),
        )
        assert r.status_code == 200, r.get_json()
    task_id = open_task(db, termination_id, "refund_received")
    refund = {"refunded_on": today(), "voucher_no": "TK-0001"}
    r = client.post(
        f"/api/v1/tasks/{task_id}/complete",
        json={"data": refund},
        headers=token(client, "finance"),
    )
    assert r.status_code == 200 and r.get_json()["outcome"] == "terminated", r.get_json()

    body = client.get(f"/api/v1/instances/{handoff_id}", headers=dept).get_json()
    assert (body["state"], body["outcome"], body["open_tasks"]) == ("cancelled", "terminated", [])
    agreement = body["agreement"]
    assert agreement["status"] == "terminated" and agreement["terminated_at"]
    assert agreement["termination_reason"] == "事项取消"
    money = body["ledger"]
    assert (money["refunded"], money["kept"], money["outstanding"]) == ("5000.00", "0.00", "0.00")
    assert [e["kind"] for e in money["entries"]] == ["agreed", "transferred", "refunded"]
    assert money["entries"][-1]["voucher_no"] == "TK-0001"
    r = client.get("/api/v1/reports/summary", headers=token(client, "reviewer"))
    totals = r.get_json()["totals"]
    assert (totals["terminated"], totals["outstanding"], totals["refunded"]) == (
        1,
        "0.00",
        "5000.00",
    )
    csv = client.get("/api/v1/reports/summary.csv", headers=dept).get_data().decode("utf-8-sig")
    header = csv.splitlines()[0].split(",")
    assert header.index("已终止") == header.index("已撤销") + 1
    assert "终止退回（元）" in header and "终止留用（元）" in header


def test_the_pages_offer_termination_and_show_the_agreement_terminated(app, db, actor):
    handoff_id = start_at(db, actor, "work")
    with db.read() as session:
        request_id = session.get(HandoffInstance, handoff_id).request_id
    dept = signed_in(app, "dept.mz")
    page = text(dept.get(f"/requests/{request_id}"))
    assert 'data-action="terminate"' in page and "申请终止" in page
    instance_page = text(dept.get(f"/instances/{handoff_id}"))
    assert 'data-action="terminate"' in instance_page
    assert "撤销本流程" not in instance_page  # no cancelling once the agreement is in force
    rg = signed_in(app, "street.rg")
    assert 'data-action="terminate"' not in text(rg.get(f"/requests/{request_id}"))
    assert rg.get(f"/instances/{handoff_id}/terminate").status_code == 403

    form = text(dept.get(f"/instances/{handoff_id}/terminate"))
    assert 'data-money="transferred">¥5,000.00' in form and 'value="5000.00"' in form
    path = f"/instances/{handoff_id}/terminate"
    wrong = dept.post(
        path, {"reason": "事项取消", "refund": "3000", "kept": "1000"}, token_from=path
    )
    assert wrong.status_code == 422
    message = re.search(r'id="err-refund">([^<]*)<', text(wrong)).group(1)
    assert "5000.00" in message and "must" not in message  # Chinese only on a Chinese page
    r = dept.post(path, {"reason": "事项取消", "refund": "3000", "kept": "2000"}, token_from=path)
    assert r.status_code == 302, text(r)[:2000]
    page = text(dept.get(f"/requests/{request_id}"))
    assert 'data-action="terminate"' not in page and 'data-termination="running"' in page

    with db.read() as session:
        (termination_id,) = session.scalars(select(Termination.instance_id)).all()
    committee, finance = signed_in(app, "committee.rg01"), signed_in(app, "finance")
    complete(rg, open_task(db, termination_id, "street_confirm"), {"decision": "agree"})
    complete(committee, open_task(db, termination_id, "committee_confirm"), {"decision": "agree"})
    refund = {"refunded_on": today(), "voucher_no": "TK-2026-0009"}
    complete(finance, open_task(db, termination_id, "refund_received"), refund)

    agreement = text(dept.get(f"/instances/{handoff_id}/agreement"))
    assert 'data-agreement-status="terminated">已终止' in agreement
    assert "终止原因" in agreement and "事项取消" in agreement
    assert f"本协议已于 {today()} 终止" in agreement
    page = text(dept.get(f"/requests/{request_id}"))
    assert 'data-money="refunded">¥3,000.00' in page and 'data-money="kept">¥2,000.00' in page
    assert 'data-money="outstanding">¥0.00' in page
    assert "已退回" in page and "社区留用" in page and "委托终止" in page  # figures, timeline
    assert "委托已终止，不再有待拨付经费" in page
    instance_page = text(dept.get(f"/instances/{handoff_id}"))
    assert "终止退回" in instance_page and "TK-2026-0009" in instance_page  # the entries
    assert "终止留用" in instance_page
    assert 'data-outcome="terminated">已终止' in instance_page
    assert 'data-action="terminate"' not in instance_page
    dashboard = text(signed_in(app, "reviewer").get("/reports"))
    assert 'data-figure="terminated">1<' in dashboard
    assert 'data-money="refunded"' in dashboard
    english = text(dept.get(f"/instances/{handoff_id}/agreement?lang=en"))
    assert ">terminated<" in english and "已终止" not in english
