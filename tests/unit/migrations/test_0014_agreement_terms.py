"""Migration 0014 gives org units their legal name and requests their agreement terms, and adds
the agreement templates seeded with the defaults of every category; it upgrades from empty and
from 0013 and downgrades again, on both databases."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import create_engine, inspect, text

from handoff import agreement_templates
from workflows import migrate
from workflows.db import normalise_url


def _schema(url: str) -> tuple[set[str], set[str], set[str]]:
    engine = create_engine(normalise_url(url))
    try:
        found = inspect(engine)
        units = {c["name"] for c in found.get_columns("org_unit")}
        requests = {c["name"] for c in found.get_columns("handoff_request")}
        return units, requests, set(found.get_table_names())
    finally:
        engine.dispose()


def _templates(url: str) -> dict[str, dict]:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT category, clauses FROM agreement_template"))
            # (SQLite answers JSON as its text)
            return {c: v if isinstance(v, dict) else json.loads(v) for c, v in rows}
    finally:
        engine.dispose()


def test_0014_up_and_down(fresh_database):
    migrate.upgrade(fresh_database, "0013")
    units, requests, tables = _schema(fresh_database)
    assert "legal_name" not in units and "terms" not in requests
    assert "agreement_template" not in tables
    migrate.upgrade(fresh_database, "0014")
    units, requests, tables = _schema(fresh_database)
    assert "legal_name" in units and "terms" in requests and "agreement_template" in tables
    # every category a request can have, with the clauses the code holds as its defaults
    assert _templates(fresh_database) == agreement_templates.DEFAULTS
    command.downgrade(migrate.alembic_config(fresh_database), "0013")
    units, requests, tables = _schema(fresh_database)
    assert "legal_name" not in units and "terms" not in requests
    assert "agreement_template" not in tables
    migrate.upgrade(fresh_database)  # and to head again
    assert set(_templates(fresh_database)) == set(agreement_templates.CATEGORIES)
