"""Test fixtures: every persistence test runs on SQLite and on the throwaway PostgreSQL that
scripts/test starts (TEST_POSTGRES_URL). Each backend is migrated and seeded once per session;
each test starts from the seeded state with the runtime tables emptied.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, text

import handoff
import notifications
from handoff import demo
from handoff.models import CatalogItem
from workflows import calendar, calendar_admin, clock, migrate
from workflows.db import Database
from workflows.models import CalendarDay, CalendarYear, OrgUnit, User
from workflows.service import Actor

RUNTIME_TABLES = [
    "resident_rating",
    "resident_survey",
    "evaluation_weights",
    "notification_key",
    "notification_scan",
    "notification",
    "notification_preference",
    "webhook",
    "message_subscription",
    "provisional_timer",
    "handoff_termination",
    "negotiation_round",
    "handoff_instance",
    "process_release",
    "attachment_blob",
    "attachment",
    "idempotency_record",
    "audit_event",
    "ledger_entry",
    "signature",
    "agreement",
    "task",
    "instance_party",
    "process_instance",
    "handoff_request",
    "api_token",
    "login_throttle",
    "worker_heartbeat",
]
BACKENDS = ["sqlite", "postgresql"]
SEEDED_ROLES = ("department", "street_office", "district_reviewer", "committee", "finance", "admin")

handoff.register()  # the district's process plugins, as the app factory does
notifications.register()  # the outbox, likewise


def _postgres_url() -> str | None:
    return os.environ.get("TEST_POSTGRES_URL")


def _fresh_postgres_database(base_url: str) -> str:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def database_url_factory(tmp_path_factory):
    urls: dict[str, str] = {}

    def make(backend: str) -> str:
        if backend not in urls:
            if backend == "sqlite":
                path = Path(tmp_path_factory.mktemp("sqlite")) / "test.sqlite3"
                urls[backend] = f"sqlite:///{path}"
            else:
                base = _postgres_url()
                if not base:
                    if os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"):
                        pytest.fail("TEST_POSTGRES_URL is not set: run the tests with scripts/test")
                    pytest.skip("no PostgreSQL (run scripts/test)")
                urls[backend] = _fresh_postgres_database(base)
        return urls[backend]

    return make


@pytest.fixture(scope="session")
def _seeded(database_url_factory):
    seeded: dict[str, Database] = {}

    def get(backend: str) -> Database:
        if backend not in seeded:
            url = database_url_factory(backend)
            migrate.upgrade(url)
            db = Database(url)
            with db.write() as session:
                demo.seed(session)
            seeded[backend] = db
        return seeded[backend]

    yield get
    for db in seeded.values():
        db.dispose()


def _empty_runtime_tables(db: Database) -> None:
    with db.write() as session:
        if db.is_sqlite:
            for table in RUNTIME_TABLES:
                session.execute(text(f"DELETE FROM {table}"))
        else:
            session.execute(text(f"TRUNCATE {', '.join(RUNTIME_TABLES)} RESTART IDENTITY CASCADE"))
        session.execute(text("UPDATE process_definition SET suspended = false"))
        session.execute(text("UPDATE user_account SET email = NULL WHERE email IS NOT NULL"))
        keys = ", ".join(f"'{k}'" for k in SEEDED_ROLES)
        session.execute(text(f"DELETE FROM membership WHERE role NOT IN ({keys})"))
        session.execute(text(f"DELETE FROM role WHERE key NOT IN ({keys})"))


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db(backend, _seeded) -> Iterator[Database]:
    database = _seeded(backend)
    _empty_runtime_tables(database)
    clock.reset()
    yield database
    clock.reset()


@pytest.fixture
def tag(db):
    """A unique suffix; whatever a test made with it is deleted afterwards."""
    suffix = uuid.uuid4().hex[:6]
    yield suffix
    _empty_runtime_tables(db)  # tokens and audit events name the users made
    with db.write() as s:
        for user in s.scalars(select(User).where(User.username.like(f"%{suffix}%"))):
            s.delete(user)
        s.flush()
        s.execute(delete(CatalogItem).where(CatalogItem.code.like(f"%{suffix.upper()}%")))
        units = s.scalars(select(OrgUnit).where(OrgUnit.code.like(f"%{suffix.upper()}%"))).all()
        for unit in sorted(units, key=lambda u: -len(u.code)):  # children first
            s.delete(unit)
            s.flush()


@pytest.fixture
def actor(db):
    """actor('street.rg') -> the Actor of that demo account."""

    def get(username: str) -> Actor:
        with db.read() as session:
            user = session.scalar(select(User).where(User.username == username))
            assert user is not None, username
            return Actor.of(user)

    return get


@pytest.fixture(scope="session")
def _live_servers(database_url_factory, tmp_path_factory):
    """One gunicorn per backend for the session, on its own freshly migrated database."""
    from .live import LiveServer, prepare_database

    servers: dict[str, LiveServer] = {}

    def get(backend: str) -> LiveServer:
        if backend not in servers:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('live')}/live.sqlite3"
            else:
                database_url_factory("postgresql")  # skips or fails when there is no PostgreSQL
                url = _fresh_postgres_database(_postgres_url())
            prepare_database(url)
            servers[backend] = LiveServer(url).start()
        return servers[backend]

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture
def live(backend, _live_servers):
    return _live_servers(backend)


def _drop_years_from(db: Database, first: int) -> None:
    with db.write() as session:
        session.execute(delete(CalendarDay).where(CalendarDay.year >= first))
        session.execute(delete(CalendarYear).where(CalendarYear.year >= first))
        calendar.forget(session)


@pytest.fixture
def no_2027(db):
    """2027 not entered in the calendar, whatever the installed chinesecalendar knows; the
    library's years are back afterwards."""
    _drop_years_from(db, 2027)
    yield
    _drop_years_from(db, 2027)
    with db.write() as session:
        calendar_admin.import_library(session)
        calendar.forget(session)
