"""Absolute links to the public pages, for what is printed or shared (a QR code): under
PUBLIC_URL when it is set (the address residents reach the service at, e.g. behind a proxy),
else under the host of the current request."""

from __future__ import annotations

from flask import current_app, url_for


def external(endpoint: str, **values) -> str:
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def survey_url(token: str) -> str:
    return external("web.resident_page", token=token)


def survey_qr_url(token: str) -> str:
    return external("web.resident_qr", token=token)
