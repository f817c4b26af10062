"""Migration 0009 gives the agreement its termination date and reason and links terminations to
their handoffs; it upgrades from 0008 and downgrades again, on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from workflows import migrate
from workflows.db import normalise_url


def _schema(url: str) -> tuple[set[str], set[str]]:
    engine = create_engine(normalise_url(url))
    try:
        found = inspect(engine)
        columns = {c["name"] for c in found.get_columns("agreement")}
        return columns, set(found.get_table_names())
    finally:
        engine.dispose()


def test_0009_up_and_down(fresh_database):
    migrate.upgrade(fresh_database, "0008")
    columns, tables = _schema(fresh_database)
    assert "terminated_at" not in columns and "handoff_termination" not in tables
    migrate.upgrade(fresh_database, "0009")
    columns, tables = _schema(fresh_database)
    assert {"terminated_at", "termination_reason"} <= columns
    assert "handoff_termination" in tables
    command.downgrade(migrate.alembic_config(fresh_database), "0008")
    columns, tables = _schema(fresh_database)
    assert "terminated_at" not in columns and "handoff_termination" not in tables
