"""Writes behind (`workflows.write_behind`), on a real database: what reaches the server when,
counted on PostgreSQL's wire by libpq's own trace (bench/wire.py), and that a deferred write
commits or rolls back with its transaction exactly as a statement sent at once would."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from tests.bench_wire import Wire
from workflows import write_behind
from workflows.db import Database
from workflows.models import AuditEvent, Role


@pytest.fixture
def pg(db, backend):
    if backend != "postgresql":
        pytest.skip("PostgreSQL: SQLite has no wire, and runs a deferred write at once")
    return db


def _wire(db):
    """A wire counter on new connections (traced from their first message, so the names of
    the statements psycopg prepares are known), warmed: the pool has its connection and
    psycopg its prepared statements."""
    db.dispose()
    wire = Wire(db)
    for _ in range(6):
        with db.write() as s:
            s.execute(text("SELECT 1"))
    wire.take()
    return wire


def _event(action: str):
    return write_behind.deferred(insert(AuditEvent.__table__)).values(
        at=func.now(), action=action, detail={}
    )


def _count(db, action: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).where(AuditEvent.action == action))


def test_a_deferred_write_goes_with_the_next_statement_and_begin_with_the_first(pg):
    db = pg
    wire = _wire(db)
    with db.write() as s:
        s.execute(text("SELECT 1"))
        s.execute(_event("wb.test"))
        s.execute(text("SELECT 2"))
    cost = wire.take()
    trips = [[" ".join(q.split()) for q in trip] for trip in wire.last]
    assert cost["round_trips"] == 3, trips
    assert trips[0] == ["BEGIN", "SELECT 1"]
    assert trips[1][0].startswith("INSERT INTO audit_event") and trips[1][1] == "SELECT 2"
    assert trips[2] == ["COMMIT"]
    assert _count(db, "wb.test") == 1


def test_what_is_still_deferred_goes_with_the_commit(pg):
    db = pg
    wire = _wire(db)
    with db.write() as s:
        s.execute(text("SELECT 1"))
        s.execute(_event("wb.commit"))
        s.execute(_event("wb.commit"))
    wire.take()
    trips = [[q.split()[0] for q in trip] for trip in wire.last]
    assert trips == [["BEGIN", "SELECT"], ["INSERT", "INSERT", "COMMIT"]]
    assert _count(db, "wb.commit") == 2


def test_a_deferred_write_rolls_back_with_its_transaction_and_leaves_nothing_queued(db):
    with pytest.raises(RuntimeError), db.write() as s:
        s.execute(text("SELECT 1"))
        s.execute(_event("wb.undone"))
        raise RuntimeError("the step failed")
    # the same pooled connection's next transaction must not send what was queued
    with db.write() as s:
        s.execute(_event("wb.after"))
    assert _count(db, "wb.undone") == 0
    assert _count(db, "wb.after") == 1


def test_a_deferred_write_that_fails_fails_its_transaction(db):
    with db.write() as s:
        key = s.scalars(select(Role.key)).first()
    with pytest.raises(IntegrityError), db.write() as s:
        s.execute(_event("wb.partial"))
        duplicate = {"key": key, "name_zh": "重复", "name_en": "twin", "unit_kind": "street"}
        s.execute(write_behind.deferred(insert(Role.__table__).values(**duplicate)))
    assert _count(db, "wb.partial") == 0


def test_rows_updated_behind_are_written_and_the_session_does_not_write_them_again(db):
    with db.read() as s:
        key, old = s.execute(select(Role.key, Role.name_en).order_by(Role.key).limit(1)).one()
    try:
        with db.write() as s:
            role = s.get(Role, key)
            role.name_en = old + " (behind)"
            write_behind.update_rows(s, [role])
            assert not s.is_modified(role)  # the session's flush has nothing left to write
        with db.read() as s:
            assert s.scalar(select(Role.name_en).where(Role.key == key)) == old + " (behind)"
    finally:
        with db.write() as s:
            s.get(Role, key).name_en = old


def test_a_read_ends_with_commit_and_keeps_psycopgs_prepared_statements(pg):
    db = pg
    wire = _wire(db)
    for _ in range(6):  # psycopg prepares a statement at its fifth run on a connection
        with db.read() as s:
            s.execute(text("SELECT 41 + 1")).scalar()
    wire.take()
    with db.read() as s:
        assert s.execute(text("SELECT 41 + 1")).scalar() == 42
    wire.take()
    sent = [q for trip in wire.last for q in trip]
    assert sent[-1] == "COMMIT" and "ROLLBACK" not in sent
    assert not any("DEALLOCATE" in q for q in sent)


def test_db_pipeline_0_sends_every_statement_by_itself(pg, monkeypatch):
    monkeypatch.setenv("DB_PIPELINE", "0")
    db = Database(pg.url)
    try:
        wire = _wire(db)
        with db.write() as s:
            s.execute(text("SELECT 1"))
            s.execute(_event("wb.plain"))
        wire.take()
        trips = [[q.split()[0] for q in trip] for trip in wire.last]
        assert trips == [["BEGIN"], ["SELECT"], ["INSERT"], ["COMMIT"]]
    finally:
        db.dispose()
    assert _count(pg, "wb.plain") == 1
