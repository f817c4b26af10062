"""Idempotency-Key on POSTs: a retried request gets the first answer and changes nothing twice.

The record is written in the same transaction as the state change it describes (`Database.write`
blocks nest), and inserted first: a concurrent duplicate waits on the unique (user, key) index and
then answers from the stored record.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps

from flask import Flask, Response, current_app, g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workflows.models import IdempotencyRecord

from . import get_db
from .auth import in_request_transaction
from .errors import error_response

HEADER = "Idempotency-Key"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
EXEMPT = {"accounts.issue_token", "accounts.revoke_token"}


def _request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}?{request.query_string.decode()}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    resp = Response(
        record.response_body, status=record.status_code, content_type=record.content_type
    )
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def idempotent(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not _KEY_RE.match(key):
            return error_response(
                400, "bad_request", f"{HEADER} must be 1-200 printable ASCII characters"
            )
        digest = _request_hash()

        def body(session, actor):
            if actor is None:
                return view(*args, **kwargs)  # the view answers 401
            found = _record(session, actor.user_id, key)
            if found is not None:
                return _answer_for(found, digest)
            record = IdempotencyRecord(user_id=actor.user_id, key=key, request_hash=digest)
            session.add(record)
            session.flush()  # a concurrent twin waits here, then fails on the unique index
            resp = current_app.make_response(view(*args, **kwargs))
            record.status_code = resp.status_code
            record.response_body = resp.get_data(as_text=True)
            record.content_type = resp.content_type
            return resp

        try:
            # the record, the token check and the view's change: one transaction
            return in_request_transaction(body)
        except IntegrityError:
            actor = g.get("api_actor")
            if actor is None:
                raise
            with get_db().read() as session:
                found = _record(session, actor.user_id, key)
            if found is None:
                raise
            return _answer_for(found, digest)

    return wrapper


def _record(session, user_id: int, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )


def _answer_for(record: IdempotencyRecord, digest: str):
    if record.request_hash != digest:
        return error_response(
            422, "idempotency_key_reused", f"this {HEADER} was used for a different request"
        )
    return _replay(record)


def install(app: Flask) -> None:
    """Wrap every POST endpoint of the API."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and "POST" in (rule.methods or ()):
            if rule.endpoint not in EXEMPT:
                app.view_functions[rule.endpoint] = idempotent(app.view_functions[rule.endpoint])
