"""The JSON API under /api/v1, documented as OpenAPI 3 by flask-smorest."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from ..schemas import ErrorSchema
from . import (
    accounts,
    admin,
    agreements,
    attachments,
    calendar,
    contract,
    definitions,
    instances,
    messages,
    notifications,
    reports,
    requests,
    residents,
    roles,
    tasks,
)

BLUEPRINTS = (
    accounts.blp,
    admin.blp,
    requests.blp,
    instances.blp,
    tasks.blp,
    definitions.blp,
    messages.blp,
    roles.blp,
    calendar.blp,
    attachments.blp,
    reports.blp,
    notifications.blp,
    agreements.blp,
    residents.blp,
)


class HandoffApi(Api):
    """Errors are documented with the error body the service answers (server.errors), and only
    with the statuses each operation may answer (no catch-all "default" response)."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


def register_api(app: Flask) -> Api:
    api = HandoffApi(app, spec_kwargs={"servers": [{"url": "/"}]})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    contract.install(app, api)
    for blp in BLUEPRINTS:
        api.register_blueprint(blp, url_prefix="/api/v1")
    api.spec.options["security"] = [{"bearerAuth": []}]
    app.extensions["api"] = api
    from . import docs

    app.register_blueprint(docs.bp)
    return api
