"""The parts of the API contract the marshmallow schemas do not carry by themselves.

- Every error answer is documented, per operation, with the one error schema
  (`{"error": {"code", "message", "fields"?}}`): `ErrorResponses` adds the statuses every
  operation of its kind may answer (400 for a malformed request, 404 when the path names
  something, 413/422 when it reads a body), and the view declares the others with
  `@may_answer(403, 409)` (the auth decorators declare 401, and 403 for administrators only).
- Ids in paths are 32-bit, like the columns they name: `/tasks/99999999999999999999` is a 404,
  not an overflow in the database driver.
- Text that no database can store is refused before it reaches one: NUL characters (PostgreSQL
  refuses them), lone UTF-16 surrogates (no UTF-8 encoding exists), and JSON nested deeper than
  `MAX_JSON_DEPTH` (the parser would run out of stack) or with numbers out of range
  (`server.json_input`). The pages' query strings, paths and forms, urlencoded or multipart, get
  the same check (a plain 400 page).
- Unknown query parameters are refused like unknown body fields, so a misspelt filter is a 422
  rather than an unfiltered list.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter

from workflows.errors import Invalid
from workflows.inputs import UNSTORABLE as _UNSTORABLE
from workflows.inputs import UNSTORABLE_TEXT as BAD_TEXT

from .. import json_input
from ..errors import error_response
from ..idempotency import EXEMPT as NOT_IDEMPOTENT
from ..schemas import MAX_ID

MAX_JSON_DEPTH = 32
BODY_METHODS = ("post", "put", "patch")
INVALID = "输入有误 invalid input"
TOO_DEEP = f"嵌套不能超过 {MAX_JSON_DEPTH} 层 nested deeper than {MAX_JSON_DEPTH} levels"
IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Retry-safe POST: a retried request with the same key and body returns the "
    "first answer and changes nothing twice (400 if malformed, 422 if reused for another body).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
}


def may_answer(*codes: int) -> Callable:
    """Declare error statuses a view may answer beyond those of its kind (see ErrorResponses)."""

    def mark(fn: Callable) -> Callable:
        fn.api_errors = frozenset(getattr(fn, "api_errors", ())) | set(codes)
        return fn

    return mark


def digits_up_to(limit: int) -> str:
    """A regular expression of the decimal numbers 0..`limit` (leading zeros allowed)."""
    top = str(limit)
    shorter = ["0", *([rf"[1-9]\d{{0,{len(top) - 2}}}"] if len(top) > 1 else [])]
    same_length = [
        f"{top[:i]}[{1 if i == 0 else 0}-{int(digit) - 1}]" + rf"\d{{{len(top) - i - 1}}}"
        for i, digit in enumerate(top)
        if int(digit) > (1 if i == 0 else 0)
    ]
    return "0*(?:" + "|".join([*shorter, *same_length, top]) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` bounded to the 32-bit ids of the database (documented as the maximum).

    The bound is in the pattern, so a larger number matches no route: werkzeug answers 404
    whatever the method (a number refused only after matching answers 405 where another
    method's rule has the same path: PUT /calendar/years/99999999999)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's signature)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
        if not kwargs.get("signed") and self.max is not None:
            self.regex = digits_up_to(self.max)


class ErrorResponses(BasePlugin):
    """Document the error answers of every operation (see the module docstring)."""

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app

    def operation_helper(self, path=None, operations=None, **kwargs: Any) -> None:
        rule = kwargs.get("rule")
        view = self.app.view_functions.get(rule.endpoint) if rule is not None else None
        declared = set(getattr(view, "api_errors", ()))
        for method, operation in (operations or {}).items():
            codes = declared | {400}  # malformed: query string, JSON, Idempotency-Key …
            if rule is not None and rule.arguments:
                codes.add(404)
            idempotent = method == "post" and rule is not None
            idempotent = idempotent and rule.endpoint not in NOT_IDEMPOTENT
            if idempotent or (method in BODY_METHODS and "requestBody" in operation):
                codes |= {413, 422}  # the body is read; an Idempotency-Key may be reused
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(str(code), HTTPStatus(code).name)
            if idempotent:
                operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_HEADER))


def _bad_text(value: str) -> bool:
    return bool(_UNSTORABLE.search(value))


def _unstorable_in(document: Any) -> tuple[str, str] | None:
    """(dotted path, why) of the first value no database can store: too deep, or a string (key
    or value) with a NUL or a lone surrogate."""
    stack: list[tuple[str, Any, int]] = [("", document, 1)]
    while stack:
        where, value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return where or "_schema", TOO_DEEP
        if isinstance(value, str):
            if _bad_text(value):
                return where or "_schema", BAD_TEXT
        elif isinstance(value, dict):
            for key, inner in value.items():
                if _bad_text(str(key)):
                    return where or "_schema", BAD_TEXT
                stack.append((f"{where}.{key}" if where else str(key), inner, depth + 1))
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                stack.append((f"{where}.{i}" if where else str(i), inner, depth + 1))
    return None


def accepts_upload(max_bytes: int) -> Callable:
    """Mark a view that takes a file upload of up to `max_bytes` (more than MAX_CONTENT_LENGTH):
    the limit applies before anything reads the body (this check, the CSRF check, the view)."""

    def mark(fn: Callable) -> Callable:
        fn.max_upload = max_bytes
        return fn

    return mark


def _upload_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_upload", None)
    if limit is not None:
        request.max_content_length = limit


def _page_values() -> list[tuple[str, str]]:
    """What a page's request carries as text: query string, path, and form fields (urlencoded or
    multipart: any page's form may be posted either way; an upload's file name is cleaned by
    `workflows.attachments`, its bytes are not text)."""
    values = list(request.args.items(multi=True))
    values += [(k, v) for k, v in (request.view_args or {}).items() if isinstance(v, str)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += list(request.form.items(multi=True))
    return values


def refuse_unstorable_input():
    """before_request: refuse what would fail in the database, not in the schema (the web pages
    get a plain 400 for such a query string, path or form; the API a JSON error naming the
    field)."""
    _upload_limit()
    if not request.path.startswith("/api/"):
        if any(_bad_text(key) or _bad_text(value) for key, value in _page_values()):
            raise BadRequest("NUL characters or lone surrogates in the request")
        return None
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and _bad_text(value):
            raise NotFound()  # no code, username … can contain it: nothing by that name exists
    for key, value in request.args.items(multi=True):
        if _bad_text(key) or _bad_text(value):
            name = _UNSTORABLE.sub("?", key) or "_query"
            message = "查询参数有误 malformed query string"
            return error_response(400, "bad_request", message, {name: BAD_TEXT})
    if request.method in ("POST", "PUT", "PATCH") and request.is_json:
        raw = request.get_data(cache=True)  # 413 beyond MAX_CONTENT_LENGTH
        try:
            document = json_input.loads(raw)
        except RecursionError:
            return error_response(
                400, "bad_request", f"JSON nested too deeply (at most {MAX_JSON_DEPTH} levels)"
            )
        except json_input.NumberOutOfRange:
            # refused here: the argument parser's own json.loads would read it (or fail on it)
            return error_response(400, "bad_request", json_input.OUT_OF_RANGE)
        except ValueError:
            return None  # malformed JSON: the argument parser answers 400
        found = _unstorable_in(document)
        if found is not None:
            where, why = found
            raise Invalid(INVALID, {_UNSTORABLE.sub("?", where): why})
    return None


def install(app: Flask, api) -> None:
    """Before the blueprints register: bounded ids, strict query strings, documented errors."""
    app.url_map.converters["int"] = IdConverter
    api.spec.plugins.append(ErrorResponses(app))
    api.spec.plugins[-1].init_spec(api.spec)
    # webargs ignores unknown query parameters unless told otherwise; let each schema decide
    # (ours are Strict: unknown fields are refused). The parser is flask-smorest's shared one.
    from flask_smorest import Blueprint

    parser = Blueprint.ARGUMENTS_PARSER
    parser.DEFAULT_UNKNOWN_BY_LOCATION = {
        **type(parser).DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }
    app.before_request(refuse_unstorable_input)
