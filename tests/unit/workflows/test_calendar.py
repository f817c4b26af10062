"""The statutory calendar as data: a year without one counts weekends only and marks its due
dates provisional; entering the year counts every open timer again, in the same transaction, or
through the timer worker when another worker's cache had not seen the year yet."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from workflows import (
    calendar,
    calendar_admin,
    clock,
    definitions,
    recount,
    roles,
    service,
    starting,
    workdays,
)
from workflows.admin import InvalidInput
from workflows.models import (
    AuditEvent,
    CalendarYear,
    ProcessInstance,
    ProvisionalTimer,
    Task,
)

CST = timezone(timedelta(hours=8))
MINI = (Path(__file__).parents[2] / "fixtures" / "mini.bpmn").read_text(encoding="utf-8")
# the review is overdue after 8 working days: from Christmas Eve 2026 that crosses New Year
EIGHT_DAYS = MINI.replace("add_working_days(now(), 2)", "add_working_days(now(), 8)")
DATA = {"street": "TB-RG", "community": "TB-RG-01", "access_office": "TB-A"}
CHRISTMAS_EVE = datetime(2026, 12, 24, 10, 0, tzinfo=CST)
NOTICE_2027 = {  # illustrative, in the form of a State Council notice
    "notice": "国办发明电〔2026〕X号",
    "holidays": [
        {"name": "元旦", "start": "2027-01-01", "end": "2027-01-03"},
        {"name": "春节", "start": "2027-02-06", "end": "2027-02-13"},
    ],
    "workdays": [{"name": "春节", "day": "2027-02-14"}],
}


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=CST).astimezone(UTC)


def start_review(db, admin_id: int | None = None) -> int:
    with db.write() as session:
        xml = EIGHT_DAYS + f"<!-- {uuid.uuid4()} -->"
        definition, _ = definitions.deploy(session, xml, roles=roles.role_keys(session))
        return starting.start_instance(session, definition, dict(DATA), actor_id=admin_id).id


def review(db, instance_id: int) -> Task:
    with db.read() as session:
        return session.scalar(
            select(Task).where(Task.instance_id == instance_id, Task.status == "open")
        )


def test_a_due_date_in_a_year_not_entered_is_provisional(db, no_2027):
    clock.freeze(CHRISTMAS_EVE)
    instance_id = start_review(db)
    task = review(db, instance_id)
    # 12-25, 12-28..12-31, Fri 01-01 (a weekday to a calendar that does not know 2027), 01-04,
    # 01-05
    assert task.due_at == end_of(date(2027, 1, 5))
    assert task.due_provisional is True
    with db.read() as session:
        (kept,) = session.scalars(
            select(ProvisionalTimer).where(ProvisionalTimer.instance_id == instance_id)
        ).all()
        assert (kept.start, kept.days, kept.due_at) == (CHRISTMAS_EVE, 8, task.due_at)


def test_entering_the_year_counts_open_timers_again(db, actor, no_2027):
    clock.freeze(CHRISTMAS_EVE)
    instance_id = start_review(db)
    with db.write() as session:
        moved = calendar_admin.enter_year(session, actor("admin").user_id, 2027, NOTICE_2027)
    assert moved == 1
    task = review(db, instance_id)
    # 01-01..01-03 are off now: 12-25, 12-28..12-31, 01-04, 01-05, 01-06
    assert task.due_at == end_of(date(2027, 1, 6))
    assert task.due_provisional is False
    with db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.next_timer_at == end_of(date(2027, 1, 6))
        assert session.scalars(select(ProvisionalTimer)).all() == []
        actions = set(session.scalars(select(AuditEvent.action)))
        assert {"calendar.year_entered", "instance.due_recounted"} <= actions
    # the engine's own timer moved too: nothing fires on the old date, the new one does
    clock.freeze(end_of(date(2027, 1, 5)) + timedelta(minutes=1))
    assert service.fire_due_timers(db) == 0
    assert review(db, instance_id).escalated_at is None
    clock.freeze(end_of(date(2027, 1, 6)) + timedelta(minutes=1))
    assert service.fire_due_timers(db) == 1
    assert review(db, instance_id).escalated_at is not None


def test_a_new_count_in_an_entered_year_is_not_provisional(db, actor, no_2027):
    with db.write() as session:
        calendar_admin.enter_year(session, actor("admin").user_id, 2027, NOTICE_2027)
    clock.freeze(CHRISTMAS_EVE)
    task = review(db, start_review(db))
    assert (task.due_at, task.due_provisional) == (end_of(date(2027, 1, 6)), False)


def test_the_timer_worker_catches_up_with_a_year_another_worker_entered(db, no_2027):
    clock.freeze(CHRISTMAS_EVE)
    with db.read() as session:
        calendar.current(session)  # this worker has the calendar without 2027 cached
    with db.write() as session:  # another worker enters 2027 (its own cache, not ours)
        days, notice = calendar_admin.parse_year(2027, NOTICE_2027)
        calendar_admin._store(session, 2027, days, source="admin", notice=notice)
    instance_id = start_review(db)
    assert review(db, instance_id).due_provisional  # counted by the stale calendar
    with db.write() as session:
        calendar.forget(session)  # what the cache's time limit does
    assert recount.sweep(db) == 1
    task = review(db, instance_id)
    assert (task.due_at, task.due_provisional) == (end_of(date(2027, 1, 6)), False)
    assert recount.sweep(db) == 0


def test_a_timer_that_fired_is_forgotten_not_moved(db, actor, no_2027):
    clock.freeze(CHRISTMAS_EVE)
    instance_id = start_review(db)
    clock.freeze(end_of(date(2027, 1, 5)) + timedelta(minutes=1))
    assert service.fire_due_timers(db) == 1  # escalated on the provisional date
    with db.write() as session:
        assert calendar_admin.enter_year(session, actor("admin").user_id, 2027, NOTICE_2027) == 0
    task = review(db, instance_id)
    assert task.escalated_at is not None and task.due_at == end_of(date(2027, 1, 5))
    with db.read() as session:
        assert session.scalars(select(ProvisionalTimer)).all() == []


def test_import_never_overwrites_a_year_an_admin_entered(db, actor, no_2027):
    with db.write() as session:
        calendar_admin.enter_year(session, actor("admin").user_id, 2027, NOTICE_2027)
        assert 2027 not in calendar_admin.import_library(session)
        assert session.get(CalendarYear, 2027).source == "admin"
        assert set(range(2004, 2027)) <= {y["year"] for y in calendar_admin.years(session)}
        detail = calendar_admin.year_detail(session, 2027)
    assert detail["holidays"] == NOTICE_2027["holidays"]
    assert detail["workdays"] == NOTICE_2027["workdays"]


def test_the_first_unknown_year_is_shown(db, no_2027):
    with db.read() as session:
        assert calendar_admin.first_unknown_year(session, date(2026, 12, 1)) == 2027
        assert calendar_admin.first_unknown_year(session, date(2010, 5, 1)) == 2027


def test_the_library_years_are_imported_with_chinese_names(db):
    with db.read() as session:
        detail = calendar_admin.year_detail(session, 2026)
        cal = calendar.load(session)
    assert detail["source"] == "library"
    assert {"name": "国庆节", "start": "2026-10-01", "end": "2026-10-07"} in detail["holidays"]
    assert {"name": "国庆节", "day": "2026-10-10"} in detail["workdays"]
    assert cal == workdays.library_calendar() or cal.years >= workdays.library_calendar().years


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"workdays": [{"name": "春节", "day": "2027-02-15"}]}, "workdays.0.day", "not_weekend"),
        (
            {"holidays": [{"name": "元旦", "start": "2026-12-31", "end": "2027-01-02"}]},
            "holidays.0.start",
            "date_outside_year",
        ),
        (
            {"holidays": [{"name": "元旦", "start": "2027-01-03", "end": "2027-01-01"}]},
            "holidays.0.end",
            "date_order",
        ),
        (
            {"holidays": [{"name": "元旦", "start": "2027-01-01", "end": "2027-03-01"}]},
            "holidays.0.end",
            "date_order",
        ),
        (
            {
                "holidays": [
                    {"name": "元旦", "start": "2027-01-01", "end": "2027-01-03"},
                    {"name": "又一个", "start": "2027-01-03", "end": "2027-01-04"},
                ]
            },
            "holidays.1.start",
            "overlap",
        ),
        ({"workdays": [{"name": "元旦", "day": "2027-01-02"}]}, "workdays.0.day", "overlap"),
        (
            {"holidays": [{"name": "元旦", "start": "1/1/2027", "end": ""}]},
            "holidays.0.start",
            "invalid_date",
        ),  # fmt: skip
        (
            {"holidays": [{"name": "", "start": "2027-01-01", "end": "2027-01-01"}]},
            "holidays.0.name",
            "required",
        ),  # fmt: skip
        ({"holidays": []}, "holidays", "no_holidays"),
        ({"holidays": "元旦"}, "holidays", "invalid_list"),
        ({"notice": "x" * 201}, "notice", "too_long"),
    ],
)
def test_a_wrong_notice_is_refused_and_changes_nothing(db, actor, no_2027, change, field, reason):
    with pytest.raises(InvalidInput) as err:
        with db.write() as session:
            calendar_admin.enter_year(
                session, actor("admin").user_id, 2027, {**NOTICE_2027, **change}
            )
    assert err.value.reasons.get(field) == reason, err.value.reasons
    assert field in err.value.fields
    with db.read() as session:
        assert session.get(CalendarYear, 2027) is None


@pytest.mark.parametrize("year", [1999, 2101, True, "2027"])
def test_a_year_out_of_range_is_refused(year):
    with pytest.raises(InvalidInput) as err:
        calendar_admin.parse_year(year, NOTICE_2027)
    assert err.value.reasons == {"year": "invalid_year"}
