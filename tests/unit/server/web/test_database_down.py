"""The database failing in the middle of a page view (after the session was read, before the
page was drawn) is the page's own 503, never the WSGI server's bare 500: the error page must
not ask the failed database again for the menu's counts or unread badge."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from server.web import i18n, signin

from ....test_web_pages import signed_in, text


def _down(*_args, **_kwargs):
    raise sa_exc.DisconnectionError("the server closed the connection unexpectedly")


@pytest.mark.parametrize("path", ["/inbox", "/messages", "/requests", "/inbox?lang=en"])
def test_the_database_failing_after_sign_in_is_the_pages_503(app, monkeypatch, path):
    browser = signed_in(app, "street.rg")
    database = app.extensions["db"]
    load_user = signin.load_user

    def load_then_fail() -> None:
        load_user()  # the session is read while the database is still there …
        monkeypatch.setattr(database, "read", _down)  # … and then it goes away
        monkeypatch.setattr(database, "write", _down)

    monkeypatch.setattr(signin, "load_user", load_then_fail)
    response = browser.get(path)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    zh, en = i18n.STRINGS["error.unavailable_text"]
    assert (en if "lang=en" in path else zh) in text(response)
