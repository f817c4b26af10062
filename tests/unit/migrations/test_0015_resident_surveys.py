"""Migration 0015 adds the resident surveys, their ratings and the score's weights; it upgrades
from empty and from 0014 and downgrades again, on both databases, and its constraints hold:
one rating per device and day, scores 1–5, weights adding up to 100."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from workflows import migrate
from workflows.db import normalise_url

TABLES = {"resident_survey", "resident_rating", "evaluation_weights"}


def _tables(url: str) -> set[str]:
    engine = create_engine(normalise_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_0015_up_and_down(fresh_database):
    migrate.upgrade(fresh_database, "0014")
    assert not TABLES & _tables(fresh_database)
    migrate.upgrade(fresh_database, "0015")
    assert TABLES <= _tables(fresh_database)
    command.downgrade(migrate.alembic_config(fresh_database), "0014")
    assert not TABLES & _tables(fresh_database)
    migrate.upgrade(fresh_database)
    assert TABLES <= _tables(fresh_database)


def test_0015_constraints(fresh_database):
    migrate.upgrade(fresh_database, "0015")
    engine = create_engine(normalise_url(fresh_database))
    now = "2026-05-01 08:00:00"
    try:
        with engine.begin() as c:
            c.execute(
                text("INSERT INTO org_unit (id, code, name, kind) VALUES (1, 'D', 'd', 'district')")
            )
            c.execute(
                text(
                    "INSERT INTO process_definition (id, key, name, version, content_hash, "
                    "bpmn_xml, deployed_at, suspended) VALUES (1, 'p', 'p', 1, 'h', '<x/>', "
                    f"'{now}', false)"
                )
            )
            c.execute(
                text(
                    "INSERT INTO process_instance (id, definition_id, status, title, scope, "
                    f"state, created_at, updated_at, lock_version) VALUES (1, 1, 'running', 't', "
                    f"'{{}}', '{{}}', '{now}', '{now}', 0)"
                )
            )
            c.execute(
                text(
                    "INSERT INTO resident_survey (id, instance_id, token, opened_at, days, "
                    f"closes_at) VALUES (1, 1, 'tok', '{now}', 7, '{now}')"
                )
            )
        rating = (
            "INSERT INTO resident_rating (survey_id, day, device_hash, address_hash, "
            "fresh_device, score, comment, created_at) VALUES (1, '2026-05-01', :device, 'a', "
            f"false, :score, '', '{now}')"
        )
        with engine.begin() as c:
            c.execute(text(rating), {"device": "d1", "score": 5})
        for device, score in (("d1", 4), ("d2", 6), ("d3", 0)):  # twice a day; out of 1–5
            with pytest.raises(IntegrityError), engine.begin() as c:
                c.execute(text(rating), {"device": device, "score": score})
        weights = (
            "INSERT INTO evaluation_weights (category, street, department, residents, "
            f"updated_at) VALUES (:c, :s, :d, :r, '{now}')"
        )
        with engine.begin() as c:
            c.execute(text(weights), {"c": "assisted", "s": 30, "d": 10, "r": 60})
        for s, d, r in ((30, 10, 50), (110, -10, 0)):
            with pytest.raises(IntegrityError), engine.begin() as c:
                c.execute(text(weights), {"c": "unlisted", "s": s, "d": d, "r": r})
    finally:
        engine.dispose()
