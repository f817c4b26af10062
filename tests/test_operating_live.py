"""Operating the real service: gunicorn with two workers and PROMETHEUS_MULTIPROC_DIR, JSON logs,
and the timer worker as its own process, on SQLite and PostgreSQL.

/metrics sums every worker's counts, the access lines on stderr are JSON with the request id the
client sent, and the timer worker's heartbeat shows while it runs (and is gone once it stops on
purpose).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from .live import Client, LiveServer

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")
pytestmark = pytest.mark.slow


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    r = requests.get(base + "/metrics", timeout=30)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def heartbeat(samples, worker: str) -> float | None:
    return samples.get(
        ("handoff_worker_heartbeat_age_seconds", (("kind", "timer"), ("worker", worker)))
    )


@pytest.fixture
def server(live, tmp_path):
    """A second gunicorn on the live server's (migrated, seeded) database, in multi-process
    mode with JSON logs."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    extra = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "LOG_FORMAT": "json"}
    started = LiveServer(live.db_url, workers=2, extra_env=extra).start()
    yield started
    started.stop()


def test_metrics_sum_every_worker_and_count_a_completion(server):
    healthz = {"endpoint": "health.healthz", "method": "GET", "status_class": "2xx"}
    before = value(scrape(server.base), "handoff_http_requests_total", **healthz)
    pids = set()
    lock = threading.Lock()

    def hit() -> None:
        for _ in range(10):
            r = requests.get(server.base + "/healthz", timeout=30)  # a new connection each
            assert r.status_code == 200
            with lock:
                pids.add(r.headers.get("X-Request-Id"))

    threads = [threading.Thread(target=hit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pids) == 60  # an id per response
    # whichever worker answers the scrape, it counts the requests every worker answered
    for _ in range(4):
        assert value(scrape(server.base), "handoff_http_requests_total", **healthz) == before + 60
    files = os.listdir(server.env["PROMETHEUS_MULTIPROC_DIR"])
    assert any(name.startswith("counter_") for name in files), files  # multi-process mode is on

    dept, rg = Client(server.base, "dept.mz"), Client(server.base, "street.rg")
    review = {"process": "handoff", "task": "street_review"}
    start = value(scrape(server.base), "handoff_task_completions_total", **review)
    r = dept.post(
        "/requests",
        {
            "title": "运维指标实测",
            "item_code": "A01",
            "community_codes": ["TB-RG-06"],
            "amount": "300.00",
            "due_date": "2099-12-31",
        },
    )
    assert r.status_code == 201, r.text
    iid = r.json()["instances"][0]["id"]
    (task,) = [t for t in rg.inbox(key="street_review") if t["instance_id"] == iid]
    assert rg.complete(task["id"], {"decision": "approve"}).status_code == 200
    assert rg.complete(task["id"], {"decision": "approve"}).status_code == 409
    for _ in range(3):
        samples = scrape(server.base)
        assert value(samples, "handoff_task_completions_total", **review) == start + 1
    assert value(samples, "handoff_database_up") == 1
    assert value(samples, "handoff_open_tasks", role="street_office") >= 1


def test_access_lines_are_json_with_the_request_id(server):
    r = requests.get(server.base + "/api/v1/me", headers={"X-Request-Id": "live-trace-7"})
    assert r.status_code == 401
    assert r.headers["X-Request-Id"] == r.json()["error"]["request_id"] == "live-trace-7"
    page = requests.get(server.base + "/login", headers={"X-Request-Id": "x" * 65})
    assert re.fullmatch(r"[0-9a-f]{32}", page.headers["X-Request-Id"])
    deadline = time.monotonic() + 10
    while True:
        server.log.seek(0)
        lines = [
            json.loads(line)
            for line in server.log.read().decode().splitlines()
            if line.startswith("{")
        ]
        found = [e for e in lines if e.get("request_id") == "live-trace-7"]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    (access,) = found
    assert access["logger"] == "server.access" and access["level"] == "INFO"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/v1/me", 401)
    assert access["duration_ms"] >= 0 and access["time"].endswith("Z")


def test_the_timer_workers_heartbeat_shows_while_it_runs(server):
    env = {**os.environ, "DATABASE_URL": server.db_url}
    once = subprocess.run(
        [FLASK, "--app", "server", "timer-worker", "--once", "--name", "live-once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert once.returncode == 0, once.stderr[-2000:]
    age = heartbeat(scrape(server.base), "live-once")
    assert age is not None and 0 <= age < 60

    loop = subprocess.Popen(
        [FLASK, "--app", "server", "timer-worker", "--interval", "0.2", "--name", "live-loop"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        ages = []
        while time.monotonic() < deadline and len(ages) < 3:
            age = heartbeat(scrape(server.base), "live-loop")
            if age is not None:
                ages.append(age)
            time.sleep(0.5)
        assert len(ages) == 3 and max(ages) < 5, ages  # it keeps beating
        loop.send_signal(signal.SIGTERM)
        assert loop.wait(30) == 0
        assert heartbeat(scrape(server.base), "live-loop") is None  # stopped, not dead
    finally:
        if loop.poll() is None:
            loop.kill()
            loop.wait(10)
