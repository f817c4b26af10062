"""准入清单年度审核 on both databases: a proposal reviewed, publicly noticed with objections,
decided; on approval the catalog changes from its date and the old entry is kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from handoff import catalog
from handoff import requests as handoff
from handoff.catalog import item_in_force
from handoff.models import CatalogItem, Request
from workflows import clock, messages, service, starting
from workflows.errors import Conflict, Forbidden, FormErrors, NotFound
from workflows.models import ProcessInstance, Task

T0 = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)  # Tue 2026-09-01 10:00 in Shanghai


@pytest.fixture(autouse=True)
def _clock(db):
    clock.freeze(T0)


def open_tasks(db, instance_id: int) -> list[Task]:
    with db.read() as s:
        return list(
            s.scalars(
                select(Task)
                .where(Task.instance_id == instance_id, Task.status == "open")
                .order_by(Task.id)
            )
        )


def complete(db, actor, instance_id: int, key: str, who: str, data: dict) -> None:
    (row,) = [t for t in open_tasks(db, instance_id) if t.key == key]
    service.complete_task(db, row.id, actor(who), data)


def state(db, instance_id: int) -> tuple[str, str | None]:
    with db.read() as s:
        row = s.get(ProcessInstance, instance_id)
        return row.status, row.outcome


def propose(db, actor, **overrides) -> int:
    data = {
        "change": "change",
        "item_code": "A01",
        "item_name": "最低生活保障对象入户调查（年度修订）",
        "funding_standard": "6000.00",
        "effective_from": "2026-10-08",
        "reason": "年度审核：调整经费标准",
        **overrides,
    }
    return starting.start_process(db, "catalog_review", actor("dept.mz"), data).id


def approve_to_notice(db, actor, instance_id: int) -> None:
    complete(db, actor, instance_id, "access_review", "reviewer", {"decision": "approve"})


def catalog_entry(db, code: str, day: date) -> CatalogItem | None:
    with db.read() as s:
        return item_in_force(s, code, day)


def test_approved_change_takes_effect_on_its_date_and_keeps_the_old_entry(db, actor):
    before = catalog_entry(db, "A01", date(2026, 9, 1))
    instance_id = propose(db, actor)
    assert [t.key for t in open_tasks(db, instance_id)] == ["access_review"]
    approve_to_notice(db, actor, instance_id)
    assert open_tasks(db, instance_id) == []  # 公示: waiting for the notice period or objections

    # an objection during the notice: a task for the access office; the notice end stays
    n = messages.deliver(
        db, actor("dept.rs"), "catalog_objection", {"item_code": "A01"}, {"objection": "标准偏低"}
    )
    assert n == 1
    complete(db, actor, instance_id, "objection_review", "reviewer", {"response": "已答复"})
    with db.read() as s:
        due = s.get(ProcessInstance, instance_id).next_timer_at
    assert due is not None and due.date() >= date(2026, 9, 7)

    clock.freeze(due + timedelta(minutes=1))
    assert service.fire_due_timers(db) == 1
    complete(db, actor, instance_id, "district_decision", "reviewer", {"decision": "approve"})
    assert state(db, instance_id) == ("completed", "approved")

    old = catalog_entry(db, "A01", date(2026, 10, 7))
    new = catalog_entry(db, "A01", date(2026, 10, 8))
    assert old.id == before.id and old.effective_to == date(2026, 10, 8)
    assert old.name == before.name and old.funding_standard_fen == before.funding_standard_fen
    assert new.id != old.id and new.name.endswith("（年度修订）")
    assert new.funding_standard_fen == 600000 and new.category == before.category
    with db.read() as s:  # the catalog of a day lists one entry a code; its history both
        assert [i.code for i in s.scalars(catalog.listing(date(2026, 10, 8)))].count("A01") == 1
        assert [i.code for i in s.scalars(catalog.listing(None))].count("A01") == 2


def test_requests_are_screened_by_the_entry_in_force_on_their_date(db, actor):
    instance_id = propose(db, actor, change="add", item_code="Z99", item_name="新增协助事项",
                          category="negative", effective_from="2026-09-10")  # fmt: skip
    approve_to_notice(db, actor, instance_id)
    with db.read() as s:
        due = s.get(ProcessInstance, instance_id).next_timer_at
    clock.freeze(due + timedelta(minutes=1))
    service.fire_due_timers(db)
    complete(db, actor, instance_id, "district_decision", "reviewer", {"decision": "approve"})

    def launch(day: datetime) -> Request:
        clock.freeze(day)
        payload = handoff.RequestInput(
            title="测试事项",
            community_codes=["TB-RG-01"],
            amount="100.00",
            item_code="Z99",
            due_date="2099-12-31",
        )
        request_id = handoff.create_request(db, actor("dept.mz"), payload)
        with db.read() as s:
            return s.get(Request, request_id)

    with pytest.raises(FormErrors) as err:  # not yet in force
        launch(datetime(2026, 9, 9, 2, 0, tzinfo=UTC))
    assert "item_code" in err.value.fields
    assert launch(datetime(2026, 9, 10, 2, 0, tzinfo=UTC)).item_category == "negative"


def test_rejections_leave_the_catalog_alone(db, actor):
    before = catalog_entry(db, "A01", date(2026, 10, 8))
    first = propose(db, actor)
    complete(
        db, actor, first, "access_review", "reviewer", {"decision": "reject", "comment": "无依据"}
    )
    assert state(db, first) == ("completed", "rejected")
    second = propose(db, actor)
    approve_to_notice(db, actor, second)
    with db.read() as s:
        due = s.get(ProcessInstance, second).next_timer_at
    clock.freeze(due + timedelta(minutes=1))
    service.fire_due_timers(db)
    complete(db, actor, second, "district_decision", "reviewer", {"decision": "reject"})
    assert state(db, second) == ("completed", "rejected")
    assert catalog_entry(db, "A01", date(2026, 10, 8)).id == before.id


def test_proposals_are_checked_against_the_catalog(db, actor):
    with pytest.raises(FormErrors) as err:
        propose(db, actor, change="add", item_code="A01", category="assisted")
    assert "item_code" in err.value.fields
    with pytest.raises(FormErrors) as err:
        propose(db, actor, change="remove", item_code="NOPE")
    assert "item_code" in err.value.fields
    with pytest.raises(FormErrors) as err:
        propose(db, actor, effective_from="2026-08-01")
    assert "effective_from" in err.value.fields
    with pytest.raises(FormErrors) as err:
        propose(db, actor, responsible_department="TB-RG")
    assert "responsible_department" in err.value.fields
    with db.read() as s:
        assert s.scalar(select(ProcessInstance.id)) is None  # nothing was started


def test_who_may_start_and_message(db, actor):
    with pytest.raises(Forbidden):
        starting.start_process(db, "catalog_review", actor("street.rg"), {})
    with pytest.raises(Conflict):  # the handoff starts through its request form only
        starting.start_process(db, "handoff", actor("dept.mz"), {})
    instance_id = propose(db, actor)
    approve_to_notice(db, actor, instance_id)
    with pytest.raises(NotFound):  # no instance waits with that correlation
        messages.deliver(db, actor("dept.rs"), "catalog_objection", {"item_code": "B01"}, {})
    with pytest.raises(Forbidden):  # finance is not among the process's message senders
        messages.deliver(db, actor("finance"), "catalog_objection", {"item_code": "A01"}, {})


def test_a_changed_entry_keeps_the_words_that_name_it(db, actor):
    before = catalog_entry(db, "N07", date(2026, 9, 1))
    assert before.terms == ["责任状", "一票否决"]
    instance_id = propose(
        db,
        actor,
        item_code="N07",
        item_name="与社区签订责任状、实行一票否决（修订）",
        funding_standard="",
        reason="年度审核：名称修订",
    )
    approve_to_notice(db, actor, instance_id)
    with db.read() as s:
        due = s.get(ProcessInstance, instance_id).next_timer_at
    clock.freeze(due + timedelta(minutes=1))
    service.fire_due_timers(db)
    complete(db, actor, instance_id, "district_decision", "reviewer", {"decision": "approve"})
    try:
        new = catalog_entry(db, "N07", date(2026, 10, 8))
        assert new.id != before.id and new.name.endswith("（修订）")
        assert new.terms == ["责任状", "一票否决"]
    finally:  # the seeded catalog as the other tests expect it
        with db.write() as s:
            for entry in s.scalars(select(CatalogItem).where(CatalogItem.code == "N07")):
                if entry.id == before.id:
                    entry.effective_to = None
                else:
                    s.delete(entry)
