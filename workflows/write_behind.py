"""Fewer round trips on PostgreSQL: writes whose results nobody reads wait, then go to the
server together with the next statement, or with the COMMIT, in one round trip.

psycopg 3 sends each statement and waits for its answer, and sends a transaction's BEGIN by
itself before the first statement. In pipeline mode it sends several statements, then waits
once. SQLAlchemy knows nothing of pipeline mode (2.1: it reads each cursor's result right after
`execute`), so this module works below it, in the dialect's execute events:

- A statement marked `deferred(...)` (an INSERT or UPDATE without RETURNING, whose row count
  nobody reads) is not sent: it joins the connection's queue.
- The next statement that is sent takes the queue with it: queue and statement go in one
  pipeline, and SQLAlchemy then reads the statement's result as usual. A transaction's first
  statement goes in a pipeline too, so that psycopg's BEGIN rides along.
- COMMIT sends what is still queued, then the COMMIT, in one pipeline.
- ROLLBACK drops the queue: nothing in it reached the server.

An error of a queued statement is raised by the statement or the COMMIT that carried it; the
transaction fails as it would have, one statement later. So only statements that the caller
does not expect to fail on their own (an audit row, a row update under the instance's lock) are
deferred. On SQLite there is no wire: `install` does nothing and deferred statements run at once;
so with DB_PIPELINE=0 (docs/DEPLOY.md).
"""

from __future__ import annotations

import os
import types
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, Table, Update, bindparam, event, insert, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from . import json_rows
from .db import core

OPTION = "write_behind"  # the execution option that marks a statement deferred
QUEUE = "_write_behind_queue"  # on the psycopg connection: [(statement, parameters, many)]

# psycopg's libpq transaction status: no transaction open on the connection
_IDLE = 0


def deferred(statement):
    """`statement` marked to wait for the next statement or the COMMIT (see the module); an
    INSERT is made `inline()`, so that SQLAlchemy asks for no primary key back."""
    if getattr(statement, "is_insert", False):
        statement = statement.inline()
    return statement.execution_options(**{OPTION: True})


def insert_row(session: Session, model, **values) -> None:
    """A new row that nothing in its transaction reads back by id, as a deferred INSERT (the
    ORM's INSERT asks for the row's id, so it is sent and waited for at once)."""
    insert_many(session, model, [values])


def insert_many(session: Session, model, rows: list[dict[str, Any]]) -> None:
    """Rows like `insert_row`'s, many of one table: one deferred statement for them all (on
    PostgreSQL of constant text, `json_rows`), the columns they leave out at their defaults."""
    if not rows:
        return
    # after the session's autoflush: a row it names that is pending in the session must reach
    # the server first, and the queued INSERT would go before that row's own
    conn, table = core(session), model.__table__
    if len(rows) > 1 and json_rows.supported(conn.dialect):  # one row: a prepared INSERT
        statement = _deferred(json_rows.insert_statement(table, conn.dialect, returning=False))
        conn.execute(statement, json_rows.params(table, conn.dialect, rows, fill=True))
    else:
        conn.execute(_insert_into(table), json_rows.filled(table, rows))


def update_rows(session: Session, rows) -> None:
    """Write the changed columns of these loaded rows as deferred UPDATEs by primary key, and
    tell the session they are written (so its flush leaves them alone). Rows of one table with
    the same columns changed go in one statement (on PostgreSQL of constant text, `json_rows`).

    For rows whose existence is certain (the locked instance and its tasks): the ORM's own
    UPDATE reads its row count to prove that, which is a round trip of its own."""
    groups: dict[tuple[Table, tuple[str, ...]], list[tuple[dict[str, Any], tuple]]] = {}
    for row in rows:
        state = inspect(row)
        if not (state.persistent and state.modified):
            continue
        values = _written(session, state)
        if values:
            key = (state.mapper.local_table, tuple(sorted(values)))
            groups.setdefault(key, []).append((values, state.identity))
    if not groups:
        return
    conn = session.connection()  # not the session's execute: it would flush pending rows first
    for (table, columns), group in groups.items():
        if len(group) > 1 and json_rows.supported(conn.dialect):
            keys = [c.key for c in table.primary_key]
            rows_ = [{**values, **dict(zip(keys, ident, strict=True))} for values, ident in group]
            statement = _deferred(json_rows.update_statement(table, conn.dialect, columns))
            conn.execute(statement, json_rows.params(table, conn.dialect, rows_, fill=False))
            continue
        for values, ident in group:
            values.update((f"_pk{i}", value) for i, value in enumerate(ident))
            conn.execute(_update_by_pk(table), values)


def _written(session: Session, state) -> dict[str, Any]:
    """The row's changed columns, which are marked written: the values the UPDATE sets."""
    mapper, unmodified = state.mapper, state.unmodified
    values: dict[str, Any] = {}
    for key in [k for k in state.dict if k not in unmodified]:
        prop = mapper.attrs.get(key)
        if prop is None or not hasattr(prop, "columns"):
            continue  # a relationship: the ORM's flush handles it
        values[prop.columns[0].key] = value = state.dict[key]
        set_committed_value(state.obj(), key, value)
    if values and not state.committed_state:  # nothing left for the flush: clean again
        # SQLAlchemy 2.1: set_committed_value leaves the row marked modified, so every
        # autoflush after it would run a whole unit of work that finds nothing to write
        state._commit_all(state.dict, session.identity_map)
    return values


@lru_cache(maxsize=64)
def _insert_into(table: Table):
    return deferred(insert(table))


@lru_cache(maxsize=256)
def _deferred(statement):
    return deferred(statement)  # built once per statement (a copy with the option set)


@lru_cache(maxsize=64)
def _update_by_pk(table: Table) -> Update:
    """One deferred UPDATE of a table's row by primary key, built once: its SET clause comes
    from the names of the parameters it is run with, and SQLAlchemy compiles each set once."""
    # the key's binds are named apart from its columns, whose names are the SET clause's
    where = [col == bindparam(f"_pk{i}", type_=col.type) for i, col in enumerate(table.primary_key)]
    return deferred(update(table).where(*where))


def install(engine: Engine) -> None:
    """Queue deferred statements and pipeline them on this PostgreSQL (psycopg) engine."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return
    if os.environ.get("DB_PIPELINE", "1") == "0":  # docs/DEPLOY.md: a proxy that cannot
        return  # take pipelines; deferred statements are then sent at once
    event.listen(engine, "do_execute", _execute)
    event.listen(engine, "do_executemany", _executemany)
    event.listen(engine, "do_execute_no_params", _execute_no_params)
    event.listen(engine, "rollback", _rolled_back)
    event.listen(engine.pool, "reset", lambda dbapi_conn, _record, _state: _drop(dbapi_conn))
    # SQLAlchemy 2.1 has no event around the DBAPI commit; the dialect's do_commit(dbapi_conn)
    # is what Connection._commit_impl calls (and wraps its errors), so it is replaced here.
    engine.dialect.do_commit = types.MethodType(_commit, engine.dialect)


def _queue(raw) -> list:
    queue = getattr(raw, QUEUE, None)
    if queue is None:
        queue = []
        setattr(raw, QUEUE, queue)
    return queue


def _rolled_back(conn) -> None:
    if not conn.invalidated:  # an invalidated connection is thrown away, its queue with it
        _drop(conn.connection.driver_connection)


def _drop(raw) -> None:
    queue = getattr(raw, QUEUE, None)
    if queue:
        queue.clear()


def _execute(cursor, statement, parameters, context) -> bool:
    return _send(cursor, statement, parameters, context, many=False)


def _executemany(cursor, statement, parameters, context) -> bool:
    return _send(cursor, statement, parameters, context, many=True)


def _execute_no_params(cursor, statement, context) -> bool:
    return _send(cursor, statement, None, context, many=False)


def _send(cursor, statement, parameters, context, many: bool) -> bool:
    raw = cursor.connection
    if raw.autocommit:
        return False
    queue = _queue(raw)
    if context.execution_options.get(OPTION) and not _returns(context):
        queue.append((statement, parameters, many))
        return True  # not sent: SQLAlchemy sees a DML result without rows
    begin = raw.pgconn.transaction_status == _IDLE and _plain_begin(raw)
    if not (queue or begin):
        return False  # nothing to take along: psycopg's own execute
    try:
        if begin:
            raw.autocommit = True  # before the pipeline: inside, psycopg's setter syncs it
        with raw.pipeline():
            if begin:
                _begin(raw)
            _flush(raw, queue)
            if many:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
    finally:
        if begin:
            raw._autocommit = False
    return True


def _returns(context) -> bool:
    # e.g. a one-row INSERT, to which SQLAlchemy adds RETURNING for its primary key unless
    # the statement is `inline()`: its result is read at once, so it is sent at once
    return bool(getattr(context.compiled, "effective_returning", None))


def _plain_begin(raw) -> bool:
    # A plain BEGIN (no isolation level or read-only mode asked of psycopg), and psycopg's
    # private autocommit flag where `_begin` expects it (psycopg 3.1-3.3)
    return raw.isolation_level is None and raw.read_only is None and hasattr(raw, "_autocommit")


def _begin(raw) -> None:
    """Queue the transaction's BEGIN in the pipeline, before its first statement.

    psycopg 3.3 sends its own BEGIN and then waits for it even in pipeline mode (a round trip
    of its own), unless the connection is in autocommit mode. So the pipeline runs in
    autocommit mode and sends BEGIN itself; `_send` then turns autocommit off again through
    psycopg's private flag (the public setter refuses inside a transaction), and psycopg, which
    reads the transaction's status from the server's answers, carries on in the transaction
    as if it had begun it."""
    with raw.cursor() as cur:
        cur.execute(b"BEGIN")


def _flush(raw, queue: list) -> None:
    if not queue:
        return
    items = list(queue)
    queue.clear()
    with raw.cursor() as cur:
        for statement, parameters, many in items:
            if many:
                cur.executemany(statement, parameters)
            else:
                cur.execute(statement, parameters)


def _commit(dialect, connection) -> None:
    # `connection`: the pool's proxy of the psycopg connection
    raw = connection.driver_connection
    queue = getattr(raw, QUEUE, None)
    if not queue:
        connection.commit()
        return
    # COMMIT as a statement of the pipeline: Connection.commit() inside a pipeline syncs by
    # itself and the pipeline's exit syncs again, two round trips. psycopg takes the
    # transaction's state from the server's answer, so its commit() below finds nothing open.
    with raw.pipeline():
        _flush(raw, queue)
        with raw.cursor() as cur:
            cur.execute("COMMIT")
    connection.commit()
