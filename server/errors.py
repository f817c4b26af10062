"""JSON errors for the API: {"error": {"code", "message", "fields"?, "request_id"}}; bad input is
never a 500."""

from __future__ import annotations

import logging
import math

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from workflows import clock, db
from workflows.accounts import LoginThrottled
from workflows.errors import (
    Conflict,
    DefinitionError,
    EngineFailure,
    Forbidden,
    FormErrors,
    Invalid,
    NotFound,
    WorkflowError,
)

from . import logs

log = logging.getLogger(__name__)

STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, Invalid: 422, EngineFailure: 409}
# How long a client should wait before retrying while the database cannot be reached: about
# what a PostgreSQL restart or a fail-over takes.
RETRY_AFTER_SECONDS = 5


def error_response(status: int, code: str, message: str, fields=None, **extra):
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    body.update(extra)
    body["request_id"] = logs.request_id()  # the X-Request-Id header's, to quote to support
    return jsonify(error=body), status


def flatten_fields(messages) -> dict[str, str]:
    """marshmallow's nested messages -> {"field": "message"}."""
    out: dict[str, str] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            out[prefix or "_schema"] = "; ".join(str(v) for v in value)
        else:
            out[prefix or "_schema"] = str(value)

    walk("", messages)
    return out


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def unavailable_response():
    """503 with Retry-After: the database cannot be reached now. The request's transaction was
    rolled back or never began, so the same request may be sent again (a connection lost in
    the middle of a commit leaves its outcome unknown: an Idempotency-Key makes that retry
    safe too)."""
    resp, status = error_response(
        503,
        "unavailable",
        "数据库暂时无法访问，请稍后重试 the database is unavailable, try again shortly",
    )
    resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return resp, status


def register(app: Flask) -> None:
    register_auth(app)

    @app.errorhandler(WorkflowError)
    def _workflow_error(exc: WorkflowError):
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        return error_response(status, exc.code, exc.message, exc.fields)

    @app.errorhandler(FormErrors)
    def _form_errors(exc: FormErrors):
        return error_response(422, "invalid", "输入有误 invalid input", exc.fields)

    @app.errorhandler(DefinitionError)
    def _definition_error(exc: DefinitionError):
        fields = {"element": exc.element} if exc.element else None
        problems = [
            {"element": p.element, "message": p.message, "message_en": p.message_en}
            for p in exc.problems
        ]
        return error_response(422, "invalid_bpmn", str(exc), fields, problems=problems)

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError):
        return error_response(
            422, "invalid", "输入有误 invalid input", flatten_fields(exc.messages)
        )

    @app.errorhandler(LoginThrottled)
    def _throttled(exc: LoginThrottled):
        resp, status = error_response(
            429, "throttled", "登录失败次数过多，请稍后再试 too many failed sign-ins, try later"
        )
        seconds = math.ceil((exc.until - clock.now()).total_seconds())
        resp.headers["Retry-After"] = str(max(1, seconds))  # until the lock ends
        return resp, status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not _wants_json():
            return exc
        fields = None
        data = getattr(exc, "data", None)  # webargs/flask-smorest attach parsing errors here
        if data and "messages" in data:
            messages = data["messages"]
            # {"json": {...}} / {"query": {...}}: drop the location level
            if isinstance(messages, dict) and len(messages) == 1:
                messages = next(iter(messages.values()))
            fields = flatten_fields(messages)
        code = {
            400: "bad_request",
            401: "unauthorized",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            415: "unsupported_media_type",
            422: "invalid",
        }.get(exc.code, "error")
        message = exc.description if exc.code != 422 else "输入有误 invalid input"
        if exc.code == 413:
            limit = request.max_content_length
            message = "请求体过大 request body too large" + (
                f" (at most {limit // 1024} KiB)" if limit else ""
            )
        resp, status = error_response(exc.code or 500, code, message, fields)
        for name, value in exc.get_headers():  # Allow on a 405, Retry-After …
            if name.lower() != "content-type":
                resp.headers[name] = value
        return resp, status

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError):
        if not db.unavailable(exc):
            return _unexpected(exc)
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return unavailable_response()

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        log.exception("unhandled error")
        return error_response(500, "internal", "服务器内部错误 internal error")


def register_auth(app: Flask) -> None:
    from .auth import Unauthorized

    @app.errorhandler(Unauthorized)
    def _unauthorized(_exc):
        resp, status = error_response(
            401,
            "unauthorized",
            "需要登录：请提供有效的 Bearer 令牌 a valid bearer token is required",
        )
        resp.headers["WWW-Authenticate"] = "Bearer"
        return resp, status
