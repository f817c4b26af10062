"""Migration 0005 carries a live database over: the handoff's request links move into
handoff_instance, business keys and starters are filled in, roles are seeded; both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import _fresh_postgres_database, _postgres_url
from workflows import migrate
from workflows.db import normalise_url

NOW = "2026-09-01 02:00:00"
ROWS = [
    "INSERT INTO org_unit (id, code, name, kind) VALUES (1, 'D', '区', 'district')",
    "INSERT INTO org_unit (id, code, name, kind, parent_id) VALUES "
    "(2, 'D-MZ', '民政', 'department', 1), (3, 'D-S', '街道', 'street', 1), "
    "(4, 'D-S-1', '社区', 'community', 3)",
    "INSERT INTO user_account (id, username, display_name, password_hash, is_active, "
    f"failed_logins, created_at) VALUES (7, 'dept', '部门', 'x', true, 0, '{NOW}')",
    "INSERT INTO process_definition (id, key, name, version, content_hash, bpmn_xml, deployed_at) "
    f"VALUES (1, 'handoff', 'h', 1, 'abc', '<x/>', '{NOW}')",
    "INSERT INTO handoff_request (id, number, department_id, item_name, item_category, title, "
    "description, legal_basis, amount_fen, created_by_id, created_at) VALUES "
    f"(5, 'REQ-2026-000005', 2, '', 'assisted', '调查', '', '', 100, 7, '{NOW}')",
    "INSERT INTO process_instance (id, definition_id, request_id, community_id, status, title, "
    "scope, state, lock_version, created_at, updated_at) VALUES (9, 1, 5, 4, 'running', 't', "
    f"'{{}}', '{{}}', 0, '{NOW}', '{NOW}')",
    "INSERT INTO task (id, spiff_id, instance_id, request_id, process_key, key, name, title, "
    "role, org_unit_id, status, created_at) VALUES (11, 's1', 9, 5, 'handoff', 'street_review', "
    f"'审核', 't', 'street_office', 3, 'open', '{NOW}')",
    "INSERT INTO audit_event (id, at, action, request_id, detail) VALUES "
    f"(13, '{NOW}', 'request.created', 5, '{{}}')",
    "INSERT INTO catalog_item (id, code, name, category, legal_basis, active) VALUES "
    "(1, 'A01', '低保', 'assisted', '', true)",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite3'}"
    base = _postgres_url()
    if not base:
        pytest.skip("no PostgreSQL (run scripts/test)")
    return _fresh_postgres_database(base)


def test_a_database_at_0003_upgrades_with_its_handoffs(old_database):
    migrate.upgrade(old_database, "0003")
    engine = create_engine(normalise_url(old_database))
    with engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement))
    migrate.upgrade(old_database)
    with engine.connect() as conn:
        link = conn.execute(text("SELECT * FROM handoff_instance")).mappings().all()
        instance = conn.execute(
            text("SELECT business_key, started_by_id FROM process_instance")
        ).one()
        task_key = conn.execute(text("SELECT business_key FROM task")).scalar()
        audit_key = conn.execute(text("SELECT business_key FROM audit_event")).scalar()
        roles = set(conn.execute(text("SELECT key FROM role")).scalars())
        item = conn.execute(
            text("SELECT effective_from, funding_standard_fen FROM catalog_item")
        ).one()
        suspended = conn.execute(text("SELECT suspended FROM process_definition")).scalar()
    engine.dispose()
    assert [dict(r) for r in link] == [{"instance_id": 9, "request_id": 5, "community_id": 4}]
    assert tuple(instance) == ("REQ-2026-000005", 7)
    assert task_key == audit_key == "REQ-2026-000005"
    assert roles == {
        "department",
        "street_office",
        "district_reviewer",
        "committee",
        "finance",
        "admin",
    }
    assert tuple(item) == (None, 0)
    assert not suspended
