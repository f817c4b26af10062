"""临时性紧急事项 on both databases: the work opens at once, the department files the handoff
afterwards, a late filing is escalated and counted on the 减负看板."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from handoff import reports
from handoff import requests as handoff
from handoff.models import Request
from workflows import clock, service, starting
from workflows.errors import Forbidden, FormErrors
from workflows.models import ProcessInstance, Task

T0 = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)  # Tue 2026-09-01 10:00 in Shanghai
ORDER = {
    "community": "TB-RG-01",
    "department": "TB-D-MZ",
    "title": "防汛：转移低洼地带住户",
    "description": "暴雨预警，立即组织转移",
    "kind": "flood",
}


@pytest.fixture(autouse=True)
def _clock(db):
    clock.freeze(T0)


def open_tasks(db, instance_id: int) -> dict[str, Task]:
    with db.read() as s:
        rows = s.scalars(select(Task).where(Task.instance_id == instance_id, Task.status == "open"))
        return {t.key: t for t in rows}


def order(db, actor, who: str = "street.rg", **overrides) -> int:
    return starting.start_process(db, "emergency", actor(who), {**ORDER, **overrides}).id


def file_handoff(db, actor) -> str:
    payload = handoff.RequestInput(
        title="防汛转移补办委托",
        community_codes=["TB-RG-01"],
        amount="2000.00",
        item_code="A01",
        due_date="2099-12-31",
    )
    request_id = handoff.create_request(db, actor("dept.mz"), payload)
    with db.read() as s:
        return s.get(Request, request_id).number


def outcome(db, instance_id: int) -> tuple[str, str | None]:
    with db.read() as s:
        row = s.get(ProcessInstance, instance_id)
        return row.status, row.outcome


def test_work_opens_at_once_and_the_filing_follows(db, actor):
    instance_id = order(db, actor)
    tasks = open_tasks(db, instance_id)
    assert set(tasks) == {"emergency_work", "file_request"}
    with db.read() as s:
        units = dict(
            s.execute(
                select(Task.key, Task.org_unit_id).where(Task.instance_id == instance_id)
            ).all()
        )
    work, filing = tasks["emergency_work"], tasks["file_request"]
    assert work.role == "committee" and filing.role == "department"
    assert filing.due_at.date() == datetime(2026, 9, 8).date()  # 5 working days
    assert units  # routed to org units of the instance

    with pytest.raises(FormErrors) as err:  # a number that is no request of the department
        service.complete_task(db, filing.id, actor("dept.mz"), {"request_no": "REQ-2026-999999"})
    assert "request_no" in err.value.fields
    number = file_handoff(db, actor)
    service.complete_task(db, filing.id, actor("dept.mz"), {"request_no": number})
    service.complete_task(
        db,
        work.id,
        actor("committee.rg01"),
        {"report": "已转移 36 户", "completed_on": "2026-09-01"},
    )
    confirm = open_tasks(db, instance_id)["confirm_filing"]
    service.complete_task(db, confirm.id, actor("street.rg"), {"decision": "confirm"})
    assert outcome(db, instance_id) == ("completed", "completed")


def test_late_filing_is_escalated_and_counted(db, actor):
    instance_id = order(db, actor)
    clock.freeze(T0 + timedelta(days=10))
    assert service.fire_due_timers(db) == 1
    filing = open_tasks(db, instance_id)["file_request"]
    assert filing.escalated_at is not None  # the access office sees it too
    with db.read() as s:
        figures = reports.as_dict(reports.summary(s, actor("reviewer")))["emergency"]
        own = reports.as_dict(reports.summary(s, actor("street.hm")))["emergency"]
    assert figures == {"orders": 1, "late_filings": 1, "open_filings": 1, "filed": 0}
    assert own["orders"] == 0  # another street's dashboard


def test_only_a_street_office_orders_for_its_own_communities(db, actor):
    with pytest.raises(Forbidden):
        order(db, actor, who="dept.mz")
    with pytest.raises(FormErrors) as err:
        order(db, actor, who="street.hm")  # TB-RG-01 is not in 海明's street
    assert "community" in err.value.fields
    with pytest.raises(FormErrors) as err:
        order(db, actor, department="TB-RG")
    assert "department" in err.value.fields
    with db.read() as s:
        assert s.scalar(select(ProcessInstance.id)) is None


def test_the_street_office_may_withdraw_its_order(db, actor):
    instance_id = order(db, actor)
    with pytest.raises(Forbidden):
        service.cancel_instance(db, instance_id, actor("street.hm"))
    service.cancel_instance(db, instance_id, actor("street.rg"), "警报解除")
    assert outcome(db, instance_id) == ("cancelled", "cancelled")
    assert open_tasks(db, instance_id) == {}
