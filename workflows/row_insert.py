"""New ORM rows written by one Core INSERT ... RETURNING their ids, not by the session's flush.

The ORM's unit of work took about 1 ms of CPU to insert a completion's one or two task rows
(SQLAlchemy 2.1: per-object state and history bookkeeping, the dependency sort, the mapper's
INSERT batches). One INSERT of the rows' column values does the same write for a fraction of
that (on PostgreSQL the constant statement of `json_rows`, whatever the number of rows); the rows
then join the session as persistent, every column loaded, as if flushed.

Only for rows whose column values are all known in Python: a column with a server-side default
or a sequence other than the primary key's is refused, as its value would be unknown here; so
is a row that names a related row by its relationship rather than by its foreign key column.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Table, insert, inspect
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached

from . import json_rows


def insert_rows(session: Session, rows: list) -> None:
    """INSERT these new (transient) objects of one mapped class in one statement, in the
    session's transaction, and make them persistent in it with their ids."""
    if not rows:
        return
    mapper: Mapper = inspect(rows[0]).mapper
    table = mapper.local_table
    pk = json_rows.autoincrement_key(table)
    if pk is None:
        raise ValueError(f"{table.name}'s key is not numbered by the database")
    pk_key = mapper.get_property_by_column(pk).key
    values = [_values(mapper, row, pk) for row in rows]
    conn = session.connection()  # not the session's execute: it would flush pending rows first
    if len(values) > 1 and json_rows.supported(conn.dialect):  # one row: a prepared INSERT
        statement = json_rows.insert_statement(table, conn.dialect)
        rows_param = json_rows.params(table, conn.dialect, values, fill=False)
        ids = sorted(conn.execute(statement, rows_param).scalars())  # in the rows' order
    else:
        ids = conn.execute(_statement(table), values if len(values) > 1 else values[0])
        ids = ids.scalars().all()
    for row, row_id in zip(rows, ids, strict=True):
        setattr(row, pk_key, row_id)
        # every column is set: none is left expired (which would cost a SELECT on access);
        # the relationships stay unloaded and load as they would after a flush
        make_transient_to_detached(row)
        session.add(row)


@lru_cache(maxsize=32)
def _statement(table: Table) -> Insert:
    pk = json_rows.autoincrement_key(table)
    # sort_by_parameter_order: the ids come back in the order of the rows (SQLite gets them
    # one by one from SQLAlchemy, in process)
    return insert(table).returning(pk, sort_by_parameter_order=True)


def _values(mapper: Mapper, row, pk) -> dict[str, Any]:
    values: dict[str, Any] = {}
    state = inspect(row)
    if not state.transient:
        raise ValueError(f"{row!r} is not a new row")
    for prop in mapper.relationships:
        if state.dict.get(prop.key):  # its foreign key column would be left unset
            raise ValueError(f"{row!r}: set {prop.key}'s foreign key, not the relationship")
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if column is pk:
            continue
        if prop.key in state.dict:
            value = state.dict[prop.key]
        else:
            value = json_rows.default(column)
            setattr(row, prop.key, value)
        values[column.key] = value
    return values
