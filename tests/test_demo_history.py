"""`flask --app server seed-demo --with-history` (handoff/demo_history.py), on SQLite and
PostgreSQL: on a database without instances it plays nine months of work up to now through the
service layer and says what it made; every demo account then has work in its inbox, the
减负看板 shows every outcome, overdue reviews are escalated, the engine state agrees with the
rows and the money trail holds (`handoff.consistency.money_problems`); nothing is dated after
now. Run again it changes nothing; it refuses while a worker runs and in production.

The figures themselves are checked against the history's record in test_dashboard_history.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from handoff import demo, demo_history, reports
from handoff.consistency import money_problems
from handoff.models import HandoffInstance, Request
from server import create_app
from workflows import accounts, clock, consistency, heartbeat, migrate, queries
from workflows.models import AuditEvent, ProcessInstance, Task, User
from workflows.service import Actor
from workflows.workdays import SHANGHAI

OUTCOMES = (
    "completed",
    "rejected",
    "refused",
    "blocked_negative_list",
    "blocked_forbidden_certificate",
    "blocked_unfunded",
    "cancelled",
    "terminated",
)


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def seed_demo(app, *args: str):
    return app.test_cli_runner().invoke(args=["seed-demo", *args])


def instances(db) -> int:
    with db.read() as session:
        return demo_history.instances_in(session)


def demo_accounts() -> list[str]:
    return [u["username"] for u in demo.load("users.json")["users"]]


def test_the_timeline_ends_where_it_is_asked_to():
    line = demo_history.Timeline.ending(datetime(2026, 11, 30, 17, 0, tzinfo=SHANGHAI))
    assert line.start == datetime(2026, 3, 2, 8, 0, tzinfo=SHANGHAI)  # 39 weeks: a Monday
    assert line.day(demo_history.LONG_BY) == date(2026, 7, 15)
    assert line.day(demo_history.STORY_DAYS) == date(2026, 11, 30)
    assert line.moment(90, 22, 50) == datetime(2026, 5, 31, 22, 50, tzinfo=SHANGHAI)
    # any moment: 08:00 of the day 273 days before its Beijing date (17:00 UTC is 01:00 on
    # the next day in Beijing)
    line = demo_history.Timeline.ending(datetime(2027, 1, 10, 17, 0, tzinfo=UTC))
    assert line.start == datetime.combine(date(2026, 4, 13), time(8, 0), SHANGHAI)


@pytest.mark.slow  # some 730 engine steps: 7 s on SQLite, 20 s on PostgreSQL
def test_seed_demo_with_history_gives_every_account_work_and_every_outcome(app, db):
    crashed = heartbeat.wall_now() - timedelta(hours=1)  # a crashed worker does not count
    heartbeat.beat(db, "box:1", "timer", crashed)
    with db.write() as session:
        session.get(heartbeat.WorkerHeartbeat, "box:1").last_seen = crashed
    started = clock.now()
    result = seed_demo(app, "--with-history")
    assert result.exit_code == 0, result.output
    assert "history " in result.output and "handoffs: " in result.output, result.output
    assert "open tasks: " in result.output
    now = clock.now()
    assert now - started < timedelta(minutes=10)  # the caller's clock is back: real time

    with db.read() as session:
        # every demo account but the admin (no process gives the admin a task) has work
        for username in demo_accounts():
            user = session.scalar(select(User).where(User.username == username))
            page = queries.inbox(session, Actor.of(user))
            if username == "admin":
                continue
            assert page.total >= 1, f"{username} has an empty inbox"

        # the 减负看板 shows every outcome, money at every stage, overdue work and scores
        reviewer = Actor.of(session.scalar(select(User).where(User.username == "reviewer")))
        body = reports.as_dict(reports.summary(session, reviewer))
        totals = body["totals"]
        for outcome in OUTCOMES:
            assert totals[outcome] > 0, (outcome, totals)
        assert totals["running"] > 0 and totals["overdue_now"] > 0
        for money in ("agreed", "transferred", "outstanding", "refunded", "kept"):
            assert float(totals[money]) > 0, (money, totals)
        assert totals["evaluated"] > 0 and totals["avg_score"] is not None
        assert body["emergency"]["orders"] > 0 and body["emergency"]["open_filings"] > 0
        assert sum(r["instances"] > 0 for r in body["by_department"]) == 9
        assert sum(r["instances"] > 0 for r in body["by_street"]) == 7

        # rejected by the district reviewer, and open reviews escalated when they fell due
        by_district = session.scalar(
            select(func.count(func.distinct(Task.instance_id)))
            .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
            .where(
                Task.key == "district_review",
                Task.status == "completed",
                ProcessInstance.outcome == "rejected",
            )
        )
        assert by_district >= 1
        escalated = session.scalar(
            select(func.count()).where(
                Task.status == "open", Task.escalated_at.is_not(None), Task.due_at < now
            )
        )
        assert escalated >= 1

        # the money trail of every handoff holds
        handoffs = session.scalars(
            select(ProcessInstance).join(
                HandoffInstance, HandoffInstance.instance_id == ProcessInstance.id
            )
        ).all()
        assert len(handoffs) > 100
        problems = [(i.id, p) for i in handoffs for p in money_problems(session, i)]
        assert not problems, problems

        # months of it, and nothing after now
        first = session.scalar(select(func.min(Request.created_at)))
        assert now - first > timedelta(days=250)
        assert session.scalar(select(func.max(AuditEvent.at))) <= now
        assert session.scalar(select(func.max(Task.created_at))) <= now

    checked, problems = consistency.check_all(db)  # engine state against the rows
    assert checked == instances(db) and not problems, problems[:5]

    # once only: run again, nothing changes
    made = instances(db)
    result = seed_demo(app, "--with-history")
    assert result.exit_code == 0, result.output
    assert "history not made: the database already has" in result.output
    assert instances(db) == made


def test_with_history_makes_nothing_while_a_worker_runs_or_instances_exist(app, db, actor):
    heartbeat.beat(db, "box:4242", "notify", heartbeat.wall_now())
    result = seed_demo(app, "--with-history")
    assert result.exit_code != 0
    assert "stop the workers first" in result.output and "box:4242" in result.output
    assert instances(db) == 0
    heartbeat.forget(db, "box:4242")

    # an instance of real use: the history is not mixed into it
    from handoff.requests import RequestInput, create_request

    create_request(
        db,
        actor("dept.mz"),
        RequestInput(
            title="低保对象入户调查",
            item_code="A01",
            community_codes=["TB-RG-01"],
            amount="500.00",
            due_date="2099-12-31",
        ),
    )
    result = seed_demo(app, "--with-history")
    assert result.exit_code == 0, result.output
    assert "history not made: the database already has 1 instance(s)" in result.output
    assert instances(db) == 1
    # --if-empty on a seeded database: nothing at all (scripts/serve after its first start)
    result = seed_demo(app, "--if-empty", "--with-history")
    assert result.exit_code == 0 and "already seeded" in result.output, result.output
    assert instances(db) == 1


def test_with_history_is_refused_in_production(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'production.sqlite3'}"
    migrate.upgrade(url)  # empty: no demo account yet, so the production app starts
    monkeypatch.setenv("HANDOFF_ENV", "production")
    monkeypatch.delenv("CLOCK_OFFSET_SECONDS", raising=False)
    # production refuses the demo password process-wide: undone for the other tests
    monkeypatch.setattr(accounts, "_refused_passwords", frozenset())
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "s3cret-" * 8})
    try:
        result = seed_demo(app, "--with-history")
        assert result.exit_code != 0
        assert "not for production" in result.output
        with app.extensions["db"].read() as session:
            assert not demo.is_seeded(session)  # refused before anything was written
    finally:
        app.extensions["db"].dispose()
