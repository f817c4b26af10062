"""Who is signed in to the pages: a signed Flask session cookie (not the API's bearer tokens).

The cookie holds the user id, a *session version* and the sign-in time. The version is derived
from the user's password hash, so changing the password ends every session of that user; a
deactivated user, a version mismatch or a session older than TOKEN_TTL_HOURS is signed out on the
next request. Signing in clears the old session (no fixation) and rotates the CSRF token.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for

from workflows.errors import Forbidden
from workflows.models import User
from workflows.service import Actor

from .. import get_db
from . import csrf

USER_KEY = "uid"
VERSION_KEY = "sv"
AT_KEY = "at"
KEEP = ("lang",)  # survives signing in and out


def session_version(user: User) -> str:
    return hashlib.sha256(f"{user.id}:{user.password_hash}".encode()).hexdigest()[:20]


def _reset() -> None:
    kept = {k: session[k] for k in KEEP if k in session}
    session.clear()
    session.update(kept)


def sign_in(user: User) -> None:
    _reset()
    session[USER_KEY] = user.id
    session[VERSION_KEY] = session_version(user)
    session[AT_KEY] = int(time.time())
    csrf.rotate()


def sign_out() -> None:
    _reset()
    csrf.rotate()


def load_user() -> None:
    """before_request: g.user / g.actor for a valid session, else None."""
    g.user = g.actor = None
    user_id = session.get(USER_KEY)
    if user_id is None:
        return
    max_age = int(current_app.config.get("TOKEN_TTL_HOURS", 12)) * 3600
    issued = session.get(AT_KEY)
    if (
        not isinstance(user_id, int)
        or not isinstance(issued, int)
        or time.time() - issued > max_age
    ):
        sign_out()
        return
    with get_db().read() as s:
        user = s.get(User, user_id)
        if user is None or not user.is_active or session.get(VERSION_KEY) != session_version(user):
            sign_out()
            return
        for m in user.memberships:  # load the units while the session is open
            _ = m.org_unit.name
        g.user = user
        g.actor = Actor.of(user)


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
