"""Every API request checks its token inside its own transaction, with one statement, and
without pinging the pooled connection first; a connection that died in the pool is replaced
and the request answered, not failed."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from workflows import accounts

PASSWORD = "demo-pass-2026"


def _token(client, username: str = "street.rg") -> str:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["token"]


class Statements:
    """What the app's engines send, in order (BEGIN/COMMIT/ROLLBACK included)."""

    def __init__(self, database) -> None:
        self.sent: list[str] = []
        for engine in {database.engine, database.write_engine}:
            event.listen(engine, "before_cursor_execute", self._statement)
            event.listen(engine, "begin", lambda _c: self.sent.append("BEGIN"))
            event.listen(engine, "commit", lambda _c: self.sent.append("COMMIT"))
            event.listen(engine, "rollback", lambda _c: self.sent.append("ROLLBACK"))

    def _statement(self, _conn, _cursor, statement, *_args) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: counted as BEGIN
            self.sent.append(statement)


def test_a_read_checks_its_token_in_its_own_transaction_with_one_statement(app):
    client = app.test_client()
    headers = {"Authorization": "Bearer " + _token(client)}
    client.get("/api/v1/tasks", headers=headers)  # warm: the pool has its connection
    wire = Statements(app.extensions["db"])
    resp = client.get("/api/v1/tasks?per_page=5", headers=headers)
    assert resp.status_code == 200
    # one transaction for the whole request, the token first, in one statement; a read ends
    # with COMMIT (psycopg drops its prepared statements at a ROLLBACK)
    assert wire.sent[0] == "BEGIN" and wire.sent[-1] == "COMMIT"
    assert wire.sent.count("BEGIN") == 1
    assert "api_token" in wire.sent[1] and "membership" in wire.sent[1]
    assert not any("api_token" in s for s in wire.sent[2:])
    assert not any(s.strip().upper() == "SELECT 1" for s in wire.sent)  # no ping


def test_a_revoked_token_is_refused_at_the_next_request(app, db):
    client = app.test_client()
    token = _token(client)
    headers = {"Authorization": "Bearer " + token}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    with db.write() as session:
        assert accounts.revoke_token(session, token)
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401


def test_a_deactivated_user_is_refused_at_the_next_request(app, db):
    client = app.test_client()
    headers = {"Authorization": "Bearer " + _token(client, "committee.rg01")}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    try:
        with db.write() as session:
            session.execute(
                text("UPDATE user_account SET is_active = false WHERE username = 'committee.rg01'")
            )
        assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    finally:
        with db.write() as session:
            session.execute(
                text("UPDATE user_account SET is_active = true WHERE username = 'committee.rg01'")
            )


def test_a_connection_that_died_in_the_pool_is_replaced_and_the_request_answered(app, backend):
    if backend != "postgresql":
        pytest.skip("PostgreSQL: a server that drops its connections (SQLite has none)")
    database = app.extensions["db"]
    client = app.test_client()
    headers = {"Authorization": "Bearer " + _token(client)}
    for _ in range(2):
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    # the server ends the app's pooled connection while it sits idle in the pool
    with database.engine.connect() as conn:
        (pid,) = conn.execute(text("SELECT pg_backend_pid()")).one()
    admin = create_engine(database.url, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    finally:
        admin.dispose()
    # reads and writes both answer: the dead connection fails at the token check, first
    # statement of the request, and the request runs again on a new one
    resp = client.get("/api/v1/tasks", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    resp = client.post("/api/v1/tasks/999999999/claim", headers=headers)
    assert resp.status_code == 404, resp.get_json()
