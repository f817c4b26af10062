"""Logs: one line per event, with the id of the request it belongs to, and one access line per
request.

`LOG_FORMAT=json` writes one JSON object a line (time in UTC ISO 8601, level, logger, message,
request_id; the access line adds method, path, status, duration_ms, remote_addr) for a log
shipper; `text` is for a person at a terminal. The request id comes from an incoming
`X-Request-Id` when it is a sane token (a proxy or a client correlating its own logs), else it
is made here; every response carries it back, and every JSON error body names it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

HEADER = "X-Request-Id"
FORMATS = ("json", "text")
# ids go into headers and log lines: a bounded alphabet, so a client cannot forge log lines
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "remote_addr")
# probes and scrapes come every few seconds: at INFO they would drown the requests people make
QUIET_ENDPOINTS = {"health.healthz", "health.readyz", "metrics.metrics"}
_OURS = "_handoff_handler"

access_log = logging.getLogger("server.access")


def request_id() -> str | None:
    """This request's id (None outside a request)."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
    return g.request_id


def elapsed_seconds() -> float:
    """Seconds since this request began (as seen by the first before_request hook)."""
    started = g.get("request_started")
    return time.perf_counter() - started if started is not None else 0.0


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key in ACCESS_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # json escapes newlines, so a traceback stays on its line
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_label)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_label = getattr(record, "request_id", None) or "-"
        return super().format(record)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (pytest swaps it for every test; a
    handler holding the first one would write into a closed file)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(app: Flask) -> None:
    """One handler of ours on the root logger, replacing the one an earlier app made.

    Other handlers stay (pytest's caplog, a --log-config of gunicorn's), so tests still see
    records; logging is process-wide, so the last app created chooses the format."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    setattr(handler, _OURS, True)
    handler.setFormatter(JsonFormatter() if app.config["LOG_FORMAT"] == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # alembic announces each of its plugins at INFO whenever it is imported (every CLI call)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # SpiffWorkflow tells every task's state change at INFO, dozens of lines an engine step
    # (thousands for `seed-demo --with-history`): detail for debugging, not for the log
    debugging = root.getEffectiveLevel() <= logging.DEBUG
    logging.getLogger("spiff").setLevel(logging.DEBUG if debugging else logging.WARNING)
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)  # ours reaches app.logger: no line twice


def install(app: Flask) -> None:
    """Call first in the factory: the first before_request hook starts the clock and fixes the
    id before anything can log or fail, and its after_request hook runs last, on the answer
    as it leaves."""
    configure(app)

    @app.before_request
    def _begin() -> None:
        g.request_started = time.perf_counter()
        request_id()

    @app.after_request
    def _end(response):
        response.headers[HEADER] = request_id()
        duration_ms = round(elapsed_seconds() * 1000, 1)
        level = logging.DEBUG if request.endpoint in QUIET_ENDPOINTS else logging.INFO
        access_log.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            _CONTROL.sub(lambda m: repr(m.group())[1:-1], request.path),  # %0A is no new line
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "remote_addr": request.remote_addr,
            },
        )
        return response
