"""Webhooks on both databases, posted to a real local HTTP receiver: the generic format signed
with HMAC-SHA256 (verifiable from the headers), 企业微信 and 钉钉 group robots in their own shapes
(钉钉 signed in its query string); one post per unit for a fan-out; URLs that are not plain
http(s) are refused; a failing receiver is retried with backoff, then a dead letter the admin
sends again."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest

from notifications import outbox, webhooks, worker
from workflows import clock
from workflows.admin import InvalidInput
from workflows.errors import Conflict

from .conftest import deliver, rows
from .test_outbox import launch


def register(db, unit: str, url: str, fmt: str = "generic", secret: str = "s3cret") -> int:
    with db.write() as s:
        return webhooks.create(
            s, org_unit=unit, url=url, format=fmt, secret=secret, actor_id=None
        ).id


def test_generic_posts_are_signed_and_one_per_unit(db, actor, http, settings):
    register(db, "TB-RG", http.url("/rg"))
    register(db, "TB-HM", http.url("/hm"))
    launch(db, actor, ("TB-RG-01", "TB-RG-02", "TB-HM-01"))
    assert len(rows(db, channel="webhook")) == 2
    assert deliver(db, settings).sent == 2
    posts = {p.path: p for p in http.posts}
    assert set(posts) == {"/rg", "/hm"}
    post = posts["/rg"]
    stamp, signature = post.headers["X-Timestamp"], post.headers["X-Signature"]
    expected = hmac.new(b"s3cret", stamp.encode() + b"." + post.body, hashlib.sha256).hexdigest()
    assert signature == "sha256=" + expected
    body = post.json()
    assert body["org_unit"] == "TB-RG" and body["kind"] == "task_opened"
    assert len(body["items"]) == 2 and body["items"][0]["task_key"] == "street_review"
    assert body["items"][0]["url"].startswith("http://svc/tasks/")
    assert post.headers["X-Notification-Id"] == str(body["id"])


def test_wecom_robot_markdown(db, actor, http, settings):
    register(db, "TB-RG-01", http.url("/wecom?key=abc"), "wecom", "")
    launch(db, actor, ("TB-RG-01",))
    # the committee's task comes later; tell the community's robot something now
    with db.write() as s:
        hook = webhooks.listing(s)
        webhooks.send_test(s, s.scalars(hook).one().id, actor_id=None)
    assert deliver(db, settings).sent == 1
    (post,) = http.posts
    assert post.query == {"key": ["abc"]}
    body = post.json()
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"content"}
    assert "测试消息" in body["markdown"]["content"]


def test_dingtalk_robot_markdown_signed_in_the_query(db, actor, http, settings):
    register(db, "TB-RG", http.url("/robot/send?access_token=t0k"), "dingtalk", "SECabc")
    launch(db, actor, ("TB-RG-01",))
    assert deliver(db, settings).sent == 1
    (post,) = http.posts
    assert post.query["access_token"] == ["t0k"]
    stamp, sign = post.query["timestamp"][0], post.query["sign"][0]
    digest = hmac.new(b"SECabc", f"{stamp}\nSECabc".encode(), hashlib.sha256).digest()
    assert sign == base64.b64encode(digest).decode()
    body = post.json()
    assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
    assert "街道审核" in body["markdown"]["text"]


def test_a_robot_errcode_is_a_failure(db, actor, http, settings):
    register(db, "TB-RG", http.url(), "wecom", "")
    http.answer = b'{"errcode": 93000, "errmsg": "invalid webhook url"}'
    launch(db, actor, ("TB-RG-01",))
    done = deliver(db, settings)
    assert (done.sent, done.failed) == (0, 1)
    (row,) = rows(db, channel="webhook")
    assert row.status == "pending" and "93000" in row.last_error


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.cn/x",
        "gopher://example.cn/",
        "http://user:pw@example.cn/hook",
        "https://token@example.cn/hook",
        "http:///nohost",
        "http://example.cn:99999/",
        "http://exa mple.cn/",
        "javascript:alert(1)",
        "",
    ],
)
def test_urls_that_are_not_plain_http_are_refused(db, url):
    with db.write() as s, pytest.raises(InvalidInput) as refused:
        webhooks.create(s, org_unit="TB-RG", url=url, format="generic", actor_id=None)
    assert refused.value.reasons == {"url": "invalid_url"}


def test_any_host_and_both_schemes_are_accepted_and_a_secret_is_made(db):
    with db.write() as s:
        hook = webhooks.create(
            s, org_unit="TB-RG", url="https://qyapi.weixin.qq.com/x?key=1", actor_id=None
        )
        assert len(hook.secret) >= 32  # generic without a secret: one is made


def test_unknown_unit_and_format_are_refused_by_field(db):
    with db.write() as s, pytest.raises(InvalidInput) as refused:
        webhooks.create(s, org_unit="NOPE", url="http://x.cn/", format="slack", actor_id=None)
    assert refused.value.reasons == {"org_unit": "unknown_org_unit", "format": "invalid_format"}


def test_retries_back_off_then_a_dead_letter_is_sent_again(db, actor, http, settings, monkeypatch):
    monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("NOTIFY_RETRY_SECONDS", "60")
    register(db, "TB-RG", http.url())
    http.status = 500
    start = clock.now()
    clock.freeze(start)
    launch(db, actor, ("TB-RG-01",))
    assert deliver(db, settings).failed == 1
    (row,) = rows(db, channel="webhook")
    assert (row.attempts, row.next_attempt_at) == (1, start + timedelta(seconds=60))
    assert deliver(db, settings).total == 0  # not due yet
    clock.advance(timedelta(seconds=61))
    assert deliver(db, settings).failed == 1
    (row,) = rows(db, channel="webhook")
    assert row.attempts == 2 and row.next_attempt_at == clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=121))
    assert deliver(db, settings).dead == 1
    (row,) = rows(db, channel="webhook")
    assert row.status == "dead" and row.last_error == "HTTP 500" and row.next_attempt_at is None
    clock.advance(timedelta(days=1))
    assert deliver(db, settings).total == 0 and http.posts == []  # dead stays dead
    with db.read() as s:
        assert [r.id for r in s.scalars(outbox.listing("dead"))] == [row.id]

    http.status = 200
    with db.write() as s:
        outbox.retry(s, row.id, actor_id=None)
    with db.write() as s, pytest.raises(Conflict):
        outbox.retry(s, row.id, actor_id=None)  # pending now, not dead
    assert deliver(db, settings).sent == 1
    assert len(http.posts) == 1
    (row,) = rows(db, channel="webhook")
    assert row.status == "sent" and row.last_error is None


def test_backoff_doubles_up_to_its_ceiling(monkeypatch):
    monkeypatch.setenv("NOTIFY_RETRY_SECONDS", "30")
    monkeypatch.setenv("NOTIFY_RETRY_MAX_SECONDS", "3600")
    assert [worker.backoff(n).total_seconds() for n in (1, 2, 3, 4, 8, 20)] == [
        30,
        60,
        120,
        240,
        3600,
        3600,
    ]


def test_a_deleted_webhooks_messages_die(db, actor, http, settings, monkeypatch):
    monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "1")
    hook_id = register(db, "TB-RG", http.url())
    launch(db, actor, ("TB-RG-01",))
    with db.write() as s:
        webhooks.delete(s, hook_id, actor_id=None)
    assert deliver(db, settings).dead == 1
    assert rows(db, channel="webhook")[0].last_error == "the webhook was deleted"


def test_an_unforeseen_error_is_one_messages_failure_not_the_queues(
    db, actor, http, settings, monkeypatch
):
    register(db, "TB-RG", http.url("/rg"))
    register(db, "TB-HM", http.url("/hm"))
    launch(db, actor, ("TB-RG-01", "TB-HM-01"))
    real = worker.send

    def flaky(row, settings):
        if row.webhook.org_unit.code == "TB-RG":
            raise RuntimeError("a bug")
        real(row, settings)

    monkeypatch.setattr(worker, "send", flaky)
    done = deliver(db, settings)
    assert (done.sent, done.failed) == (1, 1)
    assert [p.path for p in http.posts] == ["/hm"]
    failed = [r for r in rows(db, channel="webhook") if r.status == "pending"]
    assert [r.last_error for r in failed] == ["RuntimeError: a bug"]
