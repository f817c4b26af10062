"""The real worker, `flask --app server notify-worker`, as separate processes on both
databases: SIGKILLed while a slow SMTP server and a slow webhook receiver have a message in
hand, then run again, every message arrives, and exactly once counted by its Message-ID /
X-Notification-Id (the one in flight when the worker died may arrive a second time with the
same id, which is what those ids are for); two workers at once send each message once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from notifications import webhooks
from notifications.models import Notification
from tests.test_handoff import STREET_USERS, new_request

from .conftest import set_email
from .receivers import HttpReceiver, SmtpReceiver

ROOT = Path(__file__).resolve().parents[3]
FLASK = str(Path(sys.executable).parent / "flask")
pytestmark = pytest.mark.slow


def env_for(db, smtp: SmtpReceiver) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db.url,
        "SMTP_URL": smtp.url,
        "MAIL_FROM": "noreply@handoff.example",
        "NOTIFY_RETRY_SECONDS": "1",
    }


def worker(env, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [FLASK, "--app", "server", "notify-worker", "--interval", "0.2", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def seven_streets(db, actor, http: HttpReceiver) -> None:
    """One request per street (seven transactions): seven e-mails and seven webhook posts."""
    for username, street in STREET_USERS.items():
        set_email(db, username, f"{username}@example.cn")
        with db.write() as s:
            webhooks.create(s, org_unit=street, url=http.url(f"/{street}"), actor_id=None)
    for street in STREET_USERS.values():
        new_request(db, actor, communities=(f"{street}-01",))


def pending(db) -> int:
    with db.read() as s:
        return s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.channel != "inapp", Notification.status != "sent")
        )


def assert_each_once(smtp: SmtpReceiver, http: HttpReceiver, kills: int) -> None:
    mails = smtp.by_message_id()
    posts: dict[str, int] = {}
    for post in http.posts:
        posts[post.headers["X-Notification-Id"]] = (
            posts.get(post.headers["X-Notification-Id"], 0) + 1
        )
    assert len(mails) == 7 and len(posts) == 7
    assert {m[0].rcpt_tos[0] for m in mails.values()} == {f"{u}@example.cn" for u in STREET_USERS}
    assert {p.path for p in http.posts} == {f"/{street}" for street in STREET_USERS.values()}
    # only a message in flight at a kill can have come twice, and then under the same id
    repeats = sum(len(m) - 1 for m in mails.values()) + sum(n - 1 for n in posts.values())
    assert repeats <= kills, (repeats, kills)


def test_a_worker_killed_mid_delivery_loses_nothing_and_repeats_nothing(db, actor):
    with SmtpReceiver(delay=0.6) as smtp, HttpReceiver(delay=0.6) as http:
        seven_streets(db, actor, http)
        env = env_for(db, smtp)
        victim = worker(env)
        deadline = time.monotonic() + 120
        # kill it while a receiver holds its third message, half-way through the slow answer
        while time.monotonic() < deadline and len(smtp.mails) + len(http.posts) < 2:
            assert victim.poll() is None, victim.stderr.read()
            time.sleep(0.05)
        smtp.receiving.clear()
        http.receiving.clear()
        while not (smtp.receiving.is_set() or http.receiving.is_set()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.3)
        victim.kill()
        victim.wait(10)
        assert pending(db) > 0  # it died with work left
        smtp.delay = http.delay = 0.0
        rerun = worker(env, "--once")
        _, errors = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, errors
        assert pending(db) == 0
        assert_each_once(smtp, http, kills=1)


def test_two_worker_processes_at_once_send_each_message_once(db, actor):
    with SmtpReceiver(delay=0.2) as smtp, HttpReceiver(delay=0.2) as http:
        seven_streets(db, actor, http)
        env = env_for(db, smtp)
        both = [worker(env, "--once") for _ in range(2)]
        for proc in both:
            _, errors = proc.communicate(timeout=300)
            assert proc.returncode == 0, errors
        assert pending(db) == 0
        assert_each_once(smtp, http, kills=0)
