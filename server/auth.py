"""Bearer-token authentication for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from workflows import accounts
from workflows.errors import Forbidden
from workflows.service import Actor

from . import get_db


class Unauthorized(Exception):
    pass


def client_address() -> str:
    """The client's address as sign-in throttling counts it (behind PROXY_COUNT trusted proxies,
    ProxyFix has put the forwarded address here)."""
    return request.remote_addr or "-"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _load_actor() -> Actor | None:
    token = bearer_token()
    if not token or len(token) > 200:
        return None
    with get_db().read() as session:
        user = accounts.user_for_token(session, token)
        if user is None:
            return None
        g.user_display = user.display_name
        return Actor.of(user)


def login_required(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args, **kwargs):
        actor = _load_actor()
        if actor is None:
            raise Unauthorized()
        g.actor = actor
        return fn(*args, **kwargs)

    # documented in the OpenAPI description (server.api.contract)
    wrapper.api_errors = frozenset(getattr(fn, "api_errors", ())) | {401}
    return wrapper


def admin_required(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    @login_required
    def wrapper(*args, **kwargs):
        if not g.actor.is_admin:
            raise Forbidden("administrators only")
        return fn(*args, **kwargs)

    wrapper.api_errors = frozenset(getattr(fn, "api_errors", ())) | {401, 403}
    return wrapper


def current_actor() -> Actor:
    return g.actor
