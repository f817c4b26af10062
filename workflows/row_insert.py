"""New ORM rows written by one Core INSERT ... RETURNING their ids, not by the session's flush.

The ORM's unit of work took about 1 ms of CPU to insert a completion's one or two task rows
(SQLAlchemy 2.1: per-object state and history bookkeeping, the dependency sort, the mapper's
INSERT batches). One Core INSERT of the rows' column values does the same write for a fraction
of that; the rows then join the session as persistent, every column loaded, as if flushed.

Only for rows whose column values are all known in Python: a column with a server-side default
or a sequence other than the primary key's is refused, as its value would be unknown here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Table, insert, inspect
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached


def insert_rows(session: Session, rows: list) -> None:
    """INSERT these new (transient) objects of one mapped class in one statement, in the
    session's transaction, and make them persistent in it with their ids."""
    if not rows:
        return
    mapper: Mapper = inspect(rows[0]).mapper
    (pk,) = mapper.primary_key
    pk_key = mapper.get_property_by_column(pk).key
    params = [_values(mapper, row, pk) for row in rows]
    statement = _statement(mapper.local_table)
    # on the connection: the ORM would flush the session's pending rows first
    result = session.connection().execute(statement, params if len(params) > 1 else params[0])
    ids = result.scalars().all()
    for row, row_id in zip(rows, ids, strict=True):
        setattr(row, pk_key, row_id)
        # every column is set: none is left expired (which would cost a SELECT on access);
        # the relationships stay unloaded and load as they would after a flush
        make_transient_to_detached(row)
        session.add(row)


@lru_cache(maxsize=32)
def _statement(table: Table) -> Insert:
    (pk,) = table.primary_key.columns
    # sort_by_parameter_order: the ids come back in the order of the rows, however
    # SQLAlchemy batches them ("insertmanyvalues", one multi-row INSERT per batch)
    return insert(table).returning(pk, sort_by_parameter_order=True)


def _values(mapper: Mapper, row, pk) -> dict[str, Any]:
    values: dict[str, Any] = {}
    state = inspect(row)
    if not state.transient:
        raise ValueError(f"{row!r} is not a new row")
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if column is pk:
            continue
        if prop.key in state.dict:
            value = state.dict[prop.key]
        else:
            value = _default(column)
            setattr(row, prop.key, value)
        values[column.key] = value
    return values


def _default(column) -> Any:
    default = column.default
    if default is None:
        if column.server_default is not None:
            raise ValueError(f"{column} has a server default, unknown before the INSERT")
        return None
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        # SQLAlchemy 2.x wraps a callable default to take the execution context; the
        # models' defaults (utcnow and the like) do not read it
        return default.arg(None)
    raise ValueError(f"{column}'s default is computed by the database, unknown before the INSERT")
