"""Migration 0011 adds the worker heartbeat table; it upgrades from 0010 and downgrades again, on
both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from workflows import migrate
from workflows.db import normalise_url


def _tables(url: str) -> dict[str, set[str]]:
    engine = create_engine(normalise_url(url))
    try:
        found = inspect(engine)
        return {t: {c["name"] for c in found.get_columns(t)} for t in found.get_table_names()}
    finally:
        engine.dispose()


def test_0011_up_and_down(fresh_database):
    migrate.upgrade(fresh_database, "0010")
    assert "worker_heartbeat" not in _tables(fresh_database)
    migrate.upgrade(fresh_database, "0011")
    assert _tables(fresh_database)["worker_heartbeat"] == {
        "name",
        "kind",
        "started_at",
        "last_seen",
    }
    command.downgrade(migrate.alembic_config(fresh_database), "0010")
    assert "worker_heartbeat" not in _tables(fresh_database)
