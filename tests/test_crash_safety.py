"""Crash safety: SIGKILL mid-stream loses no acknowledged completion and leaves no half-written
state; a killed timer worker loses nothing; the consistency checker finds real damage."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from workflows import consistency
from workflows.db import Database
from workflows.models import AuditEvent, Task

from .conftest import BACKENDS, _fresh_postgres_database, _postgres_url
from .live import Client, LiveServer, prepare_database
from .test_api_handoff import new_request
from .test_engine import deploy_mini, open_tasks, start_mini

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")
pytestmark = pytest.mark.slow


def check_consistency(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FLASK, "--app", "server", "check-consistency"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_checker_finds_a_missing_task_row(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    checked, problems = consistency.check_all(db)
    assert (checked, problems) == (1, [])
    (task,) = open_tasks(db, instance_id)
    with db.write() as session:
        session.execute(update(Task).where(Task.id == task.id).values(status="withdrawn"))
    _, problems = consistency.check_all(db)
    assert [p.kind for p in problems] == ["missing_task_row"]


@pytest.fixture(params=BACKENDS)
def crash_db_url(request, database_url_factory, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/crash.sqlite3"
    database_url_factory("postgresql")
    return _fresh_postgres_database(_postgres_url())


def test_sigkill_mid_stream_keeps_every_acknowledged_completion(crash_db_url):
    prepare_database(crash_db_url)
    server = LiveServer(crash_db_url, workers=2).start()
    dept, street = Client(server.base, "dept.mz"), Client(server.base, "street.xh")
    body = new_request(dept, [f"TB-XH-0{i}" for i in range(1, 6)] * 1)
    reviews = [t for t in street.inbox(key="street_review") if t["request_id"] == body["id"]]
    assert len(reviews) == 5
    acknowledged: list[int] = []
    stop = threading.Event()

    def stream():
        for review in reviews:
            if stop.is_set():
                return
            try:
                r = street.complete(review["id"], {"decision": "approve"})
            except Exception:  # the server died under us: this one is unacknowledged
                return
            if r.status_code == 200:
                acknowledged.append(review["id"])

    worker = threading.Thread(target=stream)
    worker.start()
    while len(acknowledged) < 2 and worker.is_alive():
        time.sleep(0.005)
    server.kill()
    stop.set()
    worker.join(30)
    assert len(acknowledged) >= 2

    db = Database(crash_db_url)
    try:
        with db.read() as session:
            done = session.scalars(
                select(Task.id).where(Task.id.in_(acknowledged), Task.status == "completed")
            ).all()
            assert sorted(done) == sorted(acknowledged)
            for review in reviews:  # every review is either completed with its next steps, or open
                rows = session.scalars(
                    select(Task).where(Task.instance_id == review["instance_id"])
                ).all()
                keys = sorted(r.key for r in rows if r.status == "open")
                status = next(r.status for r in rows if r.id == review["id"])
                assert (status, keys) in (
                    ("completed", ["sign_committee"]),
                    ("open", ["street_review"]),
                ), (review, status, keys)
    finally:
        db.dispose()
    result = check_consistency(crash_db_url)
    assert result.returncode == 0, result.stdout + result.stderr

    restarted = LiveServer(crash_db_url, workers=2).start()
    try:
        street = Client(restarted.base, "street.xh")
        for review in reviews:
            if review["id"] not in acknowledged:
                r = street.complete(review["id"], {"decision": "approve"})
                assert r.status_code in (200, 409)
        assert check_consistency(crash_db_url).returncode == 0
    finally:
        restarted.stop()


def test_killed_timer_worker_loses_nothing(db):
    definition = deploy_mini(db)
    ids = [start_mini(db, definition) for _ in range(40)]
    env = {**os.environ, "DATABASE_URL": db.url, "CLOCK_OFFSET_SECONDS": str(40 * 86400)}
    victim = subprocess.Popen(
        [FLASK, "--app", "server", "timer-worker", "--once"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once it has fired some, mid-run
        with db.read() as session:
            fired = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "timer.fired")
            )
        if fired >= 3 or victim.poll() is not None:
            break
        time.sleep(0.01)
    victim.kill()
    victim.wait(10)
    finished = subprocess.run(
        [FLASK, "--app", "server", "timer-worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    with db.read() as session:
        per_instance = dict(
            session.execute(
                select(AuditEvent.instance_id, func.count())
                .where(AuditEvent.action == "timer.fired")
                .group_by(AuditEvent.instance_id)
            ).all()
        )
    assert per_instance == {i: 1 for i in ids}
    assert consistency.check_all(db)[1] == []
