"""分期拨付: the payment plan's rules (to the fen, the first on signing, the final one last), and
on both databases a handoff paid in three instalments: the work opens on the first, a dated one
opens its own funding task on its day while the work goes on, acceptance opens the final one,
and the handoff ends only when every instalment has arrived."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from handoff import instalments
from handoff import requests as handoff
from handoff.instalments import InstalmentInput as I
from handoff.instalments import PlanErrors
from tests.test_handoff import (
    assert_finished,
    do,
    instance,
    ledger,
    only_instance,
    open_keys,
    refused,
    task,
    today,
    walk_to,
)
from workflows import clock, consistency, service
from workflows.errors import FormErrors
from workflows.models import ProcessInstance

DAY = date(2026, 12, 1)


def errors(items, total=1_000_000):
    with pytest.raises(PlanErrors) as err:
        instalments.plan(items, total, DAY)
    return err.value.fields


def test_no_plan_pays_everything_on_signing_and_none_without_money():
    assert instalments.plan(None, 500000, DAY) == [
        {"seq": 1, "trigger": "signing", "on": None, "amount_fen": 500000}
    ]
    assert instalments.plan([], 0, DAY) == []
    assert "payment_plan" in errors([I("signing", share="100")], total=0)


def test_shares_add_up_to_the_fen_the_last_share_taking_what_is_left():
    plan = instalments.plan(
        [
            I("signing", share="33.33"),
            I("date", share="33.33", on="2027-03-01"),
            I("acceptance", share="33.34"),
        ],
        10001,
        DAY,
    )
    assert [p["amount_fen"] for p in plan] == [3333, 3333, 3335]
    assert sum(p["amount_fen"] for p in plan) == 10001
    mixed = instalments.plan(
        [I("signing", amount="2000.00"), I("acceptance", share="80")], 1_000_000, DAY
    )
    assert [(p["trigger"], p["amount_fen"]) for p in mixed] == [
        ("signing", 200000),
        ("acceptance", 800000),
    ]


@pytest.mark.parametrize(
    ("items", "field", "words"),
    [
        ([I("signing", amount="3000"), I("acceptance", amount="6000")], "payment_plan", "合计"),
        ([I("signing", share="50"), I("acceptance", share="40")], "payment_plan", "合计"),
        ([I("acceptance", share="100")], "payment_plan", "首期"),
        ([I("signing", share="50"), I("signing", share="50")], "payment_plan", "首期"),
        (
            [
                I("signing", share="40"),
                I("acceptance", share="30"),
                I("date", share="30", on="2027-01-05"),
            ],
            "payment_plan",
            "尾款",
        ),
        (
            [
                I("signing", share="40"),
                I("date", share="30", on="2027-02-01"),
                I("date", share="30", on="2027-01-05"),
            ],
            "payment_plan",
            "递增",
        ),
        (
            [I("signing", share="50"), I("date", share="50", on="2026-12-01")],
            "payment_plan.2.on",
            "晚于今天",
        ),
        ([I("signing", share="50"), I("date", share="50")], "payment_plan.2.on", "日期"),
        ([I("signing", share="100", on="2027-01-01")], "payment_plan.1.on", "仅按日期"),
        ([I("signing", share="100", amount="10000")], "payment_plan.1.amount", "其一"),
        ([I("signing")], "payment_plan.1.amount", "其一"),
        ([I("signing", share="0")], "payment_plan.1.share", "比例"),
        ([I("signing", share="100.001")], "payment_plan.1.share", "比例"),
        ([I("signing", share="abc")], "payment_plan.1.share", "比例"),
        ([I("signing", amount="0")], "payment_plan.1.amount", "大于 0"),
        ([I("signing", amount="-1")], "payment_plan.1.amount", "金额"),
        ([I("soon", share="100")], "payment_plan.1.trigger", "拨付时点"),
        (
            [I("signing", share="100")] + [I("date", amount="1", on="2027-01-01")] * 12,
            "payment_plan",
            "12",
        ),
    ],
)
def test_a_plan_that_does_not_hold_is_refused_by_field(items, field, words):
    found = errors(items)
    assert field in found and words in found[field], found


def test_rescaling_keeps_the_proportions_to_the_fen():
    plan = instalments.plan([I("signing", share="30"), I("acceptance", share="70")], 500000, DAY)
    assert [p["amount_fen"] for p in instalments.rescale(plan, 650001)] == [195000, 455001]
    assert instalments.rescale(plan, 0) == []
    assert instalments.rescale([], 1000) == instalments.single(1000)


# --- the flow ---------------------------------------------------------------------------------


def plan_request(db, actor, on: date) -> int:
    payload = handoff.RequestInput(
        title="低保对象入户调查",
        item_code="A01",
        description="对辖区低保对象开展入户调查",
        community_codes=["TB-RG-01"],
        amount="10000.00",
        due_date="2099-12-31",
        conditions="提供入户登记表与培训一次",
        payment_plan=[
            I("signing", share="30"),
            I("date", amount="3000.00", on=on.isoformat()),
            I("acceptance", share="40"),
        ],
    )
    return only_instance(db, handoff.create_request(db, actor("dept.mz"), payload)).id


def pay(db, actor, instance_id: int, key: str, amount: str, voucher: str):
    data = {"amount": amount, "voucher_no": voucher, "transferred_on": today()}
    return do(db, actor, instance_id, key, data, who="finance")


def transfers(db, instance_id: int) -> list[tuple]:
    return [
        (e.instalment, e.amount_fen)
        for e in ledger(db, instance_id)["entries"]
        if e.kind == "transferred"
    ]


def test_three_instalments_the_work_opens_on_the_first_and_the_end_waits_for_the_last(db, actor):
    on = handoff.today() + timedelta(days=20)
    instance_id = plan_request(db, actor, on)
    walk_to(db, actor, instance_id, "funding")
    assert "amount" in refused(
        db,
        actor,
        instance_id,
        "funding",
        {"amount": "10000.00", "voucher_no": "PZ-1", "transferred_on": today()},
        who="finance",
    )
    pay(db, actor, instance_id, "funding", "3000.00", "PZ-1")
    assert open_keys(db, instance_id) == ["work"]  # the dated instalment waits for its day
    assert instance(db, instance_id).next_timer_at is not None

    clock.advance(timedelta(days=21))
    service.fire_due_timers(db)
    assert open_keys(db, instance_id) == ["funding_instalment", "work"]
    assert task(db, instance_id, "funding_instalment").due_at is not None
    assert "amount" in refused(
        db,
        actor,
        instance_id,
        "funding_instalment",
        {"amount": "3000.01", "voucher_no": "PZ-2", "transferred_on": today()},
        who="finance",
    )
    # the work is reported and accepted while the dated instalment is still unpaid
    do(db, actor, instance_id, "work")
    do(db, actor, instance_id, "acceptance", {"decision": "accept", "score": 90})
    assert open_keys(db, instance_id) == ["funding_final", "funding_instalment"]
    pay(db, actor, instance_id, "funding_final", "4000.00", "PZ-3")
    do(db, actor, instance_id, "evaluation")
    # evaluated, but the second instalment has not arrived: the handoff is not done
    assert open_keys(db, instance_id) == ["funding_instalment"]
    assert instance(db, instance_id).status == "running"
    pay(db, actor, instance_id, "funding_instalment", "3000.00", "PZ-2")
    assert_finished(db, instance_id, "completed")
    assert sorted(transfers(db, instance_id)) == [(1, 300000), (2, 300000), (3, 400000)]
    money = ledger(db, instance_id)
    assert money["outstanding_fen"] == 0
    with db.read() as session:
        row = session.get(ProcessInstance, instance_id)
        assert consistency.check_instance(session, row) == []


def test_a_request_with_a_plan_that_does_not_add_up_is_refused_and_nothing_is_stored(db, actor):
    payload = handoff.RequestInput(
        title="低保对象入户调查",
        item_code="A01",
        community_codes=["TB-RG-01"],
        amount="10000.00",
        due_date="2099-12-31",
        payment_plan=[I("signing", amount="3000.00"), I("acceptance", amount="6000.00")],
    )
    with pytest.raises(FormErrors) as err:
        handoff.create_request(db, actor("dept.mz"), payload)
    assert "10000.00" in err.value.fields["payment_plan"]
    with db.read() as session:
        assert session.query(ProcessInstance).count() == 0


def test_the_dashboard_shows_each_kind_of_instalment(db, actor):
    from handoff import reports

    instance_id = plan_request(db, actor, handoff.today() + timedelta(days=20))
    walk_to(db, actor, instance_id, "funding")
    pay(db, actor, instance_id, "funding", "3000.00", "PZ-1")
    clock.advance(timedelta(days=21))  # the dated instalment's day: its funding task opens
    service.fire_due_timers(db)
    clock.advance(timedelta(days=20))  # past its 10 working days
    service.fire_due_timers(db)
    with db.read() as session:
        rows = {
            r["trigger"]: r
            for r in reports.as_dict(reports.summary(session, actor("reviewer")))["instalments"]
        }
    assert rows["signing"] == {
        "trigger": "signing",
        "instalments": 1,
        "agreed": "3000.00",
        "transferred": "3000.00",
        "outstanding": "0.00",
        "overdue": 0,
    }
    assert (rows["date"]["outstanding"], rows["date"]["overdue"]) == ("3000.00", 1)
    assert (rows["acceptance"]["agreed"], rows["acceptance"]["overdue"]) == ("4000.00", 0)
