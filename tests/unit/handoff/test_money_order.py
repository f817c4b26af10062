"""费随事转 on the dashboard with a running clock: a properly funded handoff is never counted as
work before money, whatever the clock read between the transfer and the work task (both are
written by one engine step); work opened while the money is outstanding is counted."""

from __future__ import annotations

from sqlalchemy import select

from handoff import reports
from handoff.models import LedgerEntry
from tests.test_handoff import start_at, task, walk_to
from workflows import clock
from workflows.models import Task


def totals(db, actor) -> dict:
    with db.read() as session:
        return reports.as_dict(reports.summary(session, actor("reviewer")))["totals"]


def test_funded_work_is_not_before_money_with_a_running_clock(db, actor):
    assert clock.now() != clock.now()  # the real clock, not a frozen one
    first = start_at(db, actor, "work")
    second = start_at(db, actor, "work")
    walk_to(db, actor, second, None)  # accepted, evaluated: completed
    with db.read() as session:
        for instance_id in (first, second):
            work = session.scalars(
                select(Task).where(Task.instance_id == instance_id, Task.key == "work")
            ).first()
            paid = session.scalar(
                select(LedgerEntry).where(
                    LedgerEntry.instance_id == instance_id, LedgerEntry.kind == "transferred"
                )
            )
            # the one step recorded the money and opened the work
            assert paid.step == work.opened_step
    figures = totals(db, actor)
    assert figures["instances"] == 2 and figures["work_before_money"] == 0


def test_work_opened_while_money_is_outstanding_is_counted(db, actor):
    instance_id = start_at(db, actor, "funding")
    funding = task(db, instance_id, "funding")
    with db.write() as session:  # as a faulty process version would: work before the transfer
        row = session.get(Task, funding.id)
        session.add(
            Task(
                spiff_id="00000000-0000-4000-8000-000000000001",
                instance_id=instance_id,
                business_key=row.business_key,
                process_key="handoff",
                key="work",
                name="社区办理",
                title=row.title,
                role="committee",
                org_unit_id=row.org_unit_id,
                opened_step=row.opened_step,
                status="open",
                created_at=clock.now(),
            )
        )
    assert totals(db, actor)["work_before_money"] == 1
