"""站内消息 and 通知设置: my in-app messages (unread first, mark read, mark all read) and my
channels. The views call the `notifications` functions the API calls (`inbox`, `settings`), so
both refuse and write alike; refusals are worded from the catalogue (`admin.error.<reason>`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from notifications import inbox, settings
from workflows.errors import Invalid

from .. import get_db
from . import signin
from .blueprint import PER_PAGE, bp, int_arg, pager
from .i18n import t
from .pages_admin import refusal

TASK_KINDS = frozenset({"task_opened", "due_soon", "overdue", "escalated"})


def shown_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item as the page shows it: its due time parsed, and where it links to."""
    out = dict(item)
    try:
        out["due"] = datetime.fromisoformat(item["due_at"]) if item.get("due_at") else None
    except (TypeError, ValueError):
        out["due"] = None
    if item.get("kind") in TASK_KINDS and isinstance(item.get("task_id"), int):
        out["href"] = url_for("web.task", task_id=item["task_id"])
    elif isinstance(item.get("instance_id"), int):
        out["href"] = url_for("web.instance_page", instance_id=item["instance_id"])
    else:
        out["href"] = None
    return out


def unread_count() -> int | None:
    """The nav's unread badge: one COUNT per page view (None when signed out)."""
    from flask import g

    from . import database_down

    if g.get("actor") is None or database_down():
        return None
    if "nav_unread" not in g:
        with get_db().read() as session:
            g.nav_unread = inbox.unread_count(session, g.actor.user_id)
    return g.nav_unread


@bp.get("messages")
@signin.login_required
def messages():
    show = request.args.get("show")
    unread = True if show == "unread" else None
    with get_db().read() as session:
        page = inbox.page(
            session, signin.actor().user_id, unread=unread, page=int_arg("page"), per_page=PER_PAGE
        )
        shown = [(n, [shown_item(i) for i in n.items]) for n in page.items]
        return render_template(
            "messages.html",
            page=page,
            shown=shown,
            pages=pager(page, "web.messages"),
            show="unread" if unread else "all",
        )


@bp.post("messages/<int:notification_id>/read")
@signin.login_required
def message_read(notification_id: int):
    with get_db().write() as session:
        inbox.mark_read(session, signin.actor().user_id, notification_id)
    target = request.form.get("next", "")
    return redirect(signin.safe_next(target, url_for("web.messages")))


@bp.post("messages/read-all")
@signin.login_required
def messages_read_all():
    with get_db().write() as session:
        inbox.mark_all_read(session, signin.actor().user_id)
    flash(t("notify.marked_all"), "ok")
    return redirect(url_for("web.messages"))


def _render_settings(values=None, errors=None, status=200):
    with get_db().read() as session:
        current = settings.read(session, signin.actor().user_id)
    shown = values or {"email": current.email or "", "email_enabled": current.email_enabled}
    return render_template(
        "settings.html", current=current, values=shown, errors=errors or {}
    ), status


@bp.get("settings")
@signin.login_required
def settings_page():
    return _render_settings()


@bp.post("settings")
@signin.login_required
def settings_save():
    values = {
        "email": request.form.get("email", "")[:1000].strip(),
        "email_enabled": request.form.get("email_enabled") == "1",
    }
    try:
        with get_db().write() as session:
            settings.update(session, signin.actor().user_id, values)
    except Invalid as exc:
        return _render_settings(values, *refusal(exc))
    flash(t("common.saved"), "ok")
    return redirect(url_for("web.settings_page"))
