"""What each event tells whom, on both databases: a review's approval and the handoff's outcome
tell the requesting department; confirmed money tells the department and the committee (with
the committee's new work task in the same message); an escalation tells the holders and the
district reviewers; the scanners tell of tasks due within N working days and of overdue ones,
once each however often they run."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from notifications import scanners
from tests.test_handoff import do, new_request, only_instance, start_at, task
from workflows import clock, service
from workflows.models import Task
from workflows.workdays import SHANGHAI

from .conftest import rows, user_id


def inapp_of(db, username: str) -> list[dict]:
    """The user's in-app items, oldest first."""
    return [i for r in rows(db, channel="inapp", user_id=user_id(db, username)) for i in r.items]


def kinds_of(db, username: str) -> list[str]:
    return [i["kind"] for i in inapp_of(db, username)]


def test_an_approval_tells_the_department(db, actor):
    instance_id = start_at(db, actor, "street_review")
    do(db, actor, instance_id, "street_review")
    (item,) = [i for i in inapp_of(db, "dept.mz") if i["kind"] == "request_decided"]
    assert item["decision"] == "approve" and item["instance_id"] == instance_id
    assert item["decision_name"] == "街道审核同意"
    assert "request_decided" not in kinds_of(db, "street.rg")  # not told of their own act


def test_a_rejection_tells_the_department_once_with_the_outcome(db, actor):
    instance_id = start_at(db, actor, "street_review")
    do(db, actor, instance_id, "street_review", {"decision": "reject", "comment": "不属于社区"})
    decided = [i for i in inapp_of(db, "dept.mz") if i["kind"] == "request_decided"]
    assert [(i["outcome"], i["outcome_name"]) for i in decided] == [("rejected", "已驳回")]


def test_a_blocked_fan_out_is_one_message_not_telling_the_officer_who_made_it(db, actor):
    new_request(db, actor, amount="0.00", communities=("TB-RG-01", "TB-RG-02"))
    assert kinds_of(db, "dept.mz") == []  # they launched it and saw it blocked
    assert rows(db, channel="inapp") == []


def test_confirmed_money_tells_department_and_committee_with_the_work_task(db, actor):
    instance_id = start_at(db, actor, "funding")
    before = {u: len(rows(db, user_id=user_id(db, u))) for u in ("dept.mz", "committee.rg01")}
    do(db, actor, instance_id, "funding")
    (dept,) = rows(db, channel="inapp", user_id=user_id(db, "dept.mz"))[before["dept.mz"] :]
    assert [i["kind"] for i in dept.items] == ["money_confirmed"]
    assert dept.items[0]["amount"] == "5000.00" and dept.items[0]["voucher_no"] == "PZ-2026-0001"
    committee = rows(db, channel="inapp", user_id=user_id(db, "committee.rg01"))
    (latest,) = committee[before["committee.rg01"] :]
    assert latest.kind == "digest"
    assert sorted(i["kind"] for i in latest.items) == ["money_confirmed", "task_opened"]


def _review(db, instance_id: int) -> Task:
    return task(db, instance_id, "street_review")


def test_due_soon_and_overdue_once_each_and_escalation(db, actor, monkeypatch):
    monkeypatch.setenv("NOTIFY_DUE_SOON_DAYS", "2")
    clock.freeze(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))  # a Monday
    instance_id = only_instance(db, new_request(db, actor)).id
    due = _review(db, instance_id).due_at
    assert scanners.scan(db) == 0  # 15 working days away
    # due Monday 2026-03-23: on Wednesday the 18th three working days are left, not yet
    clock.freeze(due - timedelta(days=5))
    assert scanners.scan(db) == 0
    clock.freeze(due - timedelta(days=1))
    assert scanners.scan(db) == 1
    assert scanners.scan(db) == 0  # once
    (soon,) = [i for i in inapp_of(db, "street.rg") if i["kind"] == "due_soon"]
    assert soon["task_key"] == "street_review" and soon["days_left"] == 1

    clock.freeze(due + timedelta(minutes=1))
    assert scanners.scan(db) == 1
    assert scanners.scan(db) == 0
    assert kinds_of(db, "street.rg").count("overdue") == 1
    assert "overdue" not in kinds_of(db, "reviewer")

    service.fire_due_timers(db)  # the overdue timer escalates the review
    assert kinds_of(db, "street.rg").count("escalated") == 1
    assert kinds_of(db, "reviewer") == ["escalated"]
    with db.read() as s:
        assert s.scalar(select(Task.escalated_at).where(Task.id == soon["task_id"])) is not None


def test_working_days_left_skip_weekends():
    cal = scanners.calendar.current(None)
    friday = datetime(2026, 3, 6, 10, 0, tzinfo=SHANGHAI)
    assert scanners.working_days_left(friday, friday, cal) == 0
    assert scanners.working_days_left(friday, friday + timedelta(days=3), cal) == 1  # Monday
    assert scanners.working_days_left(friday, friday + timedelta(days=4), cal) == 2
