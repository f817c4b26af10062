"""Done when (issue 15): a committee member gets a 企业微信 message and an e-mail when a task
reaches them, and nothing twice. Through the real service (gunicorn) and the real worker
process, with a real SMTP server and a real HTTP receiver standing in for the robot; on both
databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .live import Client
from .test_api_handoff import new_request
from .unit.notifications.receivers import HttpReceiver, SmtpReceiver

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")
pytestmark = pytest.mark.slow


def run_worker(live, smtp: SmtpReceiver) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": live.db_url,
        "SMTP_URL": smtp.url,
        "MAIL_FROM": "社区事项提醒 <noreply@handoff.example>",
        "NOTIFY_BASE_URL": live.base,
    }
    done = subprocess.run(
        [FLASK, "--app", "server", "notify-worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def test_a_committee_member_hears_of_their_task_by_robot_and_mail_once(live):
    admin = Client(live.base, "admin")
    address = "committee.rg01@example.cn"
    with SmtpReceiver() as smtp, HttpReceiver() as robot:
        r = admin.patch("/users/committee.rg01", {"email": address})
        assert r.status_code == 200, r.text
        r = admin.post(
            "/webhooks",
            {
                "org_unit": "TB-RG-01",
                "url": robot.url("/cgi-bin/webhook/send?key=k"),
                "format": "wecom",
            },
        )
        assert r.status_code == 201, r.text
        hook = r.json()["id"]
        try:
            run_worker(live, smtp)  # whatever earlier tests left is out of the way
            smtp.mails.clear()
            robot.posts.clear()
            dept, rg = Client(live.base, "dept.mz"), Client(live.base, "street.rg")
            body = new_request(dept, ["TB-RG-01"])
            (review,) = [t for t in rg.inbox(key="street_review") if t["request_id"] == body["id"]]
            assert rg.complete(review["id"], {"decision": "approve"}).status_code == 200
            committee = Client(live.base, "committee.rg01")
            (sign,) = [
                t for t in committee.inbox(key="sign_committee") if t["request_id"] == body["id"]
            ]
            run_worker(live, smtp)
            run_worker(live, smtp)  # a second run sends nothing again

            mine = [m for m in smtp.mails if m.rcpt_tos == [address]]
            assert len(mine) == 1, [m.message["Subject"] for m in smtp.mails]
            assert "居委会签署协议" in mine[0].message["Subject"]
            assert f"{live.base}/tasks/{sign['id']}" in mine[0].message.get_content()
            assert len(robot.posts) == 1
            post = robot.posts[0]
            assert post.query == {"key": ["k"]}
            content = post.json()["markdown"]["content"]
            assert post.json()["msgtype"] == "markdown" and "居委会签署协议" in content
            inapp = committee.get("/notifications?unread=true").json()["items"]
            assert [i["task_id"] for n in inapp for i in n["items"]].count(sign["id"]) == 1
        finally:
            admin.http.delete(f"{admin.base}/webhooks/{hook}", timeout=30)
            admin.patch("/users/committee.rg01", {"email": None})
