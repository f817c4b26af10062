"""Bearer-token authentication for the API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from workflows import accounts
from workflows.errors import Forbidden
from workflows.service import Actor

from . import get_db

log = logging.getLogger(__name__)
T = TypeVar("T")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


def _look_up_actor(session: Session) -> Actor | None:
    """The request's actor from its bearer token, looked up in the request's transaction."""
    token = bearer_token()
    if not token or len(token) > 200:
        return None
    holder = accounts.holder_of_token(session, token)
    if holder is None:
        return None
    g.user_display = holder.display_name
    return Actor(holder.user_id, holder.username, holder.pairs)


def in_request_transaction(body: Callable[[Session, Actor | None], T]) -> T:
    """Run `body(session, actor)` in the request's one transaction, whose first statement looks
    up the token's actor: a write transaction, unless the method is safe (then one shared read
    transaction). Nested calls join the outer transaction and its actor.

    Pooled connections are not pinged before use, so a connection that died in the pool (a
    database restart) fails at that first statement: the pool is then invalidated and the
    request, which has done nothing yet, runs once more on a new connection."""
    db = get_db()
    writing = request.method not in SAFE_METHODS
    for attempt in (1, 2):
        try:
            with db.write() if writing else db.shared_read() as session:
                if "api_actor" not in g:
                    g.api_actor = g.actor = _look_up_actor(session)
                return body(session, g.api_actor)
        except DBAPIError as exc:
            if attempt == 2 or "api_actor" in g or not exc.connection_invalidated:
                raise
            log.warning("the pooled connection was dead; retrying on a new one: %s", exc.orig)
    raise AssertionError("unreachable")


def login_required(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args, **kwargs):
        def body(_session, actor):
            if actor is None:
                raise Unauthorized()
            return fn(*args, **kwargs)

        return in_request_transaction(body)

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
