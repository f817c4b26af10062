"""The timer worker command, run as two processes at once, fires every due timer exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflows.models import AuditEvent, ProcessInstance, Task

from .test_engine import deploy_mini, start_mini

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_two_worker_processes_fire_each_timer_once(db):
    definition = deploy_mini(db)
    ids = [start_mini(db, definition) for _ in range(30)]
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "CLOCK_OFFSET_SECONDS": str(40 * 86400),
    }
    flask = str(Path(sys.executable).parent / "flask")
    workers = [
        subprocess.Popen(
            [flask, "--app", "server", "timer-worker", "--once"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    with db.read() as session:
        fired = session.execute(
            select(AuditEvent.instance_id, func.count())
            .where(AuditEvent.action == "timer.fired", AuditEvent.instance_id.in_(ids))
            .group_by(AuditEvent.instance_id)
        ).all()
        assert sorted(fired) == [(i, 1) for i in sorted(ids)]
        escalated = session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.instance_id.in_(ids), Task.escalated_at.is_not(None))
        )
        assert escalated == len(ids)
        pending = session.scalar(
            select(func.count())
            .select_from(ProcessInstance)
            .where(ProcessInstance.id.in_(ids), ProcessInstance.next_timer_at.is_not(None))
        )
        assert pending == 0
