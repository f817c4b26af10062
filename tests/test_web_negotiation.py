"""Negotiation and instalments through the web pages (SQLite and PostgreSQL): the new-request
page takes working conditions and a payment plan (errors next to their row), the committee
counter-proposes on its task page, the department accepts on its own, and the request and
instance pages show every round, the redrafted agreement and each instalment."""

from __future__ import annotations

import re

import pytest

from server import create_app

from .test_web_pages import complete, open_task, signed_in, text

FORM = {
    "title": "低保对象入户调查",
    "item_code": "A01",
    "amount": "10000.00",
    "community_codes": "TB-RG-01",
    "due_date": "2099-12-31",
    "description": "对辖区低保对象开展入户调查",
    "conditions": "提供入户登记表，培训一次",
    "plan_trigger_1": "signing",
    "plan_share_1": "30",
    "plan_trigger_2": "acceptance",
    "plan_share_2": "70",
    "action": "submit",
}


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def test_a_plan_that_does_not_add_up_is_shown_next_to_the_plan(app):
    dept = signed_in(app, "dept.mz")
    r = dept.post("/requests/new", {**FORM, "plan_share_2": "60"}, token_from="/requests/new")
    assert r.status_code == 422
    page = text(r)
    assert "各期合计须等于委托金额 10000.00 元" in page
    assert 'value="60"' in page and "提供入户登记表，培训一次" in page  # what was typed stays
    r = dept.post(
        "/requests/new",
        {**FORM, "plan_trigger_2": "date", "plan_on_2": ""},
        token_from="/requests/new",
    )
    assert r.status_code == 422 and "按日期拨付须填写日期" in text(r)


def test_negotiated_through_the_pages_and_shown_with_its_instalments(app, db):
    dept = signed_in(app, "dept.mz")
    r = dept.post("/requests/new", FORM, token_from="/requests/new")
    assert r.status_code == 302, text(r)[:2000]
    request_id = int(r.headers["Location"].rsplit("/", 1)[-1])
    rg, committee = signed_in(app, "street.rg"), signed_in(app, "committee.rg01")
    complete(rg, open_task(db, request_id, "street_review").id, {"decision": "approve"})

    sign = open_task(db, request_id, "sign_committee")
    form = text(committee.get(f"/tasks/{sign.id}"))
    assert "协商" in form and "协商金额（元）" in form and "协商工作条件" in form
    r = complete(committee, sign.id, {"decision": "counter", "counter_amount": "12000.00"}, 422)
    assert "协商须说明理由" in text(r)
    counter = {
        "decision": "counter",
        "counter_amount": "12000.00",
        "counter_conditions": "另需平板电脑两台",
        "comment": "入户量大，经费不足",
    }
    complete(committee, sign.id, counter)
    answer = open_task(db, request_id, "consider_counter")
    form = text(dept.get(f"/tasks/{answer.id}"))
    assert "接受协商条件" in form and "撤回委托" in form
    complete(dept, answer.id, {"decision": "accept_counter", "comment": "同意"})

    page = text(dept.get(f"/requests/{request_id}"))
    rounds = re.search(r'aria-labelledby="sec-negotiation".*?</section>', page, re.S).group(0)
    assert "第 1 轮 · 居委会提出协商" in rounds and "¥10,000.00 → ¥12,000.00" in rounds
    assert "第 2 轮 · 部门接受协商条件" in rounds and "入户量大，经费不足" in rounds
    plan = re.search(r'<table class="stack instalments">.*?</table>', page, re.S).group(0)
    assert "签署后预拨" in plan and "¥3,600.00" in plan  # 30 % of the negotiated 12000
    assert "验收合格后拨付尾款" in plan and "¥8,400.00" in plan
    instance_id = open_task(db, request_id, "sign_committee").instance_id
    shown = text(dept.get(f"/instances/{instance_id}"))
    assert 'data-agreement-version="2"' in shown and "第 2 稿" in shown
    english = text(dept.get(f"/requests/{request_id}?lang=en"))
    assert "the committee counter-proposed" in english and "on signing" in english
