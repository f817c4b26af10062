"""Many rows of one table in one PostgreSQL statement whose text never changes.

SQLAlchemy writes many rows either as `executemany` (psycopg then sends one Bind and Execute
per row: about 12 µs of client CPU a row, and the server's per-statement cost each time) or as
one INSERT with a VALUES list (its text grows with the rows, so it is compiled by SQLAlchemy and
parsed by psycopg anew for each count: a fan-out's 39 instance rows cost about 10 ms). Here the
rows go as ONE JSON parameter that `json_populate_recordset` turns into rows of the table's own
type: the text depends only on the table (and for an UPDATE on its columns), so it is built,
parsed and prepared once. One row still goes as SQLAlchemy's own prepared statement, which costs
the server less than reading JSON.

Values are converted as SQLAlchemy would bind them (a TypeDecorator's `process_bind_param`), then
written as JSON (datetimes and dates in ISO 8601, which PostgreSQL casts back exactly). Columns a
row leaves out get their Python-side defaults, as a Core INSERT would give them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Table, TextClause, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def supported(dialect: Dialect) -> bool:
    return dialect.name == "postgresql"


def autoincrement_key(table: Table) -> Column | None:
    """The table's integer primary key that the database numbers, if it has one."""
    (pk, *more) = table.primary_key.columns
    return pk if not more and table.autoincrement_column is pk else None


@lru_cache(maxsize=64)
def insert_statement(table: Table, dialect: Dialect, returning: bool = True) -> TextClause:
    """INSERT of the rows of `rows` (`params`); `returning`: with RETURNING of the ids the
    database numbers. The rows go in in the order of the JSON array, so the sequence numbers
    them in that order (the assumption SQLAlchemy's own `insertmanyvalues` makes on
    PostgreSQL): the caller sorts the returned ids to match them to its rows."""
    pk = autoincrement_key(table)
    q = dialect.identifier_preparer
    names = ", ".join(q.quote(c.name) for c in table.columns if c is not pk)
    back = f" RETURNING {q.quote(pk.name)}" if returning and pk is not None else ""
    return text(
        f"INSERT INTO {q.format_table(table)} ({names}) SELECT {names} "
        f"FROM json_populate_recordset(NULL::{q.format_table(table)}, CAST(:rows AS json)) "
        f"WITH ORDINALITY AS r ORDER BY r.ordinality{back}"
    )


@lru_cache(maxsize=256)
def update_statement(table: Table, dialect: Dialect, columns: tuple[str, ...]) -> TextClause:
    """UPDATE by primary key of each row of `rows`, setting `columns` (column keys)."""
    q = dialect.identifier_preparer
    name = q.format_table(table)
    sets = ", ".join(f"{q.quote(table.c[k].name)} = r.{q.quote(table.c[k].name)}" for k in columns)
    where = " AND ".join(f"t.{q.quote(c.name)} = r.{q.quote(c.name)}" for c in table.primary_key)
    return text(
        f"UPDATE {name} AS t SET {sets} "
        f"FROM json_populate_recordset(NULL::{name}, CAST(:rows AS json)) AS r WHERE {where}"
    )


def params(table: Table, dialect: Dialect, rows: list[dict[str, Any]], *, fill: bool) -> dict:
    """The statement's one parameter: the rows (by column key) as a JSON array. `fill`: give
    the columns a row leaves out their defaults (an INSERT; an UPDATE names its columns)."""
    if fill:
        rows = filled(table, rows)
    out = [
        {c.name: _json_value(c, row[c.key], dialect) for c in table.columns if c.key in row}
        for row in rows
    ]
    return {"rows": json.dumps(out, ensure_ascii=False, default=_json_default)}


def filled(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with every column but a database-numbered key, those left out at their
    defaults: what a Core INSERT would store (and the same keys in every row, as SQLAlchemy's
    executemany needs)."""
    pk = autoincrement_key(table)
    columns = [c for c in table.columns if c is not pk]
    return [{c.key: row[c.key] if c.key in row else default(c) for c in columns} for row in rows]


def default(column: Column) -> Any:
    """A column's Python-side default, as a Core INSERT would give it; refused when only the
    database knows it."""
    spec = column.default
    if spec is None:
        if column.server_default is not None:
            raise ValueError(f"{column} has a server default, unknown before the INSERT")
        return None
    if spec.is_scalar:
        return spec.arg
    if spec.is_callable:
        # SQLAlchemy 2.x wraps a callable default to take the execution context; the
        # models' defaults (utcnow, dict) do not read it
        return spec.arg(None)
    raise ValueError(f"{column}'s default is computed by the database, unknown before the INSERT")


def _json_value(column: Column, value: Any, dialect: Dialect) -> Any:
    if value is not None and isinstance(column.type, TypeDecorator):
        value = column.type.process_bind_param(value, dialect)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not storable as JSON: {type(value).__name__}")
