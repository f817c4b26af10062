"""CSRF protection for the pages' forms (synchroniser token, no extra dependency).

Each browser session gets one random token, kept in the signed session cookie. Every form posts it
back in a hidden field; a state-changing request whose field does not match (compared in constant
time) is refused with 400 before the view runs, so nothing changes. The session cookie is also
`SameSite=Lax` and `HttpOnly` (server/config.py).
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SESSION_KEY = "_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CSRFError(Exception):
    """The form carried no token or a wrong one."""


def token() -> str:
    """This session's token, created on first use."""
    value = session.get(SESSION_KEY)
    if not isinstance(value, str) or len(value) < 32:
        value = secrets.token_urlsafe(32)
        session[SESSION_KEY] = value
    return value


def rotate() -> str:
    """A fresh token (after signing in or out)."""
    session.pop(SESSION_KEY, None)
    return token()


def valid(given: str | None) -> bool:
    expected = session.get(SESSION_KEY)
    if not isinstance(expected, str) or not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def protect() -> None:
    """before_request: refuse unsafe methods without the session's token."""
    if request.method in SAFE_METHODS:
        return
    given = request.form.get(FIELD) or request.headers.get(HEADER)
    if not valid(given):
        raise CSRFError()
