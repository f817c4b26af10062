"""Sending one outbox message: e-mail over SMTP, or a POST to a webhook.

- E-mail: `smtplib` and `email.message`, configured by `SMTP_URL`
  (`smtp://user:pass@host:587?starttls=1`, `smtps://…` for TLS from the start) and `MAIL_FROM`.
  The Message-ID is made from the outbox row, so a message sent again after a crash carries the
  same id and the receiving side can drop the duplicate.
- Webhooks: JSON over HTTP(S) with `urllib.request` (no extra dependency), never following a
  redirect (a redirect could lead to another scheme or host than the one an admin registered).
  `generic` is signed with HMAC-SHA256 over `"{timestamp}.{body}"` (`X-Timestamp`,
  `X-Signature: sha256=<hex>`) and names the message in `X-Notification-Id`; `wecom` is the
  企业微信 group robot's markdown message; `dingtalk` the 钉钉 robot's, signed (加签) in its own
  way when a secret is set: `timestamp` (ms) and `sign` = base64(HMAC-SHA256(secret,
  f"{timestamp}\\n{secret}")) in the query string. Both robots answer 200 with an `errcode`;
  anything but 0 is a failure, retried like a refused connection.

Every failure is a `DeliveryError`; the worker retries it with backoff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from . import texts
from .models import Notification, Webhook

USER_AGENT = "handoff-notifications/1"


class DeliveryError(Exception):
    """The message was not delivered this time (the worker tries again later)."""


@dataclass(frozen=True)
class Settings:
    smtp_url: str = ""
    mail_from: str = ""
    base_url: str = ""  # NOTIFY_BASE_URL: links in mails and robot messages
    timeout: float = 10.0

    @classmethod
    def from_env(cls) -> Settings:
        try:
            timeout = float(os.environ.get("NOTIFY_SEND_TIMEOUT", "10"))
        except ValueError:
            timeout = 10.0
        return cls(
            smtp_url=os.environ.get("SMTP_URL", ""),
            mail_from=os.environ.get("MAIL_FROM", ""),
            base_url=os.environ.get("NOTIFY_BASE_URL", ""),
            timeout=max(0.5, timeout),
        )


def send(row: Notification, settings: Settings) -> None:
    """Deliver one message (raises DeliveryError)."""
    if row.channel == "email":
        send_email(row, settings)
    elif row.channel == "webhook":
        if row.webhook is None:
            raise DeliveryError("the webhook was deleted")
        send_webhook(row, row.webhook, settings)
    else:
        raise DeliveryError(f"nothing to send on channel {row.channel!r}")


# --- e-mail ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    username: str
    password: str
    tls: bool  # smtps: TLS from the start
    starttls: bool


def parse_smtp_url(url: str) -> Smtp:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise DeliveryError("SMTP_URL must be smtp://host:port or smtps://host:port")
    query = parse_qs(parts.query)
    flag = (query.get("starttls") or ["0"])[0].lower()
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise DeliveryError("SMTP_URL has a bad port") from None
    return Smtp(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        tls=parts.scheme == "smtps",
        starttls=flag in ("1", "true", "yes"),
    )


def message_id(row: Notification, mail_from: str) -> str:
    """The same for every attempt at this row: `<notification-<id>-<created>@<domain>>`."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    return f"<notification-{row.id}-{int(row.created_at.timestamp())}@{domain}>"


def build_email(row: Notification, settings: Settings) -> EmailMessage:
    if not settings.mail_from:
        raise DeliveryError("MAIL_FROM is not set")
    if not row.address:
        raise DeliveryError("the message has no address")
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    name = row.user.display_name if row.user is not None else ""
    msg["To"] = formataddr((name, row.address)) if name else row.address
    msg["Subject"] = texts.subject(row.items)
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = message_id(row, settings.mail_from)
    msg["Auto-Submitted"] = "auto-generated"  # no vacation replies to a robot
    msg.set_content(texts.plain(row.items, settings.base_url))
    return msg


def send_email(row: Notification, settings: Settings) -> None:
    if not settings.smtp_url:
        raise DeliveryError("SMTP_URL is not set")
    smtp = parse_smtp_url(settings.smtp_url)
    msg = build_email(row, settings)
    try:
        if smtp.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=settings.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=settings.timeout)
        with client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password)
            refused = client.send_message(msg)
    except (OSError, ValueError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}"[:1000]) from exc
    if refused:
        raise DeliveryError(f"SMTP refused {sorted(refused)}"[:1000])


# --- webhooks -------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The generic format's `X-Signature`: sha256=hex(HMAC-SHA256(secret, "{ts}.{body}"))."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """钉钉 加签: base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")), unquoted."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def payload(row: Notification, hook: Webhook, base_url: str) -> dict[str, Any]:
    """The JSON body of the hook's format."""
    if hook.format == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": texts.markdown(row.items, base_url)}}
    if hook.format == "dingtalk":
        return {
            "msgtype": "markdown",
            "markdown": {
                "title": texts.subject(row.items)[:60],
                "text": texts.markdown(row.items, base_url, limit=18000),
            },
        }
    return {
        "id": row.id,
        "kind": row.kind,
        "org_unit": hook.org_unit.code if hook.org_unit is not None else None,
        "created_at": row.created_at.isoformat(),
        "subject": texts.subject(row.items),
        "text": texts.plain(row.items, base_url),
        "items": [{**item, "url": texts.link(item, base_url) or None} for item in row.items],
    }


def request_for(
    row: Notification, hook: Webhook, base_url: str, now: float | None = None
) -> tuple[str, bytes, dict[str, str]]:
    """(url, body, headers) of the POST, signed for its format."""
    now = time.time() if now is None else now
    body = json.dumps(payload(row, hook, base_url), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    url = hook.url
    if hook.format == "generic":
        stamp = str(int(now))
        headers.update(
            {
                "X-Notification-Id": str(row.id),
                "X-Timestamp": stamp,
                "X-Signature": sign(hook.secret, stamp, body),
            }
        )
    elif hook.format == "dingtalk" and hook.secret:
        stamp = str(int(now * 1000))
        joiner = "&" if urlsplit(url).query else "?"
        url += f"{joiner}timestamp={stamp}&sign={quote(dingtalk_sign(hook.secret, stamp), safe='')}"
    return url, body, headers


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None  # a 3xx is answered as an HTTPError: a failure


_OPENER = urllib.request.build_opener(_NoRedirects)


def send_webhook(row: Notification, hook: Webhook, settings: Settings) -> None:
    if urlsplit(hook.url).scheme not in ("http", "https"):  # registered URLs are checked too
        raise DeliveryError("not an http(s) URL")
    url, body, headers = request_for(row, hook, settings.base_url)
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(req, timeout=settings.timeout) as response:
            answer = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}") from exc
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:1000]) from exc
    if hook.format in ("wecom", "dingtalk"):
        try:
            code = json.loads(answer or b"{}").get("errcode", 0)
        except (ValueError, AttributeError):
            code = None
        if code != 0:
            raise DeliveryError(f"robot answered {answer[:300].decode(errors='replace')}")
