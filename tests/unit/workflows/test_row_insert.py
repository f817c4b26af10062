"""New rows written by one Core INSERT (`workflows.row_insert`), on both databases: each row gets
its own id back, the rows are then the session's persistent objects with every column loaded
(reading them asks the database nothing), and they commit or roll back with the transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, event, func, select

from workflows import json_rows, row_insert
from workflows.models import AuditEvent, IdempotencyRecord, User


def _statements(db) -> list[str]:
    seen: list[str] = []
    event.listen(db.write_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_rows_get_their_ids_in_order_and_join_the_session_loaded(db, backend):
    rows = [AuditEvent(action=f"row.{n}", detail={"n": n}) for n in range(3)]
    seen = _statements(db)
    with db.write() as s:
        row_insert.insert_rows(s, rows)
        inserts = [q for q in seen if q.lstrip().upper().startswith("INSERT")]
        # PostgreSQL: one multi-row INSERT; SQLite, which does not promise RETURNING's order
        # for many rows, gets them one by one from SQLAlchemy (in process: no wire)
        assert len(inserts) == (1 if backend == "postgresql" else 3)
        count = len(seen)
        ids = [row.id for row in rows]
        assert ids == sorted(ids) and len(set(ids)) == 3
        # every column was set, defaults included: reading them, or getting the rows by id,
        # sends nothing to the database
        assert [row.detail for row in rows] == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert all(row.at is not None and row.actor_id is None for row in rows)
        assert [s.get(AuditEvent, i) for i in ids] == rows
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 3
        assert len(seen) == count + 1  # only the count above
        assert not s.new and not s.dirty
    with db.read() as s:
        stored = s.execute(select(AuditEvent.id, AuditEvent.action).order_by(AuditEvent.id))
        assert [tuple(r) for r in stored] == [(i, f"row.{n}") for n, i in enumerate(ids)]


def test_one_row_and_a_change_after_it_is_written_by_the_flush(db):
    with db.read() as s:
        user_id = s.scalar(select(User.id).order_by(User.id).limit(1))
    row = IdempotencyRecord(user_id=user_id, key="k-1", request_hash="h")
    with db.write() as s:
        row_insert.insert_rows(s, [row])
        row.status_code = 201  # a persistent row: the session's flush writes the change
    with db.read() as s:
        stored = s.get(IdempotencyRecord, row.id)
        assert (stored.key, stored.status_code, stored.created_at) == ("k-1", 201, row.created_at)


def test_rolled_back_rows_are_gone(db):
    with pytest.raises(RuntimeError), db.write() as s:
        row_insert.insert_rows(s, [AuditEvent(action="row.gone")])
        raise RuntimeError("undo")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_rows_already_in_a_session_and_unknowable_defaults_are_refused(db):
    with db.write() as s:
        added = AuditEvent(action="row.added")
        s.add(added)
        s.flush()
        with pytest.raises(ValueError, match="not a new row"):
            row_insert.insert_rows(s, [added])
    with pytest.raises(ValueError, match="server default"):
        json_rows.default(Column("n", Integer, server_default="1"))
