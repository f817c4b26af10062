"""A handoff negotiated and paid in two instalments, through the web pages alone, in headless
Chromium (the real service as tests/browser/test_handoff_browser.py runs it): the department
asks for 8000.00 paid 40 % on signing and 60 % after acceptance; the committee counter-proposes
10000.00 with a reason; the department accepts; the three parties sign the redrafted agreement;
finance pays 4000.00, the work is done and accepted with the department's score, finance pays the
final 6000.00, the street office evaluates, and the request page shows every round and both
instalments paid."""

from __future__ import annotations

import re

import pytest

from .test_handoff_browser import (  # noqa: F401 - the fixtures are used by name
    People,
    browser,
    open_task,
    server,
    shots,
    submit_task,
    today,
)

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.slow


def test_negotiated_and_paid_in_two_instalments_in_the_browser(server, browser, shots):  # noqa: F811
    people = People(browser, server, shots)

    dept = people("dept.mz")
    dept.get_by_role("link", name="发起委托", exact=True).click()
    dept.locator("#item_code").select_option("A01")
    dept.get_by_label("事项标题").fill("低保对象入户调查")
    dept.locator("#amount").fill("8000.00")
    dept.locator("#due_date").fill("2099-12-31")
    dept.locator("#conditions").fill("提供入户登记表，培训一次")
    dept.locator('select[name="plan_trigger_1"]').select_option("signing")
    dept.locator('input[name="plan_share_1"]').fill("40")
    dept.locator('select[name="plan_trigger_2"]').select_option("acceptance")
    dept.locator('input[name="plan_share_2"]').fill("50")  # does not add up
    street = dept.locator("details.street", has=dept.locator('fieldset[data-street="TB-RG"]'))
    street.locator("summary").click()
    dept.locator("#c-TB-RG-01").check()
    dept.locator('button[value="submit"]').click()
    expect(dept.locator("fieldset.plan")).to_contain_text("各期合计须等于委托金额 8000.00 元")
    dept.locator('input[name="plan_share_2"]').fill("60")
    dept.locator('button[value="submit"]').click()
    expect(dept.locator(".flash-ok")).to_contain_text("申请已提交")
    request_url = dept.url

    rg = people("street.rg")
    open_task(rg, "street_review")
    rg.locator("#f-decision-approve").check()
    submit_task(rg)

    # the committee counter-proposes: a reason is required
    committee = people("committee.rg01")
    open_task(committee, "sign_committee")
    committee.locator("#f-decision-counter").check()
    committee.locator("#f-counter_amount").fill("10000.00")
    committee.locator("form.task-form button[type=submit]").click()
    expect(committee.locator("#err-comment")).to_contain_text("协商须说明理由")
    committee.locator("#f-comment").fill("入户 150 户，需两人三周")
    submit_task(committee)
    people.shot(committee, "desktop-13-counter-proposal", full_page=False)

    dept = people("dept.mz")
    open_task(dept, "consider_counter")
    expect(dept.locator("form.task-form")).to_contain_text("接受协商条件")
    dept.locator("#f-decision-accept_counter").check()
    submit_task(dept)

    for username, key in (
        ("committee.rg01", "sign_committee"),
        ("dept.mz", "sign_department"),
        ("street.rg", "sign_street"),
    ):
        page = people(username)
        open_task(page, key)
        page.locator("#f-decision-sign").check()
        submit_task(page)

    finance = people("finance")
    open_task(finance, "funding")
    finance.locator("#f-amount").fill("3200.00")  # 40 % of what was first asked
    finance.locator("#f-voucher_no").fill("PZ-2026-1001")
    finance.locator("#f-transferred_on").fill(today())
    finance.locator("form.task-form button[type=submit]").click()
    expect(finance.locator("#err-amount")).to_contain_text("4000.00")
    finance.locator("#f-amount").fill("4000.00")
    submit_task(finance)

    committee = people("committee.rg01")
    open_task(committee, "work")
    committee.locator("#f-report").fill("已完成 150 户入户调查。")
    committee.locator("#f-completed_on").fill(today())
    submit_task(committee)
    dept = people("dept.mz")
    open_task(dept, "acceptance")
    dept.locator("#f-decision-accept").check()
    dept.locator("#f-score").fill("92")
    submit_task(dept)

    finance = people("finance")
    open_task(finance, "funding_final")
    finance.locator("#f-amount").fill("6000.00")
    finance.locator("#f-voucher_no").fill("PZ-2026-1002")
    finance.locator("#f-transferred_on").fill(today())
    submit_task(finance)
    rg = people("street.rg")
    open_task(rg, "evaluation")
    rg.locator("#f-score").fill("90")
    submit_task(rg)

    dept = people("dept.mz")
    dept.goto(request_url)
    expect(dept.locator(".communities-table")).to_contain_text("已完成")
    rounds = dept.locator("ol.rounds li")
    expect(rounds).to_have_count(2)
    expect(rounds.nth(0)).to_contain_text("居委会提出协商")
    expect(rounds.nth(0)).to_contain_text("¥8,000.00 → ¥10,000.00")
    expect(rounds.nth(1)).to_contain_text("部门接受协商条件")
    plan = dept.locator("table.instalments")
    expect(plan.locator('tr[data-instalment="1"]')).to_contain_text("¥4,000.00")
    expect(plan.locator('tr[data-instalment="2"]')).to_contain_text("¥6,000.00")
    expect(plan.locator(".badge.ok")).to_have_count(2)
    expect(dept.locator('[data-money="outstanding"]')).to_have_text("¥0.00")
    people.shot(dept, "desktop-14-negotiated-and-paid")
    assert re.search(r"/requests/\d+$", request_url)
    assert not people.errors, people.errors
