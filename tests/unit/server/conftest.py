"""The app on the test database, as `create_app` builds it for gunicorn."""

from __future__ import annotations

import pytest

from server import create_app


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()
