"""Webhooks an admin registers per org unit: create, list, delete, send a test message.

A URL must be http or https with a host, carry no user name or password (credentials belong in
the secret, not in a URL that shows up in lists and logs) and no whitespace or control
characters; any host is allowed (the admin decides where the unit's messages go). `generic`
needs a secret to sign with: one is made when none is given, and shown once (on creation).
"""

from __future__ import annotations

import re
import secrets
import uuid
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import admin, audit, clock
from workflows.errors import NotFound

from . import service
from .models import FORMATS, Webhook

URL_MAX = 2000
SECRET_MAX = 200
_BAD_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


def url_problem(url: object) -> str | None:
    """Why `url` cannot be a webhook (None: it can)."""
    if not isinstance(url, str) or not url or len(url) > URL_MAX or _BAD_CHARS.search(url):
        return "bad"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return "bad"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "scheme"
    if parts.username is not None or parts.password is not None:
        return "credentials"
    return None


def create(
    session: Session,
    *,
    org_unit: str,
    url: str,
    format: str = "generic",  # noqa: A002 (the API's field name)
    secret: str = "",
    actor_id: int | None,
) -> Webhook:
    """Register a webhook for the org unit `org_unit` (a code); audited `webhook.created`."""
    problems = admin.Problems()
    unit = admin.unit_by_code(session, org_unit) if isinstance(org_unit, str) and org_unit else None
    if unit is None:
        problems.add("org_unit", "unknown_org_unit", f"未知单位 unknown org unit {org_unit}")
    problem = url_problem(url)
    if problem:
        problems.add(
            "url",
            "invalid_url",
            "请填写 http 或 https 网址，不含用户名和密码"
            " an http or https URL without user name or password",
        )
    if format not in FORMATS:
        problems.add("format", "invalid_format", "格式应为 one of: " + ", ".join(FORMATS))
    if not isinstance(secret, str) or len(secret) > SECRET_MAX or _BAD_CHARS.search(secret):
        problems.add(
            "secret", "invalid_secret", f"密钥最多 {SECRET_MAX} 位，不含空白 at most {SECRET_MAX}"
        )
    problems.refuse()
    if format == "generic" and not secret:
        secret = secrets.token_urlsafe(32)
    hook = Webhook(
        org_unit=unit,
        url=url,
        format=format,
        secret=secret,
        created_at=clock.now(),
        created_by_id=actor_id,
    )
    session.add(hook)
    session.flush()
    audit.record(
        session,
        "webhook.created",
        actor_id=actor_id,
        webhook_id=hook.id,
        org_unit=unit.code,
        format=format,
        host=urlsplit(url).hostname,
    )
    return hook


def listing(session: Session, org_unit: str | None = None):
    stmt = select(Webhook).order_by(Webhook.org_unit_id, Webhook.id)
    if org_unit:
        unit = admin.unit_by_code(session, org_unit)
        stmt = stmt.where(Webhook.org_unit_id == (unit.id if unit else -1))
    return stmt


def get(session: Session, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound("webhook not found")
    return hook


def delete(session: Session, webhook_id: int, *, actor_id: int | None) -> None:
    """Remove the webhook; its messages not yet sent turn dead ("the webhook was deleted")."""
    hook = get(session, webhook_id)
    audit.record(
        session,
        "webhook.deleted",
        actor_id=actor_id,
        webhook_id=hook.id,
        org_unit=hook.org_unit.code,
    )
    session.delete(hook)
    session.flush()


def send_test(session: Session, webhook_id: int, *, actor_id: int | None) -> None:
    """Queue a test message to the webhook (the worker sends it like any other)."""
    hook = get(session, webhook_id)
    service.enqueue(
        session,
        "test",
        f"test:{uuid.uuid4().hex}",
        {"title": hook.org_unit.name},
        webhooks=[hook.id],
    )
    audit.record(session, "webhook.tested", actor_id=actor_id, webhook_id=hook.id)
