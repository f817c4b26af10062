"""Liveness (/healthz: the process answers) and readiness (/readyz: the database answers and is
migrated to head)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import get_db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    try:
        with get_db().read() as session:
            version = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        return jsonify(status="unavailable", error=type(exc).__name__), 503
    return jsonify(status="ready", schema=version)
