"""The notification API on both databases through Flask's test client: my messages (paged,
unread filter, mark read, not anyone else's), my settings, the admin's e-mail field, webhooks
and the dead letters with their retry; refusals are 4xx naming the field, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from notifications.models import Notification
from server import create_app

from .test_admin_paths import Api
from .test_web_pages import launch


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def test_my_messages_paged_filtered_and_marked_read(app, db, actor):
    launch(db, actor, ["TB-RG-01"])
    launch(db, actor, ["TB-RG-02"])
    rg = Api(app, "street.rg")
    body = rg.call("GET", "/notifications").get_json()
    assert body["total"] == 2 and all(n["unread"] for n in body["items"])
    first = body["items"][0]
    assert first["kind"] == "task_opened" and first["items"][0]["task_key"] == "street_review"
    assert first["created_at"].endswith("+08:00")

    r = rg.call("POST", f"/notifications/{first['id']}/read")
    assert r.status_code == 200 and r.get_json()["unread"] is False
    assert rg.call("GET", "/notifications?unread=true").get_json()["total"] == 1
    assert rg.call("GET", "/notifications?unread=false").get_json()["total"] == 1
    listed = rg.call("GET", "/notifications").get_json()["items"]
    assert [n["unread"] for n in listed] == [True, False]  # unread first

    other = Api(app, "street.hm")
    assert other.call("POST", f"/notifications/{first['id']}/read").status_code == 404
    assert other.call("GET", "/notifications").get_json()["total"] == 0
    assert rg.call("POST", "/notifications/read-all").get_json() == {"marked": 1}
    assert rg.call("GET", "/notifications?unread=true").get_json()["total"] == 0
    assert rg.call("GET", "/notifications?unread=maybe").status_code == 422
    assert rg.call("POST", "/notifications/99999999999/read").status_code == 404


def test_my_settings(app, db):
    me = Api(app, "committee.rg01")
    assert me.call("GET", "/me/settings").get_json() == {
        "email": None,
        "email_enabled": True,
        "email_active": False,
        "inapp_enabled": True,
    }
    r = me.call("PATCH", "/me/settings", {"email": "not-an-address"})
    assert r.status_code == 422 and "email" in r.get_json()["error"]["fields"]
    r = me.call("PATCH", "/me/settings", {"email": "rg01@example.cn", "email_enabled": True})
    assert r.status_code == 200 and r.get_json()["email_active"] is True
    r = me.call("PATCH", "/me/settings", {"email_enabled": False})
    assert r.get_json() == {
        "email": "rg01@example.cn",
        "email_enabled": False,
        "email_active": False,
        "inapp_enabled": True,
    }
    assert me.call("PATCH", "/me/settings", {"email": ""}).get_json()["email"] is None
    r = me.call("PATCH", "/me/settings", {"email_enabled": True})
    assert r.status_code == 422 and "email" in r.get_json()["error"]["fields"]
    assert me.call("PATCH", "/me/settings", {"inapp_enabled": False}).status_code == 422
    assert me.call("GET", "/me").get_json()["email"] is None


def test_the_admin_sets_a_users_address(app, db):
    admin = Api(app, "admin")
    r = admin.call("PATCH", "/users/committee.rg01", {"email": "rg01@example.cn"})
    assert r.status_code == 200 and r.get_json()["email"] == "rg01@example.cn"
    r = admin.call("PATCH", "/users/committee.rg01", {"email": "a@b"})
    assert r.status_code == 422 and "email" in r.get_json()["error"]["fields"]
    assert Api(app, "committee.rg01").call("GET", "/me/settings").get_json()["email_active"]
    r = admin.call("PATCH", "/users/committee.rg01", {"email": None})
    assert r.get_json()["email"] is None


def test_webhooks_for_admins_only(app, db):
    admin, officer = Api(app, "admin"), Api(app, "dept.mz")
    body = {"org_unit": "TB-RG", "url": "http://127.0.0.1:9/hook", "format": "generic"}
    assert officer.call("POST", "/webhooks", body).status_code == 403
    assert officer.call("GET", "/webhooks").status_code == 403
    r = admin.call("POST", "/webhooks", body)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["org_unit"] == "TB-RG" and len(created["secret"]) >= 32
    listed = admin.call("GET", "/webhooks?org_unit=TB-RG").get_json()
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    assert listed["items"][0]["has_secret"] is True
    for bad in ("file:///etc/passwd", "ftp://x.cn/", "http://u:p@x.cn/"):
        r = admin.call("POST", "/webhooks", {**body, "url": bad})
        assert r.status_code == 422 and "url" in r.get_json()["error"]["fields"], bad
    r = admin.call("POST", "/webhooks", {**body, "format": "slack"})
    assert r.status_code == 422
    r = admin.call("POST", "/webhooks", {**body, "org_unit": "NOPE"})
    assert r.status_code == 422 and "org_unit" in r.get_json()["error"]["fields"]
    assert admin.call("POST", f"/webhooks/{created['id']}/test").status_code == 202
    assert admin.call("DELETE", f"/webhooks/{created['id']}").status_code == 204
    assert admin.call("DELETE", f"/webhooks/{created['id']}").status_code == 404
    assert admin.call("POST", f"/webhooks/{created['id']}/test").status_code == 404


def test_dead_letters_listed_and_retried(app, db, actor):
    admin = Api(app, "admin")
    admin.call("PATCH", "/users/street.rg", {"email": "street.rg@example.cn"})
    launch(db, actor, ["TB-RG-01"])
    with db.write() as s:
        s.execute(
            update(Notification)
            .where(Notification.channel == "email")
            .values(status="dead", attempts=8, last_error="SMTP: refused", next_attempt_at=None)
        )
        dead_id = s.scalar(select(Notification.id).where(Notification.channel == "email"))
    assert Api(app, "street.rg").call("GET", "/outbox").status_code == 403
    body = admin.call("GET", "/outbox").get_json()
    assert [n["id"] for n in body["items"]] == [dead_id]
    assert body["items"][0]["address"] == "street.rg@example.cn"
    assert body["items"][0]["last_error"] == "SMTP: refused"
    assert admin.call("GET", "/outbox?status=pending").get_json()["total"] == 0
    assert admin.call("GET", "/outbox?status=lost").status_code == 422
    r = admin.call("POST", f"/outbox/{dead_id}/retry")
    assert r.status_code == 200 and r.get_json()["status"] == "pending"
    assert r.get_json()["attempts"] == 0
    assert admin.call("POST", f"/outbox/{dead_id}/retry").status_code == 409
    assert admin.call("POST", "/outbox/12345678/retry").status_code == 404
    assert admin.call("GET", "/outbox").get_json()["total"] == 0
