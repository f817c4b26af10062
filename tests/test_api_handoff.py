"""A full handoff through the HTTP API, as the five demo roles, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from .live import Client

pytestmark = pytest.mark.slow


def today() -> str:
    """The servers run on the real clock: today in Beijing."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def only(tasks: list[dict], key: str, request_id: int) -> dict:
    mine = [t for t in tasks if t["key"] == key and t["request_id"] == request_id]
    assert len(mine) == 1, (key, tasks)
    return mine[0]


def new_request(
    dept: Client, communities: list[str], amount: str = "5000.00", item="A01", **fields
):
    r = dept.post(
        "/requests",
        {
            "title": "低保对象入户调查",
            "item_code": item,
            "description": "对辖区低保对象开展入户调查",
            "community_codes": communities,
            "amount": amount,
            "due_date": "2099-12-31",
            **fields,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_newcomer_story_review_appears_only_for_the_street(live):
    dept = Client(live.base, "dept.mz")
    body = new_request(dept, ["TB-RG-01", "TB-RG-02"])
    assert [i["community_code"] for i in body["instances"]] == ["TB-RG-01", "TB-RG-02"]
    assert {i["state"] for i in body["instances"]} == {"running"}
    rg = Client(live.base, "street.rg")
    reviews = [t for t in rg.inbox(key="street_review") if t["request_id"] == body["id"]]
    assert len(reviews) == 2
    assert {t["org_unit"] for t in reviews} == {"TB-RG"}
    for other in ("street.hm", "committee.rg01", "dept.rs", "finance", "reviewer"):
        seen = [t for t in Client(live.base, other).inbox() if t["request_id"] == body["id"]]
        assert seen == [], other
    # another street can neither read nor act on it
    hm = Client(live.base, "street.hm")
    task_id = reviews[0]["id"]
    assert hm.get(f"/tasks/{task_id}").status_code == 403
    assert hm.post(f"/tasks/{task_id}/claim").status_code == 403
    assert hm.get(f"/requests/{body['id']}").status_code == 404
    assert hm.get(f"/instances/{reviews[0]['instance_id']}").status_code == 404


def test_task_describes_its_form(live):
    dept = Client(live.base, "dept.mz")
    body = new_request(dept, ["TB-RG-03"])
    rg = Client(live.base, "street.rg")
    task = only(rg.inbox(), "street_review", body["id"])
    detail = rg.get(f"/tasks/{task['id']}").json()
    fields = {f["name"]: f for f in detail["form"]}
    assert fields["decision"]["type"] == "enum" and fields["decision"]["required"]
    assert {o["value"] for o in fields["decision"]["options"]} == {"approve", "reject", "revise"}
    assert detail["data"]["title"] == "低保对象入户调查"
    assert detail["data"]["amount"] == "5000.00"


def test_full_handoff_as_five_roles_with_refusals(live):
    dept, rg = Client(live.base, "dept.mz"), Client(live.base, "street.rg")
    committee, finance = Client(live.base, "committee.rg04"), Client(live.base, "finance")
    body = new_request(dept, ["TB-RG-04"], amount="12345.67")
    rid = body["id"]

    review = only(rg.inbox(), "street_review", rid)
    bad = rg.complete(review["id"], {"decision": "reject"})
    assert bad.status_code == 422 and "comment" in bad.json()["error"]["fields"]
    assert rg.complete(review["id"], {"decision": "maybe"}).status_code == 422
    # claim: then the task is mine
    assert rg.post(f"/tasks/{review['id']}/claim").json()["assignee"] == "street.rg"
    assert rg.complete(review["id"], {"decision": "approve"}).status_code == 200
    again = rg.complete(review["id"], {"decision": "approve"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    for client, key in (
        (committee, "sign_committee"),  # the committee first: it may negotiate the terms
        (dept, "sign_department"),
        (rg, "sign_street"),
    ):
        task = only(client.inbox(), key, rid)
        r = client.complete(task["id"], {"decision": "sign"})
        assert r.status_code == 200, r.text

    assert [t for t in committee.inbox() if t["request_id"] == rid and t["key"] == "work"] == []
    funding = only(finance.inbox(), "funding", rid)
    wrong = finance.complete(
        funding["id"], {"amount": "12345.00", "voucher_no": "PZ-1", "transferred_on": today()}
    )
    assert wrong.status_code == 422 and "amount" in wrong.json()["error"]["fields"]
    transfer = {"amount": "12345.67", "voucher_no": "PZ-2026-001"}
    # a transfer before the request existed, or in the future, cannot have happened
    day_before = (datetime.fromisoformat(today()) - timedelta(days=1)).date().isoformat()
    day_after = (datetime.fromisoformat(today()) + timedelta(days=1)).date().isoformat()
    for day in (day_before, day_after):
        r = finance.complete(funding["id"], {**transfer, "transferred_on": day})
        assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"transferred_on"}
    ok = finance.complete(funding["id"], {**transfer, "transferred_on": today()})
    assert ok.status_code == 200, ok.text

    work = only(committee.inbox(), "work", rid)
    report = {"report": "已完成入户调查 120 户"}
    for day in (day_before, day_after):
        r = committee.complete(work["id"], {**report, "completed_on": day})
        assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"completed_on"}
    assert committee.complete(work["id"], {**report, "completed_on": today()}).status_code == 200
    acceptance = only(dept.inbox(), "acceptance", rid)
    assert dept.complete(acceptance["id"], {"decision": "accept"}).status_code == 200
    evaluation = only(rg.inbox(), "evaluation", rid)
    assert rg.complete(evaluation["id"], {"score": 101}).status_code == 422
    done = rg.complete(evaluation["id"], {"score": 95, "comment": "按时高质量完成"}).json()
    assert (done["instance_state"], done["outcome"]) == ("completed", "completed")

    request = dept.get(f"/requests/{rid}").json()
    assert [(i["state"], i["outcome"]) for i in request["instances"]] == [
        ("completed", "completed")
    ]
    instance = dept.get(f"/instances/{request['instances'][0]['id']}").json()
    assert instance["ledger"]["agreed"] == "12345.67"
    assert instance["ledger"]["transferred"] == "12345.67"
    assert instance["ledger"]["outstanding"] == "0.00"
    assert instance["agreement"]["status"] == "signed"
    assert {s["party"] for s in instance["agreement"]["signatures"]} == {
        "department",
        "street_office",
        "committee",
    }
    actions = [e["action"] for e in instance["history"]]
    assert actions.count("task.completed") == 8 and actions[-1] == "instance.completed"
    svg = requests.get(
        live.base + f"/api/v1/instances/{instance['id']}/diagram.svg",
        headers={"Authorization": f"Bearer {dept.token}"},
        timeout=10,
    )
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert "el-evaluation" in svg.text and "<script" not in svg.text


def test_negative_item_is_blocked_at_once(live):
    dept = Client(live.base, "dept.mz")
    negative = dept.get("/catalog/items", params={"category": "negative"}).json()["items"][0]
    body = new_request(dept, ["TB-RG-05"], item=negative["code"])
    assert [(i["state"], i["outcome"]) for i in body["instances"]] == [
        ("completed", "blocked_negative_list")
    ]


def test_forbidden_certificates_and_negative_terms_are_blocked_at_once(live):
    dept = Client(live.base, "dept.mz")
    body = new_request(dept, ["TB-RG-05"], item="C12", title="开具无犯罪记录证明")
    assert [(i["state"], i["outcome"]) for i in body["instances"]] == [
        ("completed", "blocked_forbidden_certificate")
    ]
    body = new_request(dept, ["TB-RG-05"], item=None, title="招 商 引 资")
    (blocked,) = body["instances"]
    assert (blocked["state"], blocked["outcome"]) == ("completed", "blocked_negative_list")
    data = dept.get(f"/instances/{blocked['id']}").json()["data"]
    assert (data["negative_term"], data["negative_item"]) == ("招商引资", "N01")
    # the same words under a listed code go to district review, flagged
    body = new_request(dept, ["TB-RG-05"], item="A06", title="招商引资")
    (flagged,) = body["instances"]
    assert flagged["state"] == "running"
    rg = Client(live.base, "street.rg")
    review = only(rg.inbox(), "street_review", body["id"])
    assert rg.get(f"/tasks/{review['id']}").json()["data"]["negative_term"] == "招商引资"
    assert rg.complete(review["id"], {"decision": "approve"}).status_code == 200
    reviewer = Client(live.base, "reviewer")
    district = only(reviewer.inbox(), "district_review", body["id"])
    assert reviewer.get(f"/tasks/{district['id']}").json()["data"]["negative_term"] == "招商引资"


def test_a_request_needs_a_due_date_that_leaves_review_and_funding(live):
    dept = Client(live.base, "dept.mz")
    base = {"title": "低保复核", "item_code": "A01", "community_codes": ["TB-RG-05"]}
    for due in ({}, {"due_date": None}, {"due_date": today()}):
        r = dept.post("/requests", {**base, "amount": "100.00", **due})
        assert r.status_code == 422, r.text
        message = r.json()["error"]["fields"]["due_date"]
        assert "15" in message and "10" in message and "earliest allowed is 20" in message


def test_unclaim_delegate_and_cancel(live):
    dept, rg = Client(live.base, "dept.mz"), Client(live.base, "street.rg")
    body = new_request(dept, ["TB-RG-06"])
    review = only(rg.inbox(), "street_review", body["id"])
    assert rg.post(f"/tasks/{review['id']}/unclaim").status_code == 409
    rg.post(f"/tasks/{review['id']}/claim")
    assert rg.post(f"/tasks/{review['id']}/unclaim").json()["assignee"] is None
    bad = rg.post(f"/tasks/{review['id']}/delegate", {"username": "committee.rg06"})
    assert bad.status_code == 422
    assert rg.post(f"/instances/{review['instance_id']}/cancel", {}).status_code == 403
    cancelled = dept.post(f"/instances/{review['instance_id']}/cancel", {"reason": "重复申请"})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert rg.complete(review["id"], {"decision": "approve"}).status_code == 409


def test_inbox_filters_and_sorting(live):
    dept = Client(live.base, "dept.mz")
    body = new_request(dept, ["TB-RG-05", "TB-RG-06"])
    rg = Client(live.base, "street.rg")
    page = rg.get(
        "/tasks", params={"q": "入户调查", "per_page": 1, "sort": "due_at", "order": "asc"}
    )
    assert page.status_code == 200
    data = page.json()
    assert data["per_page"] == 1 and len(data["items"]) == 1 and data["total"] >= 2
    assert rg.inbox(overdue="true", request_id=body["id"]) == []
    assert len(rg.inbox(role="street_office", request_id=body["id"])) == 2
    assert rg.inbox(role="committee", request_id=body["id"]) == []
    assert rg.get("/tasks", params={"sort": "password"}).status_code == 422


def test_a_payment_plan_and_working_conditions_through_the_api(live):
    dept = Client(live.base, "dept.mz")
    base = {
        "title": "低保复核",
        "item_code": "A01",
        "community_codes": ["TB-RG-05"],
        "amount": "10000.00",
        "due_date": "2099-12-31",
    }
    bad = [
        {"trigger": "signing", "share": "30"},
        {"trigger": "date", "amount": "3000.00", "on": "2020-01-01"},
        {"trigger": "acceptance", "share": "40"},
    ]
    r = dept.post("/requests", {**base, "payment_plan": bad})
    assert r.status_code == 422, r.text
    assert "payment_plan.2.on" in r.json()["error"]["fields"]
    r = dept.post("/requests", {**base, "payment_plan": [{"trigger": "soon", "share": "100"}]})
    assert r.status_code == 422 and "payment_plan.0.trigger" in r.json()["error"]["fields"]
    good = [bad[0], {**bad[1], "on": "2099-03-01"}, bad[2]]
    created = new_request(
        dept, ["TB-RG-05"], amount="10000.00", payment_plan=good, conditions="提供培训一次"
    )
    assert created["conditions"] == "提供培训一次"
    assert created["payment_plan"] == [
        {"seq": 1, "trigger": "signing", "on": None, "amount": "3000.00"},
        {"seq": 2, "trigger": "date", "on": "2099-03-01", "amount": "3000.00"},
        {"seq": 3, "trigger": "acceptance", "on": None, "amount": "4000.00"},
    ]


def test_an_instance_carries_its_negotiation_and_instalments(live):
    dept, rg = Client(live.base, "dept.mz"), Client(live.base, "street.rg")
    committee = Client(live.base, "committee.rg06")
    plan = [{"trigger": "signing", "share": "40"}, {"trigger": "acceptance", "share": "60"}]
    body = new_request(dept, ["TB-RG-06"], amount="8000.00", payment_plan=plan)
    rid, iid = body["id"], body["instances"][0]["id"]
    assert rg.complete(only(rg.inbox(), "street_review", rid)["id"], {"decision": "approve"}).ok
    counter = {"decision": "counter", "counter_amount": "10000.00", "comment": "经费不足"}
    sign = only(committee.inbox(), "sign_committee", rid)
    assert committee.complete(sign["id"], counter).status_code == 200
    answer = only(dept.inbox(), "consider_counter", rid)
    assert dept.complete(answer["id"], {"decision": "accept_counter"}).status_code == 200
    detail = dept.get(f"/instances/{iid}").json()
    assert [(r["round"], r["party"], r["action"]) for r in detail["negotiation"]] == [
        (1, "committee", "counter"),
        (2, "department", "accept"),
    ]
    assert detail["negotiation"][0]["amount"] == "10000.00"
    assert detail["negotiation"][0]["amount_before"] == "8000.00"
    assert [(p["trigger"], p["amount"], p["outstanding"]) for p in detail["instalments"]] == [
        ("signing", "4000.00", "4000.00"),
        ("acceptance", "6000.00", "6000.00"),
    ]
    assert detail["agreement"]["amount"] == "10000.00"
