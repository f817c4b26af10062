"""The notification pages on both databases through Flask's test client: the unread badge in
the nav (one COUNT per page view), 站内消息 (unread first, mark read, mark all read, links), the
settings page, the admin's e-mail field, webhooks (add with the secret shown once, test, delete,
refusals next to the field) and dead letters (listed, sent again). Every page in one language."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select, update

from notifications.models import Notification, Webhook
from server import create_app
from workflows.models import ProcessInstance, User

from .test_admin_paths import data_words, page_errors
from .test_web_pages import launch, signed_in, text
from .test_web_processes import assert_one_language


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def words(db) -> list[str]:
    with db.read() as s:
        titles = list(s.scalars(select(ProcessInstance.title)))
        addresses = [a for a in s.scalars(select(User.email)) if a]
    return [*data_words(db), *titles, *addresses, "低保对象入户调查"]


def badge(page: str) -> int:
    match = re.search(r'data-unread="(\d+)"', page)
    return int(match.group(1)) if match else 0


def test_badge_messages_and_marking_read(app, db, actor):
    launch(db, actor, ["TB-RG-01", "TB-RG-02"])
    launch(db, actor, ["TB-RG-03"])
    rg = signed_in(app, "street.rg")
    assert badge(text(rg.get("/inbox"))) == 2
    page = text(rg.get("/messages"))
    ids = [int(i) for i in re.findall(r'data-message="(\d+)"', page)]
    assert len(ids) == 2
    assert "共 2 项" in page and "街道审核" in page and "/tasks/" in page

    r = rg.post(f"/messages/{ids[0]}/read", token_from="/messages")
    assert r.status_code == 302
    page = text(rg.get("/messages"))
    assert badge(page) == 1
    # unread first
    assert re.findall(r'data-message="(\d+)"', page)[0] == str(ids[1])
    assert str(ids[0]) not in re.findall(
        r'data-message="(\d+)"', text(rg.get("/messages?show=unread"))
    )
    # someone else's message is not found and stays unread
    hm = signed_in(app, "street.hm")
    assert hm.post(f"/messages/{ids[1]}/read", token_from="/messages").status_code == 404
    assert rg.post("/messages/read-all", token_from="/messages").status_code == 302
    assert badge(text(rg.get("/inbox"))) == 0
    assert badge(text(hm.get("/inbox"))) == 0


def test_the_nav_counts_unread_with_one_query(app, db, actor):
    launch(db, actor, ["TB-RG-01"])
    rg = signed_in(app, "street.rg")
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if "notification" in statement:
            seen.append(statement)

    engine = app.extensions["db"].engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        rg.get("/inbox")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(seen) == 1 and "count(" in seen[0].lower()


def test_settings_page(app, db):
    me = signed_in(app, "committee.rg01")
    assert "通知设置" in text(me.get("/settings"))
    r = me.post("/settings", {"email": "nope", "email_enabled": "1"}, token_from="/settings")
    assert r.status_code == 422 and page_errors(r) == {"email": "请填写有效的电子邮箱"}
    r = me.post("/settings", {"email": "", "email_enabled": "1"}, token_from="/settings")
    assert r.status_code == 422 and "email" in page_errors(r)
    r = me.post(
        "/settings", {"email": "rg01@example.cn", "email_enabled": "1"}, token_from="/settings"
    )
    assert r.status_code == 302
    page = text(me.get("/settings"))
    assert 'value="rg01@example.cn"' in page and "checked" in page
    me.post("/settings", {"email": "rg01@example.cn"}, token_from="/settings")  # box unticked
    assert "checked" not in text(me.get("/settings"))
    with db.read() as s:
        assert s.scalar(select(User.email).where(User.username == "committee.rg01")) == (
            "rg01@example.cn"
        )
    r = me.post("/settings?lang=en", {"email": "bad@"}, token_from="/settings")
    assert page_errors(r) == {"email": "Enter a valid e-mail address"}


def test_the_admin_edits_an_address(app, db):
    admin = signed_in(app, "admin")
    path = "/admin/users/committee.rg01"
    r = admin.post(path + "/email", {"email": "x@"}, token_from=path)
    assert r.status_code == 422 and page_errors(r) == {"email": "请填写有效的电子邮箱"}
    assert (
        admin.post(path + "/email", {"email": "rg01@example.cn"}, token_from=path).status_code
        == 302
    )
    assert 'value="rg01@example.cn"' in text(admin.get(path))


def test_admin_webhooks_page(app, db):
    admin = signed_in(app, "admin")
    form = {"org_unit": "TB-RG", "format": "generic", "url": "http://127.0.0.1:9/hook"}
    r = admin.post("/admin/webhooks", {**form, "url": "ftp://x.cn/"}, token_from="/admin/webhooks")
    assert r.status_code == 422 and list(page_errors(r)) == ["url"]
    r = admin.post("/admin/webhooks", form, token_from="/admin/webhooks")
    assert r.status_code == 201
    secret = re.search(r"<code data-secret>([^<]+)</code>", text(r)).group(1)
    with db.read() as s:
        hook = s.scalars(select(Webhook)).one()
    assert hook.secret == secret
    page = text(admin.get("/admin/webhooks"))
    assert secret not in page and f'data-webhook="{hook.id}"' in page
    assert (
        admin.post(f"/admin/webhooks/{hook.id}/test", token_from="/admin/webhooks").status_code
        == 302
    )
    with db.read() as s:
        (test,) = s.scalars(select(Notification).where(Notification.channel == "webhook"))
        assert test.kind == "test" and test.webhook_id == hook.id
    assert (
        admin.post(f"/admin/webhooks/{hook.id}/delete", token_from="/admin/webhooks").status_code
        == 302
    )
    assert 'data-webhook="' not in text(admin.get("/admin/webhooks"))
    officer = signed_in(app, "dept.mz")
    assert officer.get("/admin/webhooks").status_code == 403


def test_admin_dead_letters_page(app, db, actor):
    with db.write() as s:
        s.execute(update(User).where(User.username == "street.rg").values(email="rg@example.cn"))
    launch(db, actor, ["TB-RG-01"])
    with db.write() as s:
        s.execute(
            update(Notification)
            .where(Notification.channel == "email")
            .values(status="dead", attempts=8, last_error="SMTP: refused")
        )
        dead = s.scalar(select(Notification.id).where(Notification.channel == "email"))
    admin = signed_in(app, "admin")
    page = text(admin.get("/admin/outbox"))
    assert f'data-dead="{dead}"' in page and "SMTP: refused" in page and "rg@example.cn" in page
    r = admin.post(f"/admin/outbox/{dead}/retry", token_from="/admin/outbox")
    assert r.status_code == 302
    assert f'data-dead="{dead}"' not in text(admin.get("/admin/outbox"))
    with db.read() as s:
        assert s.get(Notification, dead).status == "pending"
    r = admin.post(f"/admin/outbox/{dead}/retry", token_from="/admin/outbox")
    assert "该消息已不在投递失败列表中" in text(admin.get("/admin/outbox"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_notification_page_in_one_language(app, db, actor, lang):
    with db.write() as s:
        s.execute(update(User).where(User.username == "street.rg").values(email="rg@example.cn"))
    launch(db, actor, ["TB-RG-01", "TB-RG-02"])
    with db.write() as s:
        s.execute(
            update(Notification)
            .where(Notification.channel == "email")
            .values(status="dead", attempts=8, last_error="SMTP: refused")
        )
    data = words(db)
    rg = signed_in(app, "street.rg")
    rg.get(f"/inbox?lang={lang}")
    for path in ("/messages", "/messages?show=unread", "/settings"):
        r = rg.get(path)
        assert r.status_code == 200, path
        assert_one_language(r, lang, data)
    r = rg.post("/settings", {"email": "bad", "email_enabled": "1"}, token_from="/settings")
    assert_one_language(r, lang, data)
    admin = signed_in(app, "admin")
    admin.get(f"/admin/users?lang={lang}")
    admin.post(
        "/admin/webhooks",
        {"org_unit": "TB-RG", "format": "dingtalk", "url": "http://h.cn/"},
        token_from="/admin/webhooks",
    )
    for path in ("/admin/webhooks", "/admin/outbox", "/admin/users/street.rg"):
        r = admin.get(path)
        assert r.status_code == 200, path
        assert_one_language(r, lang, data)
    r = admin.post(
        "/admin/webhooks", {"org_unit": "TB-RG", "url": "file:///x"}, token_from="/admin/webhooks"
    )
    assert r.status_code == 422
    assert_one_language(r, lang, data)
