"""Issue 14.1: every engine step has a wall-clock limit enforced from outside the interpreter
(SIGALRM in the main thread, `workflows.deadline`); a step that overruns is rolled back and its
instance marked `error` with the reason, and the timer worker moves on."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from workflows import clock, deadline, evaluator, limits, service
from workflows.errors import StepTimedOut
from workflows.models import AuditEvent, ProcessInstance, Task

from .processes import (
    REVIEW,
    actions,
    cardinality,
    chain,
    deploy,
    first_open,
    instance,
    open_tasks,
    script,
    start,
    timer,
)

ROOT = Path(__file__).resolve().parents[3]
# ~0.1 s of pure Python per instance (measuring two 990,000-unit values), 40 instances: a step
# of seconds, each script well within the evaluator's own 2 s
SLOW_SCRIPT = script(
    "crunch", "a = [[1] * 990] * 1000\nb = [[1] * 990] * 1000\nsame = a == b", cardinality("40")
)


@pytest.fixture
def short_steps(monkeypatch):
    """Steps of at most 0.3 s for this test (the default is 5 s)."""
    monkeypatch.setattr(limits, "SETTINGS", dataclasses.replace(limits.SETTINGS, step_seconds=0.3))


# --- the mechanism ---------------------------------------------------------------------------


def _spin() -> None:
    while True:  # pure Python: no thread could stop it
        pass


def test_a_pure_python_loop_is_interrupted_in_the_main_thread():
    started = time.monotonic()
    with pytest.raises(deadline.StepTimeout), deadline.step_limit(0.2):
        _spin()
    assert 0.15 < time.monotonic() - started < 2


def test_the_timeout_passes_through_except_exception():
    caught = []
    with pytest.raises(deadline.StepTimeout), deadline.step_limit(0.1):
        try:
            _spin()
        except Exception as exc:  # what SpiffWorkflow and the evaluator do  # pragma: no cover
            caught.append(exc)
    assert caught == []


def test_the_previous_alarm_handler_and_timer_are_put_back():
    fired = []

    def theirs(*_):
        fired.append(1)

    previous = signal.signal(signal.SIGALRM, theirs)
    try:
        signal.setitimer(signal.ITIMER_REAL, 5)
        with deadline.step_limit(1):
            assert signal.getsignal(signal.SIGALRM) is not theirs
        assert signal.getsignal(signal.SIGALRM) is theirs
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 3 < remaining <= 5
        time.sleep(0.3)  # nothing of ours fires after the step
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == []


def test_outside_the_main_thread_the_evaluator_stops_at_the_deadline():
    result = {}

    def run():
        try:
            with deadline.step_limit(0.2):
                # many cheap expressions, as a step of many scripts would run
                while True:
                    evaluator.evaluate("1 + 1", {})
        except deadline.StepTimeout as exc:
            result["stopped"] = exc

    handler = signal.getsignal(signal.SIGALRM)
    thread = threading.Thread(target=run)
    started = time.monotonic()
    thread.start()
    thread.join(10)
    assert isinstance(result.get("stopped"), deadline.StepTimeout)
    assert time.monotonic() - started < 2
    assert signal.getsignal(signal.SIGALRM) is handler  # no signal outside the main thread


def test_an_expression_stops_at_the_steps_deadline(monkeypatch):
    monkeypatch.setattr(deadline, "_can_signal", lambda: False)  # cooperative checks only
    with pytest.raises(deadline.StepTimeout), deadline.step_limit(0.05):
        time.sleep(0.1)
        evaluator.evaluate("1 + 1", {})


# --- steps of the service --------------------------------------------------------------------


def test_an_overrunning_start_is_refused_and_stores_nothing(db, short_steps):
    definition = deploy(db, chain(SLOW_SCRIPT, REVIEW))
    started = time.monotonic()
    with pytest.raises(StepTimedOut) as err:
        start(db, definition)
    assert time.monotonic() - started < 3
    assert err.value.element == "crunch" and err.value.code == "step_timeout"
    assert "0.3 seconds" in err.value.message
    with db.read() as session:
        assert session.scalars(select(ProcessInstance.id)).all() == []


def test_an_overrunning_completion_is_undone_and_marks_the_instance_error(db, actor, short_steps):
    instance_id = start(db, deploy(db, chain(REVIEW, SLOW_SCRIPT, REVIEW.replace("review", "r2"))))
    review = first_open(db, instance_id)
    with pytest.raises(StepTimedOut) as err:
        service.complete_task(db, review.id, actor("street.rg"), {})
    assert err.value.element == "crunch"
    row = instance(db, instance_id)
    assert row.status == "error" and "0.3 seconds" in row.error and "crunch" in row.error
    assert open_tasks(db, instance_id) == []  # withdrawn: nobody can complete them now
    with db.read() as session:
        task = session.get(Task, review.id)
        assert (task.status, task.completed_by_id) == ("withdrawn", None)  # not completed
        error = session.scalar(
            select(AuditEvent).where(
                AuditEvent.instance_id == instance_id, AuditEvent.action == "instance.error"
            )
        )
        assert "0.3 seconds" in error.detail["error"]
    assert "task.completed" not in actions(db, instance_id)  # the completion was rolled back


def test_the_mark_waits_for_the_outer_transaction_to_roll_back(db, actor, short_steps):
    """As with an Idempotency-Key, whose record shares the transaction of the completion."""
    instance_id = start(db, deploy(db, chain(REVIEW, SLOW_SCRIPT)))
    review = first_open(db, instance_id)
    with pytest.raises(StepTimedOut), db.write():
        service.complete_task(db, review.id, actor("street.rg"), {})
    assert instance(db, instance_id).status == "error"


def test_the_timer_worker_marks_the_instance_and_moves_on(db, short_steps):
    slow = deploy(db, chain(timer("wait", "timeDuration", "P1D"), SLOW_SCRIPT, REVIEW))
    fine = deploy(db, chain(timer("wait", "timeDuration", "P1D"), REVIEW, key="q"))
    stuck, other = start(db, slow), start(db, fine)
    clock.advance(timedelta(days=2))
    started = time.monotonic()
    assert service.fire_due_timers(db) == 1  # the other one; the stuck one is marked
    assert time.monotonic() - started < 5
    assert instance(db, stuck).status == "error" and "crunch" in instance(db, stuck).error
    assert instance(db, stuck).next_timer_at is None
    assert [t.key for t in open_tasks(db, other)] == ["review"]
    assert service.fire_due_timers(db) == 0


def test_the_reason_is_shown_by_the_api_and_the_instance_pages(db, actor, short_steps):
    from server import create_app
    from tests.test_web_pages import signed_in, text

    instance_id = start(db, deploy(db, chain(REVIEW, SLOW_SCRIPT)))
    with pytest.raises(StepTimedOut):
        service.complete_task(db, first_open(db, instance_id).id, actor("street.rg"), {})
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"username": "street.rg", "password": "demo-pass-2026"}
    ).json["token"]
    body = client.get(
        f"/api/v1/instances/{instance_id}", headers={"Authorization": f"Bearer {token}"}
    ).json
    assert body["state"] == "error" and "0.3 seconds" in body["error"], body
    assert body["open_tasks"] == []
    listed = client.get(
        "/api/v1/instances",
        query_string={"state": "error"},
        headers={"Authorization": f"Bearer {token}"},
    ).json["items"]
    assert [(i["id"], "crunch" in i["error"]) for i in listed] == [(instance_id, True)]
    admin = signed_in(app, "admin")
    page = text(admin.get(f"/instances/{instance_id}"))
    assert "出错原因" in page and "0.3 seconds" in page and "crunch" in page
    rows = text(admin.get("/instances"))
    assert "0.3 seconds" in rows  # the list shows the reason on the state


@pytest.mark.slow
def test_the_timer_worker_command_does_not_hang_on_an_overrunning_step(db):
    stuck = start(db, deploy(db, chain(timer("wait", "timeDuration", "P1D"), SLOW_SCRIPT, REVIEW)))
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "CLOCK_OFFSET_SECONDS": str(2 * 86400),
        "MAX_STEP_SECONDS": "1",
    }
    flask = str(Path(sys.executable).parent / "flask")
    started = time.monotonic()
    done = subprocess.run(
        [flask, "--app", "server", "timer-worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.monotonic() - started < 60
    row = instance(db, stuck)
    assert row.status == "error" and "1 seconds" in row.error, row.error
