"""Notifications: my 站内消息 and settings; admins' webhooks and the outbox's dead letters.

The views parse and call the `notifications` service functions the pages call too, so both
refuse and write alike.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from notifications import inbox, outbox, settings, webhooks
from workflows.queries import paged

from .. import get_db
from ..auth import admin_required, current_actor, login_required
from ..schemas import (
    NotificationOut,
    NotificationPage,
    NotificationQuery,
    OutboxOut,
    OutboxPage,
    OutboxQuery,
    ReadAllOut,
    SettingsOut,
    SettingsPatch,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookQuery,
)
from .contract import may_answer
from .paging import page_body

blp = Blueprint("notifications", __name__, description="通知 Notifications")


def _settings_body(value: settings.Settings) -> dict:
    return {
        "email": value.email,
        "email_enabled": value.email_enabled,
        "email_active": value.email_active,
        "inapp_enabled": value.inapp_enabled,
    }


# --- mine -----------------------------------------------------------------------------------


@blp.get("/notifications")
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, NotificationPage)
@login_required
def list_notifications(q):
    """My in-app messages, unread first (`unread=true`: only those)."""
    with get_db().read() as session:
        found = inbox.page(
            session,
            current_actor().user_id,
            unread=q.get("unread"),
            page=q["page"],
            per_page=q["per_page"],
        )
        return page_body(found)


@blp.post("/notifications/<int:notification_id>/read")
@blp.response(200, NotificationOut)
@login_required
def read_notification(notification_id):
    """Mark one of my messages read (404 for anyone else's)."""
    with get_db().write() as session:
        return inbox.mark_read(session, current_actor().user_id, notification_id)


@blp.post("/notifications/read-all")
@blp.response(200, ReadAllOut)
@login_required
def read_all_notifications():
    with get_db().write() as session:
        return {"marked": inbox.mark_all_read(session, current_actor().user_id)}


@blp.get("/me/settings")
@blp.response(200, SettingsOut)
@login_required
def my_settings():
    """My channels: in-app always; e-mail when chosen and an address is set."""
    with get_db().read() as session:
        return _settings_body(settings.read(session, current_actor().user_id))


@blp.patch("/me/settings")
@blp.arguments(SettingsPatch, required=False)
@blp.response(200, SettingsOut)
@login_required
def patch_my_settings(body):
    """Change my e-mail address (null or "": none) and whether I get e-mails (which needs an
    address: 422 `email`)."""
    with get_db().write() as session:
        return _settings_body(settings.update(session, current_actor().user_id, body or {}))


# --- admin ----------------------------------------------------------------------------------


@blp.get("/webhooks")
@blp.arguments(WebhookQuery, location="query")
@blp.response(200, WebhookPage)
@admin_required
def list_webhooks(q):
    with get_db().read() as session:
        stmt = webhooks.listing(session, q.get("org_unit"))
        return page_body(paged(session, stmt, q["page"], q["per_page"]))


@blp.post("/webhooks")
@blp.arguments(WebhookCreate)
@blp.response(201, WebhookCreated)
@admin_required
def create_webhook(body):
    """Register a URL (http or https, no credentials in it) for an org unit's messages in
    `generic` (signed: X-Timestamp, X-Signature), `wecom` or `dingtalk` format. A generic
    webhook without a secret gets one, answered here only."""
    with get_db().write() as session:
        return webhooks.create(session, **body, actor_id=current_actor().user_id)


@blp.delete("/webhooks/<int:webhook_id>")
@blp.response(204)
@admin_required
def delete_webhook(webhook_id):
    with get_db().write() as session:
        webhooks.delete(session, webhook_id, actor_id=current_actor().user_id)


@blp.post("/webhooks/<int:webhook_id>/test")
@blp.response(202)
@admin_required
def test_webhook(webhook_id):
    """Queue a test message to the webhook (the worker sends it)."""
    with get_db().write() as session:
        webhooks.send_test(session, webhook_id, actor_id=current_actor().user_id)


@blp.get("/outbox")
@blp.arguments(OutboxQuery, location="query")
@blp.response(200, OutboxPage)
@admin_required
def list_outbox(q):
    """E-mails and webhook posts by status: `dead` (the default) are those that failed
    NOTIFY_MAX_ATTEMPTS times."""
    with get_db().read() as session:
        return page_body(paged(session, outbox.listing(q["status"]), q["page"], q["per_page"]))


@blp.post("/outbox/<int:notification_id>/retry")
@blp.response(200, OutboxOut)
@may_answer(409)
@admin_required
def retry_outbox(notification_id):
    """Send a dead message again (409 if it is not dead)."""
    with get_db().write() as session:
        return outbox.retry(session, notification_id, actor_id=current_actor().user_id)
