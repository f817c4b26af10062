"""终止委托 on both databases: before signing a handoff is cancelled as before; once the
agreement is in force it can only be terminated (department asks, street office and committee
confirm, finance confirms a refund), which settles the money transferred (ledger `refunded` /
`kept`), ends the handoff `terminated`, marks the agreement 已终止 and leaves nothing outstanding
on the 减负看板; once the work is reported, neither."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from handoff import reports, termination
from handoff.models import LedgerEntry, Termination
from tests.test_handoff import (
    agreement_of,
    audit_actions,
    do,
    instance,
    ledger,
    open_keys,
    start_at,
    task,
    tasks,
    today,
)
from workflows import consistency, service, starting
from workflows.errors import Conflict, Forbidden, FormErrors
from workflows.models import InstanceParty, ProcessInstance, Task

KEY = termination.PROCESS_KEY


def ask(db, actor, handoff_id: int, refund="5000.00", kept="0.00", who="dept.mz", **extra):
    data = {"handoff_instance": handoff_id, "reason": "上级政策调整，事项取消"}
    data.update(refund=refund, kept=kept, **extra)
    return starting.start_process(db, KEY, actor(who), data).id


def answer(db, actor, termination_id: int, key: str, data: dict, who: str):
    (row,) = [t for t in tasks(db, termination_id) if t.key == key]
    return service.complete_task(db, row.id, actor(who), data)


def agree_all(db, actor, termination_id: int) -> None:
    answer(db, actor, termination_id, "street_confirm", {"decision": "agree"}, "street.rg")
    answer(db, actor, termination_id, "committee_confirm", {"decision": "agree"}, "committee.rg01")


def totals(db, actor) -> dict:
    with db.read() as session:
        return reports.as_dict(reports.summary(session, actor("reviewer")))["totals"]


def no_problems(db, *instance_ids: int) -> None:
    with db.read() as session:
        for instance_id in instance_ids:
            row = session.get(ProcessInstance, instance_id)
            assert consistency.check_instance(session, row) == [], instance_id


# --- cancel ---------------------------------------------------------------------------------


def test_cancel_before_all_parties_signed_still_works(db, actor):
    handoff_id = start_at(db, actor, "sign_department")  # the committee has signed
    do(db, actor, handoff_id, "sign_street")  # two of three: not in force yet
    row = service.cancel_instance(db, handoff_id, actor("dept.mz"), "需求取消")
    assert (row.status, row.outcome) == ("cancelled", "cancelled")
    assert agreement_of(db, handoff_id).status == "cancelled"


@pytest.mark.parametrize("who", ["dept.mz", "admin"])
def test_cancel_after_signing_is_refused_with_a_reason(db, actor, who):
    handoff_id = start_at(db, actor, "funding")
    with pytest.raises(Conflict) as err:
        service.cancel_instance(db, handoff_id, actor(who), "不想办了")
    assert "协议已生效" in err.value.message and "termination" in err.value.message
    assert instance(db, handoff_id).status == "running"
    assert open_keys(db, handoff_id) == ["funding"]
    with pytest.raises(Forbidden):  # outsiders are still told they may not, not why
        service.cancel_instance(db, handoff_id, actor("street.rg"))


# --- the whole termination ------------------------------------------------------------------


def test_termination_settles_the_money_and_ends_the_handoff(db, actor):
    handoff_id = start_at(db, actor, "work")  # signed and 5000.00 transferred
    work = task(db, handoff_id, "work")
    termination_id = ask(db, actor, handoff_id, refund="3000.00", kept="2000.00")

    with db.read() as session:
        parties = dict(
            session.execute(
                select(InstanceParty.role, InstanceParty.org_unit_id).where(
                    InstanceParty.instance_id == termination_id
                )
            ).all()
        )
        handoff = session.get(ProcessInstance, handoff_id)
        assert parties == handoff.scope  # same department, street, committee, finance
        assert session.get(Termination, termination_id).handoff_instance_id == handoff_id
    (street,) = tasks(db, termination_id)
    assert (street.key, street.role, street.org_unit_id) == (
        "street_confirm",
        "street_office",
        parties["street_office"],
    )

    # pending: the work waits and a second request is refused
    with pytest.raises(Conflict) as err:
        do(db, actor, handoff_id, "work")
    assert "终止申请办理中" in err.value.message
    assert task(db, handoff_id, "work").id == work.id
    with pytest.raises(Conflict) as err:
        ask(db, actor, handoff_id, refund="3000.00", kept="2000.00")
    assert "终止申请办理中" in err.value.message
    with pytest.raises(Conflict):
        service.cancel_instance(db, handoff_id, actor("dept.mz"))

    agree_all(db, actor, termination_id)
    assert [t.key for t in tasks(db, termination_id)] == ["refund_received"]
    assert instance(db, handoff_id).status == "running"  # nothing settled before the money
    refund = {"refunded_on": today(), "voucher_no": "TK-2026-0007"}
    answer(db, actor, termination_id, "refund_received", refund, "finance")

    ended, row = instance(db, termination_id), instance(db, handoff_id)
    assert (ended.status, ended.outcome) == ("completed", "terminated")
    assert (row.status, row.outcome, row.next_timer_at) == ("cancelled", "terminated", None)
    assert tasks(db, handoff_id) == []
    with db.read() as session:
        assert session.get(Task, work.id).status == "withdrawn"
    money = ledger(db, handoff_id)
    settled = [(e.kind, e.amount_fen, e.voucher_no) for e in money["entries"][2:]]
    assert settled == [("refunded", 300000, "TK-2026-0007"), ("kept", 200000, None)]
    refunded = money["entries"][2]
    assert refunded.transferred_on.isoformat() == today() and refunded.step == row.lock_version
    assert (money["refunded_fen"], money["kept_fen"], money["outstanding_fen"]) == (
        300000,
        200000,
        0,
    )
    agreement = agreement_of(db, handoff_id)
    assert agreement.status == "terminated" and agreement.terminated_at is not None
    assert agreement.termination_reason == "上级政策调整，事项取消"
    actions = audit_actions(db, handoff_id)
    for action in ("termination.requested", "instance.terminated", "money.refunded"):
        assert action in actions
    assert actions[-1] == "agreement.terminated"
    no_problems(db, handoff_id, termination_id)

    figures = totals(db, actor)
    assert (figures["terminated"], figures["cancelled"], figures["running"]) == (1, 0, 0)
    assert (figures["agreed"], figures["transferred"]) == ("5000.00", "5000.00")
    assert (figures["outstanding"], figures["refunded"], figures["kept"]) == (
        "0.00",
        "3000.00",
        "2000.00",
    )
    with pytest.raises(Conflict):  # over: nothing more to terminate or cancel
        ask(db, actor, handoff_id)


def test_termination_before_the_transfer_needs_no_refund(db, actor):
    handoff_id = start_at(db, actor, "funding")  # signed, nothing transferred yet
    other = start_at(db, actor, "funding")
    termination_id = ask(db, actor, handoff_id, refund="0", kept="0.00")
    with pytest.raises(Conflict) as err:  # no money moves while it is settled
        do(db, actor, handoff_id, "funding")
    assert "终止申请办理中" in err.value.message
    agree_all(db, actor, termination_id)  # no refund: no finance step

    assert instance(db, termination_id).outcome == "terminated"
    assert (instance(db, handoff_id).status, instance(db, handoff_id).outcome) == (
        "cancelled",
        "terminated",
    )
    assert [e.kind for e in ledger(db, handoff_id)["entries"]] == ["agreed"]
    assert agreement_of(db, handoff_id).status == "terminated"
    figures = totals(db, actor)
    # the other handoff still owes its 5000.00; the terminated one nothing
    assert (figures["agreed"], figures["outstanding"], figures["terminated"]) == (
        "10000.00",
        "5000.00",
        1,
    )
    with db.read() as session:
        stmt, units = reports.drill_statement(
            session, actor("reviewer"), drill=reports.Drill(figure="outstanding")
        )
        assert list(session.scalars(stmt)) == [other]
        terminated = reports.Drill(outcome="terminated")
        stmt, units = reports.drill_statement(session, actor("reviewer"), drill=terminated)
        items, total = reports.drill_rows(session, stmt, units, 1, 10)
    assert total == 1 and (items[0]["instance_id"], items[0]["outstanding"]) == (
        handoff_id,
        "0.00",
    )
    no_problems(db, handoff_id, termination_id)


@pytest.mark.parametrize(
    ("key", "who"), [("street_confirm", "street.rg"), ("committee_confirm", "committee.rg01")]
)
def test_a_refusal_leaves_the_handoff_running(db, actor, key, who):
    handoff_id = start_at(db, actor, "work")
    termination_id = ask(db, actor, handoff_id)
    if key == "committee_confirm":
        answer(db, actor, termination_id, "street_confirm", {"decision": "agree"}, "street.rg")
    with pytest.raises(FormErrors) as err:
        answer(db, actor, termination_id, key, {"decision": "disagree"}, who)
    assert "comment" in err.value.fields
    answer(db, actor, termination_id, key, {"decision": "disagree", "comment": "工作已过半"}, who)

    assert (instance(db, termination_id).status, instance(db, termination_id).outcome) == (
        "completed",
        "refused",
    )
    assert instance(db, handoff_id).status == "running"
    assert agreement_of(db, handoff_id).status == "signed"
    assert "termination.refused" in audit_actions(db, handoff_id)
    do(db, actor, handoff_id, "work")  # no longer pending: the work goes on
    assert open_keys(db, handoff_id) == ["acceptance"]
    assert totals(db, actor)["terminated"] == 0


# --- what a request must say ----------------------------------------------------------------


@pytest.mark.parametrize(("refund", "kept"), [("3000.00", "1999.99"), ("5000.00", "0.01")])
def test_refund_and_kept_must_add_up_to_the_money_transferred(db, actor, refund, kept):
    handoff_id = start_at(db, actor, "work")
    with pytest.raises(FormErrors) as err:
        ask(db, actor, handoff_id, refund=refund, kept=kept)
    assert set(err.value.fields) == {"refund", "kept"}
    assert "5000.00" in err.value.fields["refund"]
    with db.read() as session:
        assert session.scalars(select(Termination)).all() == []
    with pytest.raises(FormErrors) as err:  # yuan strings with at most 2 places, never floats
        ask(db, actor, handoff_id, refund="4999.995", kept="0")
    assert "refund" in err.value.fields


def test_only_the_handoffs_own_department_asks_for_the_handoffs_own_units(db, actor):
    handoff_id = start_at(db, actor, "work")
    with pytest.raises(FormErrors) as err:
        ask(db, actor, handoff_id, who="dept.rs")
    assert "handoff_instance" in err.value.fields
    with pytest.raises(Forbidden):  # not a starter of the process at all
        ask(db, actor, handoff_id, who="street.rg")
    with pytest.raises(FormErrors) as err:  # routed elsewhere than the handoff: refused
        ask(db, actor, handoff_id, community="TB-HM-01")
    assert "community" in err.value.fields
    with pytest.raises(FormErrors) as err:
        ask(db, actor, 999_999)
    assert "handoff_instance" in err.value.fields


def test_a_handoff_not_yet_in_force_is_cancelled_not_terminated(db, actor):
    handoff_id = start_at(db, actor, "sign_department")
    with pytest.raises(Conflict) as err:
        ask(db, actor, handoff_id, refund="0", kept="0")
    assert "尚未生效" in err.value.message


def test_once_the_work_is_reported_neither_cancel_nor_termination(db, actor):
    handoff_id = start_at(db, actor, "acceptance")
    with pytest.raises(Conflict) as err:
        service.cancel_instance(db, handoff_id, actor("dept.mz"))
    assert "已报告完成" in err.value.message
    with pytest.raises(Conflict) as err:
        ask(db, actor, handoff_id)
    assert "已报告完成" in err.value.message
    do(db, actor, handoff_id, "acceptance", {"decision": "rework", "comment": "补充材料"})
    assert open_keys(db, handoff_id) == ["work"]  # reworking: the work was reported once
    with pytest.raises(Conflict):
        ask(db, actor, handoff_id)


def test_the_refund_is_dated_between_the_request_and_today(db, actor):
    handoff_id = start_at(db, actor, "work")
    termination_id = ask(db, actor, handoff_id)
    agree_all(db, actor, termination_id)
    later = (instance(db, handoff_id).created_at + timedelta(days=400)).date().isoformat()
    for day in (later, "2000-01-01"):
        with pytest.raises(FormErrors) as err:
            answer(
                db,
                actor,
                termination_id,
                "refund_received",
                {"refunded_on": day, "voucher_no": "TK-1"},
                "finance",
            )
        assert "refunded_on" in err.value.fields
    assert instance(db, handoff_id).status == "running"


def test_a_withdrawn_termination_frees_the_handoff(db, actor):
    handoff_id = start_at(db, actor, "work")
    termination_id = ask(db, actor, handoff_id)
    service.cancel_instance(db, termination_id, actor("dept.mz"), "再议")  # its starter
    with db.read() as session:
        assert termination.pending(session, handoff_id) is None
    do(db, actor, handoff_id, "work")
    assert instance(db, handoff_id).status == "running"
    with db.read() as session:
        kinds = session.scalars(
            select(LedgerEntry.kind).where(LedgerEntry.instance_id == handoff_id)
        )
        assert sorted(kinds) == ["agreed", "transferred"]


def test_concurrent_requests_start_one_termination(db, actor):
    handoff_id = start_at(db, actor, "work")
    who, results = actor("dept.mz"), []
    barrier = threading.Barrier(4)

    def attempt():
        barrier.wait()
        data = {"handoff_instance": handoff_id, "reason": "重复提交", "refund": "5000", "kept": "0"}
        try:
            starting.start_process(db, KEY, who, data)
            results.append("ok")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "conflict", "conflict", "ok"]
    with db.read() as session:
        assert len(session.scalars(select(Termination)).all()) == 1
