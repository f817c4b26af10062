"""Accounts and the audit trail, on SQLite and PostgreSQL: tokens expire and can be revoked,
passwords are Argon2id hashes, sign-in is throttled, production refuses unsafe settings, and the
audit log is append-only and names the actor of every state change.

Most tests drive the API in process (Flask's test client on the migrated and seeded test
database); the throttling race needs the real multi-worker server.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from datetime import timedelta

import pytest
import requests
from argon2 import PasswordHasher
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from handoff import demo
from handoff.models import LedgerEntry, Signature
from handoff.requests import today as handoff_today
from server import create_app
from server.security import UnsafeConfiguration
from workflows import accounts, audit, clock, throttle
from workflows.db import Database
from workflows.models import ApiToken, AuditEvent, LoginThrottle, OrgUnit, Task, User

PASSWORD = demo.demo_password()
STRONG_SECRET = "s3cret-" + "k" * 40


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": STRONG_SECRET, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


class Api:
    """The JSON API through the test client, signed in as one user."""

    def __init__(self, app, username: str | None = None, password: str = PASSWORD):
        self.client = app.test_client()
        self.token = None
        if username:
            r = sign_in(self.client, username, password)
            assert r.status_code == 200, r.get_json()
            self.token = r.get_json()["token"]

    def _headers(self, token=None):
        token = token or self.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path, token=None, **kw):
        return self.client.get("/api/v1" + path, headers=self._headers(token), **kw)

    def post(self, path, json=None, token=None):
        return self.client.post("/api/v1" + path, json=json, headers=self._headers(token))

    def patch(self, path, json=None):
        return self.client.patch("/api/v1" + path, json=json, headers=self._headers())

    def inbox(self, **params):
        r = self.get("/tasks", query_string={"per_page": 200, **params})
        assert r.status_code == 200, r.get_json()
        return r.get_json()["items"]

    def only(self, key: str, instance_id: int) -> dict:
        tasks = [t for t in self.inbox(key=key) if t["instance_id"] == instance_id]
        assert len(tasks) == 1, (key, tasks)
        return tasks[0]

    def complete(self, task_id: int, data: dict) -> dict:
        r = self.post(f"/tasks/{task_id}/complete", {"data": data})
        assert r.status_code == 200, r.get_json()
        return r.get_json()


def sign_in(client, username: str, password: str):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


# --- tokens ---------------------------------------------------------------------------------


def test_tokens_expire_after_their_time_to_live(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": STRONG_SECRET, "TOKEN_TTL_HOURS": 1})
    try:
        api = Api(app, "street.rg")
        assert api.get("/me").status_code == 200
        clock.advance(timedelta(minutes=59))
        assert api.get("/me").status_code == 200
        clock.advance(timedelta(minutes=2))
        r = api.get("/me")
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        assert r.get_json()["error"]["code"] == "unauthorized"
        # a fresh sign-in works again
        assert Api(app, "street.rg").get("/me").status_code == 200
    finally:
        app.extensions["db"].dispose()


def test_a_token_past_its_expiry_in_the_database_is_refused(app, db):
    api = Api(app, "dept.mz")
    assert api.get("/me").status_code == 200
    digest = hashlib.sha256(api.token.encode()).hexdigest()
    with db.write() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == digest)
            .values(expires_at=clock.now() - timedelta(seconds=1))
        )
    assert api.get("/me").status_code == 401
    assert api.get("/tasks").status_code == 401


def test_revoked_tokens_are_refused_and_the_others_live_on(app, db):
    first, second = Api(app, "finance"), Api(app, "finance")
    assert first.post("/auth/revoke").status_code == 204
    assert first.get("/me").status_code == 401
    assert first.post("/auth/revoke").status_code == 401  # gone for good
    assert second.get("/me").status_code == 200
    with db.read() as session:
        rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        assert [r.revoked_at is not None for r in rows] == [True, False]
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions.count("auth.token_revoked") == 1


def test_tokens_are_stored_only_as_digests(app, db):
    api = Api(app, "reviewer")
    with db.read() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert stored == [hashlib.sha256(api.token.encode()).hexdigest()]
    assert api.token not in stored and len(api.token) >= 40


@pytest.mark.parametrize(
    "header",
    [
        "Bearer forged-token",
        "Bearer ",
        "Basic YWRtaW46ZGVtby1wYXNzLTIwMjY=",
        "bearer " + "x" * 5000,
        "Token abc",
        "",
    ],
)
def test_forged_or_malformed_credentials_are_a_401(app, header):
    r = app.test_client().get("/api/v1/me", headers={"Authorization": header})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"


def test_a_new_password_or_a_disabled_account_ends_every_session(app, db):
    admin = Api(app, "admin")
    user = Api(app, "committee.xl01")
    other_session = Api(app, "committee.xl01")
    r = admin.patch("/users/committee.xl01", {"password": "a-brand-new-password"})
    assert r.status_code == 200
    assert user.get("/me").status_code == 401 and other_session.get("/me").status_code == 401
    fresh = Api(app, "committee.xl01", "a-brand-new-password")
    assert fresh.get("/me").status_code == 200
    assert admin.patch("/users/committee.xl01", {"is_active": False}).status_code == 200
    assert fresh.get("/me").status_code == 401
    assert sign_in(app.test_client(), "committee.xl01", "a-brand-new-password").status_code == 401
    with db.write() as session:  # put the demo account back as it was for the other tests
        row = session.scalar(select(User).where(User.username == "committee.xl01"))
        row.is_active, row.password_hash = True, accounts.hash_password(PASSWORD)


# --- passwords ------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes(app, db):
    with db.read() as session:
        users = session.scalars(select(User)).all()
    assert len(users) > 50
    for user in users:
        assert user.password_hash.startswith("$argon2id$v=19$"), user.username
        assert PASSWORD not in user.password_hash
        params = dict(p.split("=") for p in user.password_hash.split("$")[3].split(","))
        # OWASP's floor for Argon2id: 19 MiB, 2 iterations
        assert int(params["m"]) >= 19456 and int(params["t"]) >= 2, params
    assert len({u.password_hash for u in users}) == len(users)  # salted: all different
    admin_row = next(u for u in users if u.username == "admin")  # other tests add users
    assert PasswordHasher().verify(admin_row.password_hash, PASSWORD)
    admin = Api(app, "admin")
    created = admin.post(
        "/users",
        {"username": "hash.check", "display_name": "哈希", "password": "correct horse battery"},
    )
    assert created.status_code == 201
    with db.read() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "hash.check"))
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    with db.write() as session:
        session.execute(text("DELETE FROM user_account WHERE username = 'hash.check'"))


# --- throttling -----------------------------------------------------------------------------


def from_address(client, address: str, username: str, password: str):
    return client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_guessing_one_name_slows_that_address_down_and_locks_nobody_out(app, db):
    client = app.test_client()
    guesser = "203.0.113.7"
    for attempt in range(throttle.PAIR_FREE):
        r = from_address(client, guesser, "committee.xl02", f"wrong-{attempt}")
        assert r.status_code == 401, attempt
    waiting = from_address(client, guesser, "committee.xl02", PASSWORD)  # right, but must wait
    assert waiting.status_code == 429
    assert waiting.get_json()["error"]["code"] == "throttled"
    assert 29 <= int(waiting.headers["Retry-After"]) <= 30
    # the user signs in from their own address all the while: nobody is locked out
    assert from_address(client, "198.51.100.20", "committee.xl02", PASSWORD).status_code == 200
    # the delay grows: after the wait, one more wrong password waits twice as long
    clock.advance(timedelta(seconds=31))
    assert from_address(client, guesser, "committee.xl02", "wrong-again").status_code == 401
    again = from_address(client, guesser, "committee.xl02", PASSWORD)
    assert again.status_code == 429 and 59 <= int(again.headers["Retry-After"]) <= 60
    clock.advance(timedelta(seconds=61))
    assert from_address(client, guesser, "committee.xl02", PASSWORD).status_code == 200
    with db.read() as session:
        user = session.scalar(select(User).where(User.username == "committee.xl02"))
        failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.failed")).all()
        assert len(failed) == throttle.PAIR_FREE + 1
        assert {e.actor_id for e in failed} == {user.id}
        # the right password started the name's count again; the address keeps its own
        keys = set(session.scalars(select(LoginThrottle.key)))
        assert keys == {f"a:{guesser}"}
    # another user was never affected, from anywhere
    assert from_address(client, guesser, "committee.xl03", PASSWORD).status_code == 200


def test_unknown_and_known_names_answer_alike(app, db):
    client = app.test_client()
    answers = {}
    for name in ("committee.xl04", "no-such-user"):
        address = f"192.0.2.{len(answers) + 1}"
        answers[name] = [
            from_address(client, address, name, f"wrong-{i}").status_code for i in range(7)
        ]
    assert answers["committee.xl04"] == answers["no-such-user"] == [401] * 5 + [429] * 2


def test_guessing_across_names_slows_the_address_down(app, db):
    client = app.test_client()
    guesser = "203.0.113.9"
    names = [f"someone{i}" for i in range(throttle.ADDRESS_FREE)]
    for name in names:  # one wrong password each: no name's own count is reached
        assert from_address(client, guesser, name, "guess").status_code == 401
    assert from_address(client, guesser, "street.hm", PASSWORD).status_code == 429
    assert from_address(client, "198.51.100.30", "street.hm", PASSWORD).status_code == 200
    clock.advance(timedelta(seconds=31))
    assert from_address(client, guesser, "street.hm", PASSWORD).status_code == 200
    # a valid sign-in does not wipe the address's count: the next wrong guess waits at once
    assert from_address(client, guesser, "someone-else", "guess").status_code == 401
    assert from_address(client, guesser, "street.hm", PASSWORD).status_code == 429


def test_the_free_tries_are_configurable(app, db, monkeypatch):
    monkeypatch.setenv("LOGIN_FREE_PER_NAME", "2")
    client = app.test_client()
    for attempt in range(2):
        assert from_address(client, "203.0.113.12", "street.rg", f"w{attempt}").status_code == 401
    assert from_address(client, "203.0.113.12", "street.rg", PASSWORD).status_code == 429


def test_counts_are_forgotten_after_a_day(app, db):
    client = app.test_client()
    for attempt in range(throttle.PAIR_FREE - 1):
        assert from_address(client, "203.0.113.11", "street.xl", f"w{attempt}").status_code == 401
    clock.advance(throttle.FORGET + timedelta(minutes=1))
    for attempt in range(throttle.PAIR_FREE - 1):  # a fresh count: never blocked
        assert from_address(client, "203.0.113.11", "street.xl", f"v{attempt}").status_code == 401
    assert from_address(client, "203.0.113.11", "street.xl", PASSWORD).status_code == 200


def test_names_no_database_can_store_sign_nobody_in_and_break_nothing(app, db):
    with db.write() as session:
        for name in ("admin\x00", "\ud800", "a\x00b"):
            assert accounts.authenticate(session, name, PASSWORD) is None
        assert accounts.authenticate(session, "admin", "\ud800") is None
    client = app.test_client()
    for name in ("admin\x00", "\ud800"):
        body = json.dumps({"username": name, "password": PASSWORD})  # escaped: \u0000, \ud800
        r = client.post("/api/v1/auth/token", data=body, content_type="application/json")
        assert r.status_code == 422 and "username" in r.get_json()["error"]["fields"]
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    form = {"username": "admin\x00", "password": PASSWORD}
    if csrf:
        form["csrf_token"] = csrf.group(1)
    assert client.post("/login", data=form).status_code == 400  # the web sign-in: no 500


@pytest.mark.slow
def test_simultaneous_guesses_are_counted_one_by_one(live):
    """30 wrong passwords at once from one address, across the server's workers: exactly five
    are tried, then the address waits for that name."""
    url = live.base + "/api/v1/auth/token"
    statuses: list[int] = []
    barrier = threading.Barrier(30)

    def guess(i: int) -> None:
        barrier.wait()
        r = requests.post(url, json={"username": "committee.xl05", "password": f"x{i}"}, timeout=60)
        statuses.append(r.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(statuses) == {401: throttle.PAIR_FREE, 429: 30 - throttle.PAIR_FREE}
    right = requests.post(
        url, json={"username": "committee.xl05", "password": PASSWORD}, timeout=60
    )
    assert right.status_code == 429


# --- production mode ------------------------------------------------------------------------


@pytest.fixture
def fresh_url(db):
    """The test database, its password hashes put back afterwards: these tests change them."""
    with db.read() as session:
        saved = dict(session.execute(select(User.username, User.password_hash)).all())
    yield db.url
    with db.write() as session:
        for user in session.scalars(select(User)):
            user.password_hash = saved.get(user.username, user.password_hash)


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("HANDOFF_ENV", "production")
    monkeypatch.delenv("CLOCK_OFFSET_SECONDS", raising=False)
    # production refuses the demo password process-wide: undo that for the other tests
    monkeypatch.setattr(accounts, "_refused_passwords", frozenset())
    return monkeypatch


def _change_demo_passwords(url: str, keep: tuple[str, ...] = ()) -> None:
    names = [u["username"] for u in demo.load("users.json")["users"]]
    new_hash = accounts.hash_password("a-production-password")
    database = Database(url)
    with database.write() as session:
        session.execute(
            update(User)
            .where(User.username.in_([n for n in names if n not in keep]))
            .values(password_hash=new_hash)
        )
    database.dispose()


def test_production_refuses_unsafe_settings_and_starts_once_they_are_fixed(production, fresh_url):
    production.delenv("SECRET_KEY", raising=False)
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY"):
        create_app({"DATABASE_URL": fresh_url})  # the built-in development secret
    production.setenv("SECRET_KEY", "short-secret")
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY"):
        create_app({"DATABASE_URL": fresh_url})
    production.setenv("SECRET_KEY", STRONG_SECRET)
    with pytest.raises(UnsafeConfiguration, match="demo password"):
        create_app({"DATABASE_URL": fresh_url})
    _change_demo_passwords(fresh_url, keep=("street.xl",))
    with pytest.raises(UnsafeConfiguration, match="street.xl"):  # one is enough to refuse
        create_app({"DATABASE_URL": fresh_url})
    _change_demo_passwords(fresh_url)
    production.setenv("CLOCK_OFFSET_SECONDS", "3600")
    with pytest.raises(UnsafeConfiguration, match="clock"):
        create_app({"DATABASE_URL": fresh_url})
    production.delenv("CLOCK_OFFSET_SECONDS")

    app = create_app({"DATABASE_URL": fresh_url})
    try:
        assert app.config["ENV"] == "production"
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
        assert app.config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
        client = app.test_client()
        assert sign_in(client, "street.xl", "a-production-password").status_code == 200
        # a demo account that gets the demo password back after the start (`seed-demo` run
        # against the live database) still cannot sign in with it
        database = Database(fresh_url)
        with database.write() as session:
            user = session.scalar(select(User).where(User.username == "street.xl"))
            user.password_hash = accounts.hash_password(PASSWORD)
        database.dispose()
        assert sign_in(client, "street.xl", PASSWORD).status_code == 401
    finally:
        app.extensions["db"].dispose()


def test_development_mode_starts_with_the_defaults(monkeypatch, db):
    monkeypatch.delenv("HANDOFF_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"DATABASE_URL": db.url})
    try:
        assert app.config["ENV"] == "development"
        assert app.config["SESSION_COOKIE_SECURE"] is False
        assert sign_in(app.test_client(), "street.xl", PASSWORD).status_code == 200
    finally:
        app.extensions["db"].dispose()


# --- the audit trail ------------------------------------------------------------------------


def _one_event(db) -> int:
    with db.write() as session:
        audit.record(session, "test.recorded", note="original")
    with db.read() as session:  # audit.record writes its events at commit
        return session.scalar(
            select(AuditEvent.id)
            .where(AuditEvent.action == "test.recorded")
            .order_by(AuditEvent.id.desc())
        )


def test_audit_events_cannot_be_changed_or_deleted_through_the_orm(db):
    event_id = _one_event(db)
    with pytest.raises(audit.AuditImmutable), db.write() as session:
        event = session.get(AuditEvent, event_id)
        event.detail = {"note": "rewritten"}
        session.flush()
    with pytest.raises(audit.AuditImmutable), db.write() as session:
        event = session.get(AuditEvent, event_id)
        event.action = "test.hidden"
    with pytest.raises(audit.AuditImmutable), db.write() as session:
        session.delete(session.get(AuditEvent, event_id))
    with db.read() as session:
        event = session.get(AuditEvent, event_id)
        assert (event.action, event.detail) == ("test.recorded", {"note": "original"})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'test.hidden'",
        "UPDATE audit_event SET detail = '{}'",
        "DELETE FROM audit_event",
    ],
)
def test_postgres_refuses_raw_changes_to_the_audit_trail(db, statement):
    if db.is_sqlite:
        pytest.skip("the trigger of migration 0001 is PostgreSQL's (SQLite: the ORM guard only)")
    event_id = _one_event(db)
    with pytest.raises(DBAPIError, match="append-only"), db.write() as session:
        session.execute(text(statement + " WHERE id = :id"), {"id": event_id})
    with db.read() as session:
        assert session.get(AuditEvent, event_id).action == "test.recorded"


def test_bulk_orm_statements_cannot_rewrite_the_audit_trail(db):
    event_id = _one_event(db)
    if db.is_sqlite:
        pytest.xfail(
            "SQLite has no trigger, and workflows.audit guards only the unit of work, not "
            "session.execute(update(AuditEvent)) (see the report of this test file)"
        )
    with pytest.raises(DBAPIError), db.write() as session:
        session.execute(
            update(AuditEvent).where(AuditEvent.id == event_id).values(action="test.hidden")
        )


@pytest.fixture
def street_xl_also_in_rg(db):
    """street.xl gets a second membership in 瑞光街道 (a colleague to delegate to); the demo data
    is put back afterwards (it is shared by the other tests)."""
    yield "street.xl"
    with db.write() as session:
        user = session.scalar(select(User).where(User.username == "street.xl"))
        for membership in list(user.memberships):
            if membership.org_unit.code != "TB-XL":
                user.memberships.remove(membership)
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == "TB-RG-06"))
        unit.name = "利民社区"


def test_every_state_change_of_a_full_handoff_is_in_the_audit_log_with_its_actor(
    app, db, street_xl_also_in_rg
):
    admin, dept = Api(app, "admin"), Api(app, "dept.mz")
    rg, committee = Api(app, "street.rg"), Api(app, "committee.rg03")
    finance = Api(app, "finance")
    both = [
        {"role": "street_office", "org_unit": "TB-XL"},
        {"role": "street_office", "org_unit": "TB-RG"},
    ]
    assert admin.patch("/users/street.xl", {"memberships": both}).status_code == 200
    deputy = Api(app, "street.xl")
    created = dept.post(
        "/requests",
        {
            "title": "审计测试",
            "item_code": "A01",
            "community_codes": ["TB-RG-03", "TB-RG-04"],
            "amount": "800.00",
            "due_date": "2099-12-31",
        },
    )
    assert created.status_code == 201, created.get_json()
    iid, cancelled_iid = (i["id"] for i in created.get_json()["instances"])

    review = rg.only("street_review", iid)
    assert rg.post(f"/tasks/{review['id']}/claim").status_code == 200
    assert rg.post(f"/tasks/{review['id']}/unclaim").status_code == 200
    rg.complete(review["id"], {"decision": "revise", "comment": "请补充依据"})
    dept.complete(dept.only("revise", iid)["id"], {"legal_basis": "《城乡社区服务体系建设规划》"})
    review = rg.only("street_review", iid)
    r = rg.post(f"/tasks/{review['id']}/delegate", {"username": "street.xl"})
    assert r.status_code == 200, r.get_json()
    deputy.complete(review["id"], {"decision": "approve"})
    for api, key in ((committee, "sign_committee"), (dept, "sign_department"), (rg, "sign_street")):
        api.complete(api.only(key, iid)["id"], {"decision": "sign"})
    funding = finance.only("funding", iid)
    today = handoff_today().isoformat()  # a transfer or a report happens after the request
    finance.complete(
        funding["id"],
        {"amount": "800.00", "voucher_no": "PZ-AUD-1", "transferred_on": today},
    )
    work = committee.only("work", iid)
    committee.complete(work["id"], {"report": "初稿", "completed_on": today})
    acceptance = dept.only("acceptance", iid)
    dept.complete(acceptance["id"], {"decision": "rework", "comment": "请补充照片"})
    committee.complete(committee.only("work", iid)["id"], {"report": "终稿", "completed_on": today})
    dept.complete(dept.only("acceptance", iid)["id"], {"decision": "accept"})
    evaluation = rg.only("evaluation", iid)
    done = rg.complete(evaluation["id"], {"score": 88, "comment": "好"})
    assert (done["instance_state"], done["outcome"]) == ("completed", "completed")
    r = dept.post(f"/instances/{cancelled_iid}/cancel", {"reason": "重复"})
    assert r.status_code == 200
    assert admin.patch("/org-units/TB-RG-06", {"name": "审计社区"}).status_code == 200

    with db.read() as session:
        users = {u.id: u.username for u in session.scalars(select(User))}
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        tasks = session.scalars(select(Task).order_by(Task.id)).all()
        ledger = session.scalars(select(LedgerEntry)).all()
        signatures = session.scalars(select(Signature)).all()

    def who(event):
        return users.get(event.actor_id)

    by_action: dict[str, list] = {}
    for event in events:
        by_action.setdefault(event.action, []).append(event)
    # every task that opened, and how it ended, by whom
    for task in tasks:
        opened = [e for e in by_action["task.created"] if e.task_id == task.id]
        assert len(opened) == 1, task.key
        if task.status == "completed":
            completed = [e for e in by_action["task.completed"] if e.task_id == task.id]
            assert len(completed) == 1, task.key
            assert completed[0].actor_id == task.completed_by_id is not None
            assert completed[0].detail["data"] == task.data
        elif task.status == "withdrawn":
            assert task.instance_id == cancelled_iid or any(
                e.task_id == task.id for e in by_action.get("task.withdrawn", [])
            )
    completions = [(e.detail["key"], who(e)) for e in by_action["task.completed"]]
    assert completions == [
        ("street_review", "street.rg"),
        ("revise", "dept.mz"),
        ("street_review", "street.xl"),
        ("sign_committee", "committee.rg03"),
        ("sign_department", "dept.mz"),
        ("sign_street", "street.rg"),
        ("funding", "finance"),
        ("work", "committee.rg03"),
        ("acceptance", "dept.mz"),
        ("work", "committee.rg03"),
        ("acceptance", "dept.mz"),
        ("evaluation", "street.rg"),
    ]
    assert [who(e) for e in by_action["task.claimed"]] == ["street.rg"]
    assert [who(e) for e in by_action["task.unclaimed"]] == ["street.rg"]
    delegated = by_action["task.delegated"]
    assert [(who(e), e.detail["to"]) for e in delegated] == [("street.rg", "street.xl")]
    assert [who(e) for e in by_action["request.created"]] == ["dept.mz"]
    assert [who(e) for e in by_action["instance.started"]] == ["dept.mz", "dept.mz"]
    assert [(who(e), e.detail["outcome"]) for e in by_action["instance.completed"]] == [
        ("street.rg", "completed")
    ]
    cancelled = by_action["instance.cancelled"]
    assert [(who(e), e.instance_id, e.detail["reason"]) for e in cancelled] == [
        ("dept.mz", cancelled_iid, "重复")
    ]
    assert [who(e) for e in by_action["agreement.drafted"]] == ["street.xl"]
    assert [who(e) for e in by_action["agreement.signed"]] == [
        "street.rg"
    ]  # the last of the three to sign
    # the money trail: every ledger entry has its audit event, by the same actor
    money = by_action["money.agreed"] + by_action["money.transferred"]
    assert sorted((e.action, e.actor_id) for e in money) == sorted(
        ("money." + entry.kind, entry.actor_id) for entry in ledger
    )
    assert [who(e) for e in by_action["money.transferred"]] == ["finance"]
    # every signature was a completed task of its signer
    signers = {(who(e), e.detail["key"]) for e in by_action["task.completed"]}
    for signature in signatures:
        assert (users[signature.user_id], f"sign_{_party_task(signature.party)}") in signers
    assert [(who(e), e.detail["code"]) for e in by_action["org_unit.updated"]] == [
        ("admin", "TB-RG-06")
    ]
    updated = by_action["user.updated"]
    assert [(who(e), e.detail["username"], e.detail["changed"]) for e in updated] == [
        ("admin", "street.xl", ["memberships"])
    ]
    issued = Counter(who(e) for e in by_action["auth.token_issued"])
    assert issued == {
        "admin": 1,
        "dept.mz": 1,
        "street.rg": 1,
        "committee.rg03": 1,
        "finance": 1,
        "street.xl": 1,
    }
    # events without an actor are the engine's own: tasks opening, timers, escalations
    system = {e.action for e in events if e.actor_id is None}
    assert system <= {"task.created", "task.escalated", "timer.fired", "task.withdrawn"}, system


def _party_task(party: str) -> str:
    return {"department": "department", "street_office": "street", "committee": "committee"}[party]


# --- sessions and the environment -------------------------------------------------------------


def _web_sign_in(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:300]


def test_signing_out_ends_the_session_on_the_server(app, db):
    client = app.test_client()
    _web_sign_in(client, "street.rg")
    copied = client.get_cookie("session").value  # e.g. taken from the browser before sign-out
    inbox = client.get("/inbox")
    token = re.search(r'name="csrf_token" value="([^"]+)"', inbox.get_data(as_text=True)).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/inbox").status_code == 302  # to the sign-in page
    with db.read() as session:
        rows = session.scalars(select(ApiToken).where(ApiToken.kind == "web")).all()
        assert len(rows) == 1 and rows[0].revoked_at is not None
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions[-2:] == ["auth.signed_in", "auth.signed_out"]


def test_other_sessions_of_the_user_stay_signed_in(app, db):
    phone, desk = app.test_client(), app.test_client()
    _web_sign_in(phone, "street.rg")
    _web_sign_in(desk, "street.rg")
    inbox = phone.get("/inbox")
    token = re.search(r'name="csrf_token" value="([^"]+)"', inbox.get_data(as_text=True)).group(1)
    phone.post("/logout", data={"csrf_token": token})
    assert phone.get("/inbox").status_code == 302
    assert desk.get("/inbox").status_code == 200


def test_a_web_session_is_no_api_token(app, db):
    client = app.test_client()
    _web_sign_in(client, "street.rg")
    with db.read() as session:
        assert session.scalars(select(ApiToken.kind)).all() == ["web"]
    # the cookie's token is signed into the cookie; even read out, the API refuses it
    from itsdangerous import URLSafeTimedSerializer  # Flask's session serialiser

    value = client.get_cookie("session").value
    serializer = URLSafeTimedSerializer(
        app.secret_key, salt="cookie-session", signer_kwargs={"key_derivation": "hmac"}
    )
    token = serializer.loads(value)["st"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("value", ["Production", " production", "PRODUCTION\n"])
def test_production_is_recognised_however_it_is_written(monkeypatch, value, db):
    monkeypatch.setenv("HANDOFF_ENV", value)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY"):  # production's checks ran
        create_app({"DATABASE_URL": db.url})


@pytest.mark.parametrize("value", ["prod", "staging", "", "dev"])
def test_an_unknown_environment_refuses_to_start(monkeypatch, value, db):
    monkeypatch.setenv("HANDOFF_ENV", value)
    with pytest.raises(UnsafeConfiguration, match="HANDOFF_ENV"):
        create_app({"DATABASE_URL": db.url})
