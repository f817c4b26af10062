"""协商 before signing, on both databases: the committee counter-proposes (amount, deadline,
working conditions, with a reason); the department accepts (the agreement is redrafted, a new
version, and the committee signs again), revises with its own offer, or withdraws. Every round
is kept, and the money then follows the negotiated terms."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handoff import negotiation
from handoff.models import NegotiationRound
from tests.test_handoff import (
    agreement_of,
    assert_finished,
    audit_actions,
    data_of,
    do,
    inbox,
    ledger,
    open_keys,
    refused,
    start_at,
    task,
    walk_to,
)

COUNTER = {
    "decision": "counter",
    "counter_amount": "6500.00",
    "counter_due_date": "2099-06-30",
    "counter_conditions": "街道派一名社工协助入户，提供平板电脑两台",
    "comment": "入户 120 户需两人三周，经费不足",
}


def rounds(db, instance_id: int) -> list[tuple]:
    with db.read() as session:
        return [
            (r.round, r.party, r.action, r.amount_fen, r.before_amount_fen)
            for r in negotiation.rounds(session, [instance_id])[instance_id]
        ]


def answer(db, actor, instance_id: int, data: dict):
    return do(db, actor, instance_id, "consider_counter", data, who="dept.mz")


def test_a_counter_proposal_needs_a_reason_a_change_and_the_requests_rules(db, actor):
    instance_id = start_at(db, actor, "sign_committee")
    fields = refused(db, actor, instance_id, "sign_committee", {**COUNTER, "comment": ""})
    assert set(fields) == {"comment"}
    bare = {"decision": "counter", "comment": "经费不足"}
    assert set(refused(db, actor, instance_id, "sign_committee", bare)) == {"counter_amount"}
    same = {**bare, "counter_amount": "5000.00"}  # the amount already agreed
    assert "相同" in refused(db, actor, instance_id, "sign_committee", same)["counter_amount"]
    assisted_zero = {**bare, "counter_amount": "0"}  # A01 is assisted work: it brings money
    assert (
        "费随事转"
        in refused(db, actor, instance_id, "sign_committee", assisted_zero)["counter_amount"]
    )
    too_soon = {**bare, "counter_due_date": "2020-01-01"}
    assert "counter_due_date" in refused(db, actor, instance_id, "sign_committee", too_soon)
    signing_with_terms = {"decision": "sign", "counter_amount": "6000.00"}
    assert set(refused(db, actor, instance_id, "sign_committee", signing_with_terms)) == {
        "counter_amount"
    }
    assert rounds(db, instance_id) == []


def test_accepted_terms_redraft_the_agreement_and_the_money_follows_them(db, actor):
    instance_id = start_at(db, actor, "sign_committee")
    do(db, actor, instance_id, "sign_committee", COUNTER)
    assert open_keys(db, instance_id) == ["consider_counter"]
    row = task(db, instance_id, "consider_counter")
    assert row.org_unit.code == "TB-D-MZ" and row.due_at is not None
    assert row.id in {t.id for t in inbox(db, actor("dept.mz"))}
    draft = agreement_of(db, instance_id)
    assert (draft.status, draft.version, draft.signatures) == ("draft", 1, [])

    assert "comment" not in refused(
        db,
        actor,
        instance_id,
        "consider_counter",
        {"decision": "accept_counter", "amount": "1.00"},
        who="dept.mz",
    )
    answer(db, actor, instance_id, {"decision": "accept_counter", "comment": "同意"})
    assert open_keys(db, instance_id) == ["sign_committee"]  # the committee signs the new draft
    redrafted = agreement_of(db, instance_id)
    assert (redrafted.id, redrafted.version, redrafted.amount_fen) == (draft.id, 2, 650000)
    content = redrafted.content
    assert content["amount"] == "6500.00" and content["deadline"] == "2099-06-30"
    assert content["conditions"] == COUNTER["counter_conditions"]
    assert content["payment_plan"] == [
        {"seq": 1, "trigger": "signing", "on": None, "amount_fen": 650000}
    ]
    assert content["version"] == 2
    assert rounds(db, instance_id) == [
        (1, "committee", "counter", 650000, 500000),
        (2, "department", "accept", 650000, 500000),
    ]
    actions = audit_actions(db, instance_id)
    assert {"negotiation.counter", "negotiation.accept", "agreement.redrafted"} <= set(actions)

    for key in ("sign_committee", "sign_department", "sign_street"):
        do(db, actor, instance_id, key, {"decision": "sign"})
    signed = agreement_of(db, instance_id)
    assert signed.status == "signed" and len(signed.signatures) == 3
    assert [(e.kind, e.amount_fen) for e in ledger(db, instance_id)["entries"]] == [
        ("agreed", 650000)
    ]
    old_amount = {"amount": "5000.00", "voucher_no": "PZ-1", "transferred_on": "2026-01-01"}
    assert "amount" in refused(db, actor, instance_id, "funding", old_amount, who="finance")
    walk_to(db, actor, instance_id, None)
    assert_finished(db, instance_id, "completed")
    assert ledger(db, instance_id)["outstanding_fen"] == 0


def test_the_department_revises_and_the_committee_answers_again(db, actor):
    instance_id = start_at(db, actor, "sign_committee")
    do(db, actor, instance_id, "sign_committee", COUNTER)
    no_reason = {"decision": "revise_offer", "amount": "5800.00"}
    assert set(refused(db, actor, instance_id, "consider_counter", no_reason, who="dept.mz")) == {
        "comment"
    }
    answer(db, actor, instance_id, {**no_reason, "comment": "预算上限 5800 元"})
    assert open_keys(db, instance_id) == ["sign_committee"]
    agreement = agreement_of(db, instance_id)
    assert (agreement.version, agreement.amount_fen) == (2, 580000)
    assert agreement.content["deadline"] == "2099-12-31"  # what the revision left alone
    assert data_of(db, actor, instance_id)["amount_fen"] == 580000
    # a second round: the committee asks for more time only
    do(
        db,
        actor,
        instance_id,
        "sign_committee",
        {"decision": "counter", "counter_due_date": "2099-09-30", "comment": "需要更长时间"},
    )
    answer(db, actor, instance_id, {"decision": "accept_counter"})
    agreement = agreement_of(db, instance_id)
    assert (agreement.version, agreement.amount_fen) == (3, 580000)
    assert agreement.content["deadline"] == "2099-09-30"
    assert [r[:3] for r in rounds(db, instance_id)] == [
        (1, "committee", "counter"),
        (2, "department", "revise"),
        (3, "committee", "counter"),
        (4, "department", "accept"),
    ]


def test_the_department_withdraws_and_nothing_is_owed(db, actor):
    instance_id = start_at(db, actor, "sign_committee")
    do(db, actor, instance_id, "sign_committee", COUNTER)
    fields = refused(
        db, actor, instance_id, "consider_counter", {"decision": "withdraw"}, who="dept.mz"
    )
    assert set(fields) == {"comment"}
    answer(db, actor, instance_id, {"decision": "withdraw", "comment": "另行安排专人办理"})
    assert_finished(db, instance_id, "withdrawn")
    assert agreement_of(db, instance_id).status == "withdrawn"
    assert ledger(db, instance_id)["entries"] == []
    with db.read() as session:
        kept = session.scalars(
            select(NegotiationRound.action).where(NegotiationRound.instance_id == instance_id)
        ).all()
    assert kept == ["counter", "withdraw"]


@pytest.mark.parametrize("key", ["sign_committee", "consider_counter"])
def test_every_negotiation_step_has_a_deadline(db, actor, key):
    instance_id = start_at(db, actor, "sign_committee")
    if key == "consider_counter":
        do(db, actor, instance_id, "sign_committee", COUNTER)
    assert task(db, instance_id, key).due_at is not None


def test_the_dashboard_shows_how_often_and_by_how_much_each_department_negotiated(db, actor):
    from handoff import reports

    negotiated = start_at(db, actor, "sign_committee")
    do(db, actor, negotiated, "sign_committee", COUNTER)
    answer(db, actor, negotiated, {"decision": "accept_counter"})
    plain = start_at(db, actor, "sign_committee")  # signed as drafted
    do(db, actor, plain, "sign_committee", {"decision": "sign"})
    start_at(db, actor, "sign_committee", who="dept.rs", item="A02")
    with db.read() as session:
        data = reports.as_dict(reports.summary(session, actor("reviewer")))
    rows = {r["department"]: r for r in data["negotiation"]}
    assert rows["TB-D-MZ"] == {
        "department": "TB-D-MZ",
        "department_name": rows["TB-D-MZ"]["department_name"],
        "reached_signing": 2,
        "negotiated": 1,
        "rounds": 2,
        "requested": "5000.00",
        "agreed": "6500.00",
        "change": "1500.00",
        "change_percent": 30.0,
    }
    assert (rows["TB-D-RS"]["reached_signing"], rows["TB-D-RS"]["negotiated"]) == (1, 0)
    assert data["negotiation"][0]["department"] == "TB-D-MZ"  # the larger share first
