"""A database of its own for each migration test, empty, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import _fresh_postgres_database, _postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    base = _postgres_url()
    if not base:
        pytest.skip("no PostgreSQL (run scripts/test)")
    return _fresh_postgres_database(base)
