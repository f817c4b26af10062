"""The JSON API under /api/v1, documented as OpenAPI 3 by flask-smorest."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from . import accounts, admin, attachments, definitions, instances, requests, tasks

BLUEPRINTS = (
    accounts.blp,
    admin.blp,
    requests.blp,
    instances.blp,
    tasks.blp,
    definitions.blp,
    attachments.blp,
)


def register_api(app: Flask) -> Api:
    api = Api(app, spec_kwargs={"servers": [{"url": "/"}]})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blp in BLUEPRINTS:
        api.register_blueprint(blp, url_prefix="/api/v1")
    api.spec.options["security"] = [{"bearerAuth": []}]
    app.extensions["api"] = api
    from . import docs

    app.register_blueprint(docs.bp)
    return api
