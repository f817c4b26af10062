"""`scripts/serve` as a user runs it, on an empty database: it migrates, seeds the demo district
with its history, answers /readyz with gunicorn, runs a timer worker and a notification worker
(their heartbeats on /metrics), shows a demo account work in its inbox, and on SIGTERM stops
every process it started, the workers forgetting their heartbeats on the way out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from workflows import heartbeat
from workflows.db import Database

from .live import ROOT, Client, free_port

pytestmark = pytest.mark.slow  # the history is made on the first start: a minute or so


def session_processes(sid: int) -> set[int]:
    """The live processes of session `sid` (what serve started, and what they started)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # pid (comm) state ppid pgrp session …: comm may hold spaces, so split after ')'
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def until(what, timeout: float, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(step)
    return what()


def worker_kinds(base: str) -> set[str]:
    try:
        text = requests.get(base + "/metrics", timeout=10).text
    except requests.RequestException:
        return set()
    return {
        s.labels["kind"]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "handoff_worker_heartbeat_age_seconds"
    }


def ready(base: str) -> bool:
    try:
        return requests.get(base + "/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_serve_starts_on_an_empty_database_with_its_workers_and_stops_cleanly(tmp_path):
    url = f"sqlite:///{tmp_path / 'var' / 'handoff.sqlite3'}"
    (tmp_path / "var").mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        # the interpreter running the tests has the project's dependencies: serve uses it as is
        "HANDOFF_VENV": str(Path(sys.executable).parent.parent),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            ["bash", "scripts/serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a session of its own: every process it starts is found
        )
    try:
        up = until(lambda: ready(base) or serve.poll() is not None, timeout=600, step=1)
        assert up and serve.poll() is None, log.read_text()[-3000:]
        assert ready(base)
        output = log.read_text()
        assert "seeded: " in output and "handoffs: " in output, output[-3000:]

        # both workers run beside gunicorn
        kinds = until(lambda: worker_kinds(base) >= {"timer", "notify"}, timeout=120)
        assert kinds, (worker_kinds(base), log.read_text()[-3000:])
        # a first look that is not empty
        assert Client(base, "committee.rg01").inbox()
        assert Client(base, "street.rg").inbox()
        started = session_processes(serve.pid)
        assert len(started) >= 5  # bash, two workers, gunicorn and its worker

        serve.send_signal(signal.SIGTERM)  # to the script only: it stops the others
        assert serve.wait(timeout=90) == 0, log.read_text()[-3000:]
        left = until(lambda: not session_processes(serve.pid), timeout=30)
        assert left, session_processes(serve.pid)
        db = Database(url)
        try:
            with db.read() as session:  # stopped on purpose: no worker looks dead
                rows = session.scalar(select(func.count()).select_from(heartbeat.WorkerHeartbeat))
            assert rows == 0
        finally:
            db.dispose()
        assert not ready(base)
    finally:
        if serve.poll() is None or session_processes(serve.pid):
            try:
                os.killpg(serve.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            serve.wait(timeout=10)
