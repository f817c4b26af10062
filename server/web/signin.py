"""Who is signed in to the pages: a server-side session named by a signed cookie.

Signing in makes a session row (`accounts.issue_token(kind="web")`, TOKEN_TTL_HOURS long) and the
cookie holds its random token; signing out revokes the row, so a copy of the cookie taken before
is worth nothing after. A password change or a deactivation revokes every session of the user.
Signing in clears the old cookie (no fixation) and rotates the CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from sqlalchemy.orm import Session

from workflows import accounts
from workflows.errors import Forbidden
from workflows.models import User
from workflows.service import Actor

from .. import get_db
from . import csrf

TOKEN_KEY = "st"
KEEP = ("lang",)  # survives signing in and out


def _reset() -> None:
    kept = {k: session[k] for k in KEEP if k in session}
    session.clear()
    session.update(kept)


def sign_in(db_session: Session, user: User) -> None:
    """Open a session for `user` in the caller's transaction and name it in the cookie."""
    _reset()
    ttl = timedelta(hours=int(current_app.config.get("TOKEN_TTL_HOURS", 12)))
    session[TOKEN_KEY], _ = accounts.issue_token(db_session, user, ttl, kind="web")
    csrf.rotate()


def sign_out() -> None:
    """End the session on the server, then forget the cookie."""
    token = session.get(TOKEN_KEY)
    if isinstance(token, str) and 0 < len(token) <= 200:
        with get_db().write() as s:
            accounts.revoke_token(s, token, kind="web")
    _reset()
    csrf.rotate()


@dataclass(frozen=True)
class SignedIn:
    """Who a page is drawn for (`g.user`): what the templates show of them."""

    id: int
    username: str
    display_name: str


def load_user() -> None:
    """before_request: g.user / g.actor for a live session, else None (one indexed statement:
    the session's token, its user and their memberships)."""
    g.user = g.actor = None
    token = session.get(TOKEN_KEY)
    if token is None:
        return
    if not isinstance(token, str) or not 0 < len(token) <= 200:
        _reset()
        return
    with get_db().read() as s:
        holder = accounts.holder_of_token(s, token, kind="web")
    if holder is None:  # signed out, expired, revoked, or the user deactivated
        _reset()
        return
    g.user = SignedIn(holder.user_id, holder.username, holder.display_name)
    g.actor = Actor(holder.user_id, holder.username, holder.pairs)


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only local paths: never redirect to another site."""
    fallback = default or url_for("web.inbox")
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def login_required(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            path = request.full_path if request.query_string else request.path
            return redirect(url_for("web.login", next=path))
        return fn(*args, **kwargs)

    return wrapper


def role_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Signed in and holding one of `roles` (admins pass `admin` explicitly)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        @login_required
        def wrapper(*args, **kwargs):
            if not any(g.actor.has_role(r) for r in roles):
                raise Forbidden("not your role")
            return fn(*args, **kwargs)

        return wrapper

    return decorate


def actor() -> Actor:
    return g.actor
