"""Many rows in one statement (`workflows.json_rows`, through `write_behind.insert_many` and
`update_rows`), on both databases: the values stored are exactly those given (aware datetimes
to the microsecond, nested JSON with Chinese text and floats, NULLs), the columns a row leaves
out get their defaults, and on PostgreSQL the statement's text is the same for any number of
rows, so it is parsed and prepared once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from workflows import clock, json_rows, row_insert, write_behind
from workflows.errors import EngineFailure
from workflows.models import AuditEvent, IdempotencyRecord, InstanceParty, User

AT = datetime(2026, 12, 1, 23, 59, 58, 123456, tzinfo=UTC)


def _texts(db) -> list[str]:
    seen: list[str] = []
    event.listen(db.write_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_rows_are_stored_exactly_and_left_out_columns_get_their_defaults(db):
    detail = {"名称": "低保对象入户调查", "amount": 1234.5, "nested": [1, None, {"ok": True}]}
    with db.write() as s:
        write_behind.insert_many(
            s,
            AuditEvent,
            [
                {"at": AT, "action": "rows.one", "business_key": "REQ-1", "detail": detail},
                {"action": "rows.two"},  # at: clock.now(), detail: {}, the rest NULL
            ],
        )
    with db.read() as s:
        one, two = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert (one.at, one.action, one.business_key, one.detail) == (AT, "rows.one", "REQ-1", detail)
    assert one.actor_id is None and one.instance_id is None
    assert two.action == "rows.two" and two.detail == {} and two.business_key is None
    assert abs((two.at - clock.now()).total_seconds()) < 60


def test_the_statement_is_the_same_for_any_number_of_rows(db, backend):
    seen = _texts(db)
    for n in (2, 3, 7):
        with db.write() as s:
            write_behind.insert_many(s, AuditEvent, [{"action": f"rows.{n}"}] * n)
    inserts = {q for q in seen if "audit_event" in q and q.lstrip().startswith("INSERT")}
    assert len(inserts) == 1, inserts
    if backend == "postgresql":
        assert "json_populate_recordset" in inserts.pop()
        seen.clear()
        with db.write() as s:  # one row: SQLAlchemy's own prepared INSERT
            write_behind.insert_many(s, AuditEvent, [{"action": "rows.1"}])
        (one,) = [q for q in seen if q.lstrip().startswith("INSERT")]
        assert "json_populate_recordset" not in one
    with db.read() as s:
        stored = len(s.scalars(select(AuditEvent.id)).all())
    assert stored == 2 + 3 + 7 + (1 if backend == "postgresql" else 0)


def test_rows_changed_alike_are_updated_in_one_statement(db, backend):
    with db.read() as s:
        user_id = s.scalar(select(User.id).order_by(User.id).limit(1))
    rows = [IdempotencyRecord(user_id=user_id, key=f"k-{n}", request_hash="h") for n in range(4)]
    with db.write() as s:
        row_insert.insert_rows(s, rows)
    seen = _texts(db)
    with db.write() as s:
        for n, row in enumerate(
            s.scalars(select(IdempotencyRecord).order_by(IdempotencyRecord.id))
        ):
            row.status_code, row.response_body = 200 + n, f"答复 {n}"
            if n == 0:
                row.created_at = AT
        write_behind.update_rows(s, list(s.identity_map.values()))
        assert not s.dirty  # written: the flush has nothing left to do
    updates = [q for q in seen if q.lstrip().startswith("UPDATE")]
    # the first row changed one more column: a group of its own
    assert len(updates) == (2 if backend == "postgresql" else 4), updates
    with db.read() as s:
        stored = s.execute(
            select(
                IdempotencyRecord.key,
                IdempotencyRecord.status_code,
                IdempotencyRecord.response_body,
                IdempotencyRecord.created_at,
            ).order_by(IdempotencyRecord.id)
        ).all()
    assert [tuple(r[:3]) for r in stored] == [(f"k-{n}", 200 + n, f"答复 {n}") for n in range(4)]
    assert stored[0][3] == AT and stored[1][3] == rows[1].created_at


def test_a_value_too_long_for_its_column_fails_its_transaction_cleanly(db, backend):
    if backend != "postgresql":
        pytest.skip("SQLite does not hold text to its declared length")
    with pytest.raises(EngineFailure, match="cannot hold"), db.write() as s:
        write_behind.insert_many(s, AuditEvent, [{"action": "x" * 65}])
    with db.read() as s:
        assert s.scalars(select(AuditEvent.id)).all() == []


def test_what_only_the_database_knows_is_refused(db):
    with db.write() as s:
        with pytest.raises(ValueError, match="not numbered by the database"):
            row_insert.insert_rows(s, [InstanceParty(instance_id=1, role="x", org_unit_id=1)])
    assert json_rows.autoincrement_key(AuditEvent.__table__) is AuditEvent.__table__.c.id
