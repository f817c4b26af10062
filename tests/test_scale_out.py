"""Scale-out: two app hosts (gunicorn on 127.0.0.2 and 127.0.0.3) and two timer workers over one
PostgreSQL; a mixed load through both hosts; one host killed with SIGKILL mid-run. Nothing
acknowledged is lost and nothing is done twice."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from workflows.db import Database
from workflows.models import AuditEvent, Task

from .conftest import _fresh_postgres_database, _postgres_url
from .live import Client, LiveServer, prepare_database

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")
STREETS = {"TB-HM": "street.hm", "TB-MR": "street.mr", "TB-CQ": "street.cq"}
pytestmark = pytest.mark.slow


class Load:
    """Clients that create requests and approve reviews through a list of hosts."""

    def __init__(self, hosts: list[str]):
        self.hosts = hosts
        self.acked: list[int] = []  # task ids whose completion was acknowledged (200)
        self.created: list[int] = []
        self.errors = 0
        self.lock = threading.Lock()

    def run(self, host: str, street: str, seconds: float, stop: threading.Event) -> None:
        try:
            dept = Client(host, "dept.mz")
            reviewer = Client(host, STREETS[street])
        except requests.RequestException:
            return
        deadline = time.monotonic() + seconds
        for n in itertools.count():
            if stop.is_set() or time.monotonic() > deadline:
                return
            try:
                r = dept.post(
                    "/requests",
                    {
                        "title": f"扩展测试 {n}",
                        "item_code": "A01",
                        "amount": "100.00",
                        "due_date": "2099-12-31",
                        "community_codes": [f"{street}-0{1 + n % 5}"],
                    },
                )
                if r.status_code == 201:
                    with self.lock:
                        self.created.append(r.json()["id"])
                for task in reviewer.inbox(key="street_review")[:3]:
                    done = reviewer.complete(task["id"], {"decision": "approve"})
                    if done.status_code == 200:
                        with self.lock:
                            self.acked.append(task["id"])
            except requests.RequestException:
                with self.lock:
                    self.errors += 1
                return  # this host is gone


def start_worker(url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "CLOCK_OFFSET_SECONDS": str(40 * 86400)}
    return subprocess.Popen(
        [FLASK, "--app", "server", "timer-worker", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_two_hosts_two_workers_one_host_killed(database_url_factory):
    database_url_factory("postgresql")  # skips or fails when there is no PostgreSQL
    url = _fresh_postgres_database(_postgres_url())
    prepare_database(url)
    host_a = LiveServer(url, workers=2, host="127.0.0.2").start()
    host_b = LiveServer(url, workers=2, host="127.0.0.3").start()
    workers = [start_worker(url), start_worker(url)]
    load = Load([host_a.base, host_b.base])
    stop = threading.Event()
    threads = [
        threading.Thread(target=load.run, args=(host.base, street, 20, stop))
        for host, street in [
            (host_a, "TB-HM"),
            (host_b, "TB-MR"),
            (host_a, "TB-CQ"),
            (host_b, "TB-HM"),
        ]
    ]
    try:
        for t in threads:
            t.start()
        time.sleep(6)
        host_a.kill()  # mid-run: its clients lose the connection
        for t in threads:
            t.join(60)
        # host B still serves, and a client moves over to it
        survivor = Client(host_b.base, "street.hm")
        for task in survivor.inbox(key="street_review")[:5]:
            if survivor.complete(task["id"], {"decision": "approve"}).status_code == 200:
                load.acked.append(task["id"])
        time.sleep(2)  # let the workers fire what is due
    finally:
        stop.set()
        for w in workers:
            w.terminate()
            w.wait(30)
        host_a.stop()
        host_b.stop()

    assert len(load.acked) >= 5 and len(load.created) >= 5
    db = Database(url)
    try:
        with db.read() as session:
            completed = set(
                session.scalars(
                    select(Task.id).where(Task.id.in_(load.acked), Task.status == "completed")
                )
            )
            assert completed == set(load.acked)  # nothing acknowledged was lost
            twice = session.execute(
                select(AuditEvent.task_id, func.count())
                .where(AuditEvent.action == "task.completed")
                .group_by(AuditEvent.task_id)
                .having(func.count() > 1)
            ).all()
            assert twice == []  # nothing was done twice
            fired = Counter(
                (instance_id, detail["timer"])
                for instance_id, detail in session.execute(
                    select(AuditEvent.instance_id, AuditEvent.detail).where(
                        AuditEvent.action == "timer.fired"
                    )
                )
            )
            # a street review's due date, and once it is approved the committee's signature's:
            # each timer of each instance fired once, whichever worker took it
            assert fired and all(count == 1 for count in fired.values()), fired
            escalated = session.scalar(
                select(func.count()).select_from(Task).where(Task.escalated_at.is_not(None))
            )
            assert escalated == len(fired)
    finally:
        db.dispose()
    check = subprocess.run(
        [FLASK, "--app", "server", "check-consistency"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout[-3000:]
