"""Administration of notifications: webhooks per org unit (add, delete, send a test) and the
dead letters (e-mails and posts that failed every retry) with a button to send one again.
The same `notifications` functions as the API's."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from notifications import outbox, webhooks
from notifications.models import FORMATS
from workflows import queries
from workflows.errors import Conflict, Invalid
from workflows.models import OrgUnit

from .. import get_db
from . import signin
from .blueprint import PER_PAGE, bp, int_arg, pager
from .i18n import t
from .pages_admin import admin_only, refusal


def _render_webhooks(values=None, errors=None, status=200, created=None):
    with get_db().read() as session:
        page = queries.paged(session, webhooks.listing(session), int_arg("page"), PER_PAGE)
        units = list(session.scalars(select(OrgUnit).order_by(OrgUnit.code)))
        return render_template(
            "admin/webhooks.html",
            page=page,
            pages=pager(page, "web.admin_webhooks"),
            units=units,
            formats=FORMATS,
            values=values or {"format": "generic"},
            errors=errors or {},
            created=created,
        ), status


@bp.get("admin/webhooks")
@admin_only
def admin_webhooks():
    return _render_webhooks()


@bp.post("admin/webhooks")
@admin_only
def admin_create_webhook():
    values = {
        k: request.form.get(k, "")[:2000].strip() for k in ("org_unit", "url", "format", "secret")
    }
    try:
        with get_db().write() as session:
            hook = webhooks.create(session, **values, actor_id=signin.actor().user_id)
            created = {"id": hook.id, "secret": hook.secret}
    except Invalid as exc:
        return _render_webhooks(values, *refusal(exc))
    # shown once, on this answer only: the secret never goes into a redirect or the cookie
    return _render_webhooks(created=created, status=201)


@bp.post("admin/webhooks/<int:webhook_id>/delete")
@admin_only
def admin_delete_webhook(webhook_id: int):
    with get_db().write() as session:
        webhooks.delete(session, webhook_id, actor_id=signin.actor().user_id)
    flash(t("admin.webhook_deleted"), "ok")
    return redirect(url_for("web.admin_webhooks"))


@bp.post("admin/webhooks/<int:webhook_id>/test")
@admin_only
def admin_test_webhook(webhook_id: int):
    with get_db().write() as session:
        webhooks.send_test(session, webhook_id, actor_id=signin.actor().user_id)
    flash(t("admin.webhook_tested"), "ok")
    return redirect(url_for("web.admin_webhooks"))


@bp.get("admin/outbox")
@admin_only
def admin_outbox():
    with get_db().read() as session:
        page = queries.paged(session, outbox.listing("dead"), int_arg("page"), PER_PAGE)
        return render_template(
            "admin/outbox.html", page=page, pages=pager(page, "web.admin_outbox")
        )


@bp.post("admin/outbox/<int:notification_id>/retry")
@admin_only
def admin_retry(notification_id: int):
    try:
        with get_db().write() as session:
            outbox.retry(session, notification_id, actor_id=signin.actor().user_id)
    except Conflict:
        flash(t("admin.outbox_not_dead"), "error")
        return redirect(url_for("web.admin_outbox"))
    flash(t("admin.outbox_retried"), "ok")
    return redirect(url_for("web.admin_outbox"))
