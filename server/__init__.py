"""The Flask service: `gunicorn 'server:create_app()'`.

HTTP -> schema -> workflows service -> database: blueprints parse and validate input with
marshmallow, call `workflows`, and render what comes back.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

import handoff
import notifications
from workflows.db import Database

from .config import Config


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(Config().as_dict())
    if overrides:
        app.config.from_mapping(overrides)
    from .json_input import StrictJSONProvider

    app.json = StrictJSONProvider(app)  # request.get_json refuses numbers no column can hold
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    from . import logs, security

    logs.install(app)  # first: the request id and the clock start before any other hook
    security.check_production_settings(app)
    if app.config["PROXY_COUNT"] > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_COUNT"])
    handoff.register()  # the district's process plugins (explicit: nothing registers on import)
    notifications.register()  # the outbox hears of every process's steps
    app.extensions["db"] = Database(app.config["DATABASE_URL"])

    from . import cli, errors, health, idempotency, metrics
    from .api import register_api

    app.register_blueprint(health.bp)
    metrics.install(app)
    register_api(app)
    idempotency.install(app)
    errors.register(app)  # after the API, so these handlers replace flask-smorest's
    _register_web(app)
    cli.register(app)
    return app


def _register_web(app: Flask) -> None:
    try:
        from .web import register_web
    except ImportError:  # the web pages are optional while they are being built
        return
    register_web(app)


def get_db() -> Database:
    from flask import current_app

    return current_app.extensions["db"]
