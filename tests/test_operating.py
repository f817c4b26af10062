"""Operating the service, in process (Flask's test client) on SQLite and PostgreSQL: /metrics
answers in Prometheus text with every metric, counts requests and committed completions, shows
open and overdue tasks and timer lag as the database has them and the timer worker's heartbeat;
it is open to loopback, to configured networks and to the bearer token only. Every response
carries a request id, every error body names it, and the JSON log lines carry it too.

The real multi-worker server (gunicorn, PROMETHEUS_MULTIPROC_DIR) is in test_operating_live.py.
"""

from __future__ import annotations

import json
import logging
import re
import signal
from datetime import datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from notifications.models import Notification
from server import create_app, metrics
from server.config import Config, UnsafeConfiguration
from workflows import admin, clock, heartbeat
from workflows.models import ProcessInstance, Task, User

from .test_security import STRONG_SECRET, Api, _web_sign_in

HEX_ID = re.compile(r"[0-9a-f]{32}")
METRICS = {
    "handoff_http_requests_total": "counter",
    "handoff_http_request_duration_seconds": "histogram",
    "handoff_task_completions_total": "counter",
    "handoff_open_tasks": "gauge",
    "handoff_overdue_tasks": "gauge",
    "handoff_timer_lag_seconds": "gauge",
    "handoff_outbox_lag_seconds": "gauge",
    "handoff_outbox_dead_letters": "gauge",
    "handoff_worker_heartbeat_age_seconds": "gauge",
    "handoff_database_up": "gauge",
}
TOKEN = "scrape-" + "t" * 40


def make_app(db, **config):
    return create_app(
        {"DATABASE_URL": db.url, "SECRET_KEY": STRONG_SECRET, "TESTING": True, **config}
    )


@pytest.fixture
def app(db):
    app = make_app(db)
    yield app
    app.extensions["db"].dispose()


def scrape(client, **kw) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one /metrics answer."""
    r = client.get("/metrics", **kw)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    samples = {}
    for family in text_string_to_metric_families(r.get_data(as_text=True)):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def new_request(dept: Api, communities: list[str]) -> list[int]:
    r = dept.post(
        "/requests",
        {
            "title": "运维指标测试",
            "item_code": "A01",
            "community_codes": communities,
            "amount": "500.00",
            "due_date": "2099-12-31",
        },
    )
    assert r.status_code == 201, r.get_json()
    return [i["id"] for i in r.get_json()["instances"]]


# --- /metrics -------------------------------------------------------------------------------


def test_metrics_answer_in_prometheus_text_with_every_metric(app):
    client = app.test_client()
    client.get("/healthz")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = r.get_data(as_text=True)
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))
    for name, kind in METRICS.items():
        assert types.get(name) == kind, (name, types)
    assert not [name for name in types if name.endswith("_created")]  # no doubled series
    # the endpoint, never the raw path: ids and scanners do not grow the label set
    samples = scrape(client)
    client.get("/api/v1/tasks/12345")
    client.get("/no/such/page/12345")
    after = scrape(client)
    assert not any("12345" in str(key) for key in after)
    assert (
        value(
            after,
            "handoff_http_requests_total",
            endpoint="tasks.get_task",
            method="GET",
            status_class="4xx",
        )
        == value(
            samples,
            "handoff_http_requests_total",
            endpoint="tasks.get_task",
            method="GET",
            status_class="4xx",
        )
        + 1
    )
    assert (
        value(
            after, "handoff_http_requests_total", endpoint="none", method="GET", status_class="4xx"
        )
        >= 1
    )
    assert value(after, "handoff_database_up") == 1


def test_a_request_and_each_committed_completion_are_counted(app, db):
    client = app.test_client()
    before = scrape(client)
    assert client.get("/healthz").status_code == 200
    after = scrape(client)
    ok = {"endpoint": "health.healthz", "method": "GET", "status_class": "2xx"}
    assert (
        value(after, "handoff_http_requests_total", **ok)
        == value(before, "handoff_http_requests_total", **ok) + 1
    )
    assert (
        value(after, "handoff_http_request_duration_seconds_count", **ok)
        == value(before, "handoff_http_request_duration_seconds_count", **ok) + 1
    )

    dept, rg = Api(app, "dept.mz"), Api(app, "street.rg")
    first, second, third = new_request(dept, ["TB-RG-01", "TB-RG-02", "TB-RG-03"])
    review = {"process": "handoff", "task": "street_review"}
    start = value(scrape(client), "handoff_task_completions_total", **review)
    # plain, and inside an Idempotency-Key transaction (counted when that one commits)
    rg.complete(rg.only("street_review", first)["id"], {"decision": "approve"})
    task = rg.only("street_review", second)["id"]
    r = rg.client.post(
        f"/api/v1/tasks/{task}/complete",
        json={"data": {"decision": "approve"}},
        headers={**rg._headers(), "Idempotency-Key": "metrics-once"},
    )
    assert r.status_code == 200, r.get_json()
    again = rg.client.post(  # a replay changes nothing, so counts nothing
        f"/api/v1/tasks/{task}/complete",
        json={"data": {"decision": "approve"}},
        headers={**rg._headers(), "Idempotency-Key": "metrics-once"},
    )
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert rg.post(f"/tasks/{task}/complete", {"data": {"decision": "approve"}}).status_code == 409
    assert value(scrape(client), "handoff_task_completions_total", **review) == start + 2

    # and through the pages
    web = app.test_client()
    _web_sign_in(web, "street.rg")
    task = rg.only("street_review", third)["id"]
    page = web.get(f"/tasks/{task}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = web.post(f"/tasks/{task}", data={"decision": "approve", "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    assert value(scrape(client), "handoff_task_completions_total", **review) == start + 3


def test_a_completion_rolled_back_with_its_transaction_is_not_counted(app, db, actor):
    dept = Api(app, "dept.mz")
    (iid,) = new_request(dept, ["TB-RG-04"])
    with db.read() as session:
        task = session.scalar(select(Task.id).where(Task.instance_id == iid))
    labels = ("handoff", "street_review")
    start = metrics.COMPLETIONS.labels(*labels)._value.get()
    with pytest.raises(RuntimeError), db.write():
        metrics.complete_task(db, task, actor("street.rg"), {"decision": "approve"})
        raise RuntimeError("the enclosing transaction fails after the step")
    assert metrics.COMPLETIONS.labels(*labels)._value.get() == start
    with db.read() as session:
        assert session.get(Task, task).status == "open"


def test_open_and_overdue_tasks_and_timer_lag_match_the_database(app, db):
    client = app.test_client()
    dept = Api(app, "dept.mz")
    new_request(dept, ["TB-RG-01", "TB-RG-02", "TB-HM-01"])
    rg = Api(app, "street.rg")
    (iid,) = new_request(dept, ["TB-RG-05"])
    rg.complete(rg.only("street_review", iid)["id"], {"decision": "approve"})

    def database_counts(now):
        with db.read() as session:
            rows = session.execute(
                select(Task.role, func.count(), func.count().filter(Task.due_at < now))
                .where(Task.status == "open")
                .group_by(Task.role)
            ).all()
            oldest = session.scalar(
                select(func.min(ProcessInstance.next_timer_at)).where(
                    ProcessInstance.status == "running", ProcessInstance.next_timer_at <= now
                )
            )
        return {role: (n, late) for role, n, late in rows}, oldest

    with clock.freeze(clock.now()) as now:
        counts, oldest = database_counts(now)
        samples = scrape(client)
    assert counts["street_office"][0] == 3  # three reviews
    assert counts["committee"][0] == 1  # the committee signs (or negotiates) first
    for role, (n, late) in counts.items():
        assert value(samples, "handoff_open_tasks", role=role) == n
        assert value(samples, "handoff_overdue_tasks", role=role) == late == 0
    assert value(samples, "handoff_open_tasks", role="admin") == 0  # present, as 0
    assert ("handoff_open_tasks", (("role", "admin"),)) in samples
    assert oldest is None and value(samples, "handoff_timer_lag_seconds") == 0

    # 40 days on, no timer worker has run: the reviews are overdue and their timers late
    with clock.freeze(clock.now() + timedelta(days=40)) as later:
        counts, oldest = database_counts(later)
        samples = scrape(client)
    assert counts["street_office"][1] >= 3  # the reviews, due in 15 working days
    for role, (n, late) in counts.items():
        assert value(samples, "handoff_open_tasks", role=role) == n
        assert value(samples, "handoff_overdue_tasks", role=role) == late
    assert oldest is not None
    lag = value(samples, "handoff_timer_lag_seconds")
    assert lag == pytest.approx((later - oldest).total_seconds()) and lag > 86400


def run_command(app, *args: str):
    """A worker command in this process (it installs its own signal handlers: pytest's are put
    back)."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        result = app.test_cli_runner().invoke(args=list(args))
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
    assert result.exit_code == 0, result.output
    return result


def test_the_timer_workers_heartbeat_shows_after_it_runs(app, db):
    client = app.test_client()
    samples = scrape(client)
    assert not [k for k in samples if k[0] == "handoff_worker_heartbeat_age_seconds"]
    long_ago = heartbeat.wall_now() - timedelta(days=2)
    heartbeat.beat(db, "w-dead", "timer", long_ago)  # crashed two days ago
    heartbeat.beat(db, "w-crashed", "timer", long_ago)  # crashed ten minutes ago
    with db.write() as session:
        session.get(heartbeat.WorkerHeartbeat, "w-dead").last_seen = long_ago
        ten_minutes = heartbeat.wall_now() - timedelta(minutes=10)
        session.get(heartbeat.WorkerHeartbeat, "w-crashed").last_seen = ten_minutes
    run_command(app, "timer-worker", "--once", "--name", "w-1")
    samples = scrape(client)
    age = value(samples, "handoff_worker_heartbeat_age_seconds", worker="w-1", kind="timer")
    assert ("handoff_worker_heartbeat_age_seconds", (("kind", "timer"), ("worker", "w-1"))) in (
        samples
    )
    assert 0 <= age < 60
    crashed = value(
        samples, "handoff_worker_heartbeat_age_seconds", worker="w-crashed", kind="timer"
    )
    assert 590 < crashed < 700  # still there: it is what an alert should see
    assert not [k for k in samples if ("worker", "w-dead") in k[1]]  # a day gone: forgotten


def test_outbox_lag_and_dead_letters_match_the_outbox(app, db, monkeypatch):
    client = app.test_client()
    samples = scrape(client)
    assert value(samples, "handoff_outbox_lag_seconds") == 0
    assert value(samples, "handoff_outbox_dead_letters") == 0
    with db.write() as session:  # street.rg gets mail: a review task is an e-mail to send
        user = session.scalar(select(User).where(User.username == "street.rg"))
        admin.set_email(session, user, "street.rg@example.cn", actor_id=None)
    new_request(Api(app, "dept.mz"), ["TB-RG-01"])

    def oldest_due(now):
        with db.read() as session:
            return session.scalar(
                select(func.min(Notification.next_attempt_at)).where(
                    Notification.status == "pending",
                    Notification.channel == "email",
                    Notification.next_attempt_at <= now,
                )
            )

    # ten minutes on, no notification worker has run: the mail waits
    with clock.freeze(clock.now() + timedelta(minutes=10)) as later:
        oldest = oldest_due(later)
        samples = scrape(client)
        assert oldest is not None
        lag = value(samples, "handoff_outbox_lag_seconds")
        assert lag == pytest.approx((later - oldest).total_seconds()) and 590 < lag < 700
        assert value(samples, "handoff_outbox_dead_letters") == 0
        # the worker runs without an SMTP server and gives up at the first failure
        monkeypatch.delenv("SMTP_URL", raising=False)
        monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "1")
        run_command(app, "notify-worker", "--once", "--name", "n-1")
        samples = scrape(client)
    with db.read() as session:
        dead = session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status == "dead")
        )
    assert dead >= 1
    assert value(samples, "handoff_outbox_dead_letters") == dead
    assert value(samples, "handoff_outbox_lag_seconds") == 0  # nothing due is left undelivered
    # the notification worker beats like the timer worker (a --once run keeps its row)
    age = value(samples, "handoff_worker_heartbeat_age_seconds", worker="n-1", kind="notify")
    assert ("handoff_worker_heartbeat_age_seconds", (("kind", "notify"), ("worker", "n-1"))) in (
        samples
    )
    assert 0 <= age < 60


# --- who may scrape -------------------------------------------------------------------------


def test_metrics_are_open_to_loopback_only_by_default(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    r = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "forbidden"
    assert "handoff_" not in r.get_data(as_text=True)
    assert r.get_json()["error"]["request_id"] == r.headers["X-Request-Id"]


def test_metrics_accept_the_bearer_token_and_configured_networks(db):
    app = make_app(db, METRICS_TOKEN=TOKEN, METRICS_ALLOW="10.0.0.0/8, 2001:db8::/32")
    try:
        client = app.test_client()
        outside = {"REMOTE_ADDR": "192.0.2.7"}
        assert client.get("/metrics", environ_base=outside).status_code == 403
        for wrong in ("Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "x", TOKEN, "Basic " + TOKEN):
            r = client.get("/metrics", environ_base=outside, headers={"Authorization": wrong})
            assert r.status_code == 403, wrong
        r = client.get(
            "/metrics", environ_base=outside, headers={"Authorization": "Bearer " + TOKEN}
        )
        assert r.status_code == 200 and "handoff_open_tasks" in r.get_data(as_text=True)
        for inside in ("10.1.2.3", "::ffff:10.9.8.7", "2001:db8::5"):
            r = client.get("/metrics", environ_base={"REMOTE_ADDR": inside})
            assert r.status_code == 200, inside
        # a configured list replaces the loopback default
        assert client.get("/metrics").status_code == 403
    finally:
        app.extensions["db"].dispose()


def test_behind_a_proxy_the_forwarded_client_is_the_one_checked(db):
    app = make_app(db, PROXY_COUNT=1)
    try:
        client = app.test_client()
        proxied = {"X-Forwarded-For": "203.0.113.9"}  # the proxy itself is on loopback
        assert client.get("/metrics", headers=proxied).status_code == 403
        junk = {"X-Forwarded-For": "not-an-address"}
        assert client.get("/metrics", headers=junk).status_code == 403
        assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200
    finally:
        app.extensions["db"].dispose()


@pytest.mark.parametrize("allow", ["10.0.0.5/8", "10.0.0.0/33", "localhost"])
def test_a_mistyped_network_refuses_to_start(db, allow):
    with pytest.raises(UnsafeConfiguration, match="METRICS_ALLOW"):
        make_app(db, METRICS_ALLOW=allow)


# --- request ids ----------------------------------------------------------------------------


def test_every_response_carries_a_request_id_and_every_error_body_the_same(app):
    client = app.test_client()
    seen = set()
    for method, path, kw in [
        ("get", "/healthz", {}),
        ("get", "/", {}),  # a page (to the sign-in page)
        ("get", "/login", {}),
        ("get", "/static/app.css", {}),
        ("get", "/no-such-page", {}),
        ("get", "/api/v1/me", {}),  # 401
        ("get", "/api/v1/no-such-thing", {}),  # 404
        ("post", "/api/v1/auth/token", {"json": {"username": 3}}),  # 422
        ("post", "/api/v1/auth/token", {"data": "{", "content_type": "application/json"}),
        ("delete", "/api/v1/me", {}),  # 405
        ("get", "/metrics", {"environ_base": {"REMOTE_ADDR": "10.0.0.1"}}),  # 403
    ]:
        r = getattr(client, method)(path, **kw)
        rid = r.headers.get("X-Request-Id")
        assert rid and HEX_ID.fullmatch(rid), (path, r.status_code, rid)
        seen.add(rid)
        if r.status_code >= 400 and r.is_json:
            assert r.get_json()["error"]["request_id"] == rid, (path, r.get_json())
    assert len(seen) == 11  # one id per request


@pytest.mark.parametrize("incoming", ["abc", "req.1_2-3", "A" * 64, "0f" * 16])
def test_a_sane_incoming_request_id_is_echoed(app, incoming):
    r = app.test_client().get("/api/v1/me", headers={"X-Request-Id": incoming})
    assert r.headers["X-Request-Id"] == incoming
    assert r.get_json()["error"]["request_id"] == incoming


@pytest.mark.parametrize("incoming", ["", "a" * 65, "has space", "a/b", "<script>", "x\ty", "é"])
def test_an_insane_incoming_request_id_is_replaced(app, incoming):
    r = app.test_client().get("/api/v1/me", headers={"X-Request-Id": incoming})
    assert HEX_ID.fullmatch(r.headers["X-Request-Id"])
    assert r.get_json()["error"]["request_id"] == r.headers["X-Request-Id"]


# --- logs -----------------------------------------------------------------------------------


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_log_lines_are_parseable_and_have_the_fields(db, capsys):
    app = make_app(db, LOG_FORMAT="json")
    try:
        capsys.readouterr()
        r = app.test_client().get("/api/v1/me", headers={"X-Request-Id": "trace-42"})
        assert r.status_code == 401
        logging.getLogger("tests.operating").warning("outside any request: 第一行\nsecond line")
        err = capsys.readouterr().err
    finally:
        app.extensions["db"].dispose()
    lines = _json_lines(err)
    assert len(lines) == len([line for line in err.splitlines() if line.strip()])  # all JSON
    (access,) = [e for e in lines if e["logger"] == "server.access"]
    assert access["request_id"] == "trace-42"
    assert access["level"] == "INFO"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/v1/me", 401)
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert access["message"].startswith("GET /api/v1/me 401 ")
    assert access["time"].endswith("Z")
    when = datetime.fromisoformat(access["time"].replace("Z", "+00:00"))
    assert when.utcoffset() == timedelta(0)
    (other,) = [e for e in lines if e["logger"] == "tests.operating"]
    assert other["request_id"] is None and other["level"] == "WARNING"
    assert other["message"] == "outside any request: 第一行\nsecond line"  # one line, escaped


def test_text_logs_and_caplog_still_work(db, caplog, capsys):
    app = make_app(db, LOG_FORMAT="text")
    try:
        with caplog.at_level(logging.INFO, logger="server.access"):
            r = app.test_client().get("/healthz%0Afake-line", headers={"X-Request-Id": "t-1"})
        err = capsys.readouterr().err
    finally:
        app.extensions["db"].dispose()
    assert r.status_code == 404
    assert [rec.status for rec in caplog.records if rec.name == "server.access"] == [404]
    (line,) = [line for line in err.splitlines() if "server.access" in line]
    assert "[t-1] GET /healthz\\nfake-line 404" in line  # a %0A in the path is no new line
    assert not any(line.startswith("fake-line") for line in err.splitlines())


def test_the_engines_state_changes_are_logged_only_when_debugging(db, capsys):
    def engine_lines(level: str) -> list[dict]:
        app = make_app(db, LOG_FORMAT="json", LOG_LEVEL=level)
        try:
            capsys.readouterr()
            new_request(Api(app, "dept.mz"), ["TB-RG-03"])  # engine steps: spiff logs
            err = capsys.readouterr().err
        finally:
            app.extensions["db"].dispose()
        return [e for e in _json_lines(err) if e["logger"].startswith("spiff")]

    try:
        assert engine_lines("DEBUG")  # there is something to silence
        assert engine_lines("INFO") == []
    finally:
        make_app(db).extensions["db"].dispose()  # the default level again


def test_the_log_format_defaults_to_text_in_development_and_json_in_production(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    monkeypatch.setenv("HANDOFF_ENV", "development")
    assert Config().LOG_FORMAT == "text"
    monkeypatch.setenv("HANDOFF_ENV", "production")
    assert Config().LOG_FORMAT == "json"
    monkeypatch.setenv("LOG_FORMAT", "TEXT")
    assert Config().LOG_FORMAT == "text"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(UnsafeConfiguration, match="LOG_FORMAT"):
        Config()


def test_a_scrape_answers_when_the_database_does_not(tmp_path, caplog):
    from server.metrics_db import DatabaseCollector
    from workflows.db import Database

    empty = Database(f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}")  # no tables at all
    try:
        families = {f.name: f for f in DatabaseCollector(empty).collect()}
    finally:
        empty.dispose()
    assert [s.value for s in families["handoff_database_up"].samples] == [0]
    assert set(families) == {"handoff_database_up"}
    assert "the database did not answer" in caplog.text
