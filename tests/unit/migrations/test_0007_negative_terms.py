"""Migration 0007 gives catalog items their terms: an empty list by default, the demo catalog's
negative-list entries their terms (matched by code and name); from empty and from 0006, on both
databases."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from handoff import demo
from workflows import migrate
from workflows.db import normalise_url


def _terms(conn) -> list[tuple[tuple[str, str], list[str]]]:
    rows = conn.execute(text("SELECT code, name, terms FROM catalog_item ORDER BY id"))
    return [
        ((code, name), terms if isinstance(terms, list) else json.loads(terms))
        for code, name, terms in rows
    ]


def test_an_empty_database_upgrades_and_new_rows_have_no_terms(fresh_database):
    migrate.upgrade(fresh_database)
    engine = create_engine(normalise_url(fresh_database))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO catalog_item (code, name, category, legal_basis, active) "
                "VALUES ('X01', '某事项', 'assisted', '', true)"
            )
        )
        assert _terms(conn) == [(("X01", "某事项"), [])]
    engine.dispose()


def test_a_database_at_0006_gets_the_demo_terms_by_code_and_name(fresh_database):
    migrate.upgrade(fresh_database, "0006")
    engine = create_engine(normalise_url(fresh_database))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO catalog_item (code, name, category, legal_basis, active, "
                "effective_from) VALUES "
                "('N01', '招商引资任务指标', 'negative', '', true, NULL), "
                "('N01', '招商引资任务指标', 'negative', '', false, '2027-01-01'), "
                "('N04', '本区自定的另一个事项', 'negative', '', true, NULL), "
                "('A01', '最低生活保障对象入户调查与动态管理', 'assisted', '', true, NULL)"
            )
        )
    migrate.upgrade(fresh_database)
    with engine.connect() as conn:
        terms = _terms(conn)
    engine.dispose()
    seeded = {row["code"]: row.get("terms", []) for row in demo.load("catalog.json")["items"]}
    assert terms == [
        (("N01", "招商引资任务指标"), seeded["N01"]),
        (("N01", "招商引资任务指标"), seeded["N01"]),  # every entry of the code
        (("N04", "本区自定的另一个事项"), []),  # a catalog of one's own is left alone
        (("A01", "最低生活保障对象入户调查与动态管理"), []),
    ]
    assert seeded["N01"] == ["招商引资", "招商"]
