"""Migration 0009 gives the agreement its termination date and reason and links terminations to
their handoffs; it upgrades from 0008 and downgrades again, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from tests.conftest import _fresh_postgres_database, _postgres_url
from workflows import migrate
from workflows.db import normalise_url


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    base = _postgres_url()
    if not base:
        pytest.skip("no PostgreSQL (run scripts/test)")
    return _fresh_postgres_database(base)


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
