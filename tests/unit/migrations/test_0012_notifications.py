"""Migration 0012 adds the outbox, webhooks, preferences and scan marks and the users' e-mail
address; it upgrades from empty and from 0011 and downgrades again, on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from workflows import migrate
from workflows.db import normalise_url

TABLES = {
    "notification",
    "notification_key",
    "notification_preference",
    "notification_scan",
    "webhook",
}


def _schema(url: str) -> tuple[set[str], set[str]]:
    engine = create_engine(normalise_url(url))
    try:
        found = inspect(engine)
        columns = {c["name"] for c in found.get_columns("user_account")}
        return columns, set(found.get_table_names())
    finally:
        engine.dispose()


def test_0012_up_and_down(fresh_database):
    migrate.upgrade(fresh_database, "0011")
    columns, tables = _schema(fresh_database)
    assert "email" not in columns and not TABLES & tables
    migrate.upgrade(fresh_database, "0012")
    columns, tables = _schema(fresh_database)
    assert "email" in columns and TABLES <= tables
    command.downgrade(migrate.alembic_config(fresh_database), "0011")
    columns, tables = _schema(fresh_database)
    assert "email" not in columns and not TABLES & tables
    migrate.upgrade(fresh_database)  # and to head again, from empty tables
    assert TABLES <= _schema(fresh_database)[1]
