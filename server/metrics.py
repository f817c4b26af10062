"""Prometheus metrics at /metrics (names, types and labels: README, "Operating").

Counted in the process: HTTP requests and their latency by Flask endpoint (the route's name,
never the raw path, so ids and scanners cannot grow the label set) and status class, and task
completions by process and task key. Read from the database at scrape time: see metrics_db.

Under gunicorn each worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (before the
process starts: prometheus_client chooses its value store on import) counters and histograms are
kept in files there and every scrape sums all workers; without it each worker answers with its
own counts, which is fine for development.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.exposition import choose_encoder
from sqlalchemy import event

from workflows import service
from workflows.db import Database, ambient_session

from . import logs
from .errors import error_response
from .metrics_access import MetricsAccess
from .metrics_db import DatabaseCollector

# a `_created` gauge beside every counter and histogram series doubles the series for a
# timestamp Prometheus does not need (multi-process mode never has them): off, process-wide
disable_created_metrics()
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

# registry=None: each app builds the registry it answers with (tests create many apps)
HTTP_REQUESTS = Counter(
    "handoff_http_requests_total",
    "HTTP requests answered, by Flask endpoint, method and status class",
    ["endpoint", "method", "status_class"],
    registry=None,
)
HTTP_DURATION = Histogram(
    "handoff_http_request_duration_seconds",
    "Time to answer an HTTP request, by Flask endpoint, method and status class",
    ["endpoint", "method", "status_class"],
    registry=None,
)
COMPLETIONS = Counter(
    "handoff_task_completions_total",
    "Human tasks completed (committed), by process key and task key",
    ["process", "task"],
    registry=None,
)

bp = Blueprint("metrics", __name__)


def complete_task(db: Database, task_id: int, actor: service.Actor, data: Any) -> dict:
    """`service.complete_task`, counted once its transaction has committed.

    The API's call runs inside the Idempotency-Key transaction (`Database.write` blocks nest),
    so the completion is counted when that outer transaction commits, not before."""
    result = service.complete_task(db, task_id, actor, data)
    keys = (result["process_key"], result["key"])
    outer = ambient_session()
    if outer is None:
        COMPLETIONS.labels(*keys).inc()
    else:
        event.listen(outer, "after_commit", lambda _s: COMPLETIONS.labels(*keys).inc(), once=True)
    return result


def _observe(response: Response) -> Response:
    endpoint = request.endpoint or "none"  # no route matched (404, 405)
    method = request.method if request.method in METHODS else "other"
    status_class = f"{response.status_code // 100}xx"
    HTTP_REQUESTS.labels(endpoint, method, status_class).inc()
    HTTP_DURATION.labels(endpoint, method, status_class).observe(logs.elapsed_seconds())
    return response


def build_registry(db: Database) -> CollectorRegistry:
    registry = CollectorRegistry()
    if MULTIPROCESS_DIR:
        multiprocess.MultiProcessCollector(registry)  # every worker's files, summed
    else:
        for metric in (HTTP_REQUESTS, HTTP_DURATION, COMPLETIONS):
            registry.register(metric)
        # the standard process_* and python_* series (one process: they describe it)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    registry.register(DatabaseCollector(db))
    return registry


@bp.get("/metrics")
def metrics():
    access: MetricsAccess = current_app.extensions["metrics_access"]
    if not access.permits(request.remote_addr, request.headers.get("Authorization")):
        return error_response(403, "forbidden", "metrics are not open to this address")
    encoder, content_type = choose_encoder(request.headers.get("Accept"))
    registry = current_app.extensions["metrics_registry"]
    return Response(encoder(registry), headers={"Content-Type": content_type})


def install(app: Flask) -> None:
    app.extensions["metrics_access"] = MetricsAccess(
        app.config["METRICS_ALLOW"], app.config["METRICS_TOKEN"]
    )
    app.extensions["metrics_registry"] = build_registry(app.extensions["db"])
    app.after_request(_observe)
    app.register_blueprint(bp)
