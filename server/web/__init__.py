"""The web pages: server-rendered Jinja for every role, Chinese first (`?lang=en` for English).

The pages sit beside the JSON API and call the same `workflows` functions with the same scopes;
they sign users in with a session cookie (see `signin`) and protect every form with a CSRF token
(see `csrf`). Templates live in server/templates, the one CSS file and a little optional
JavaScript in server/static.
"""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request, session, url_for
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from workflows import db, queries
from workflows.accounts import LoginThrottled
from workflows.errors import Forbidden, NotFound

from ..errors import RETRY_AFTER_SECONDS
from . import csrf, fmt, formview, i18n, signin
from .blueprint import bp

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)


def register_web(app: Flask) -> None:
    from . import (  # noqa: F401
        pages_admin,
        pages_agreement_templates,
        pages_attachments,
        pages_auth,
        pages_calendar,
        pages_diagrams,
        pages_fanout,
        pages_finance,
        pages_instances,
        pages_notifications,
        pages_notify_admin,
        pages_processes,
        pages_reports,
        pages_requests,
        pages_residents,
        pages_tasks,
        pages_termination,
    )

    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        t=i18n.t,
        field_label=i18n.field_label,
        role_label=i18n.role_label,
        form_value=lambda field, value: formview.display_value(field, field["name"], value),
        csrf_field=csrf.FIELD,
    )
    app.jinja_env.filters.update(
        when=fmt.when,
        iso=fmt.iso,
        yuan=fmt.yuan,
        yuan_str=fmt.yuan_str,
        rmb_words=fmt.rmb_words,
        article_no=fmt.article_no,
        doc_date=fmt.doc_date,
        trigger_label=fmt.trigger_label,
        state_label=fmt.state_label,
        outcome_label=fmt.outcome_label,
        state_class=fmt.state_class,
        task_name=lambda task: fmt.task_name(task.key, task.name),
        task_key_name=fmt.task_name,
        decision=fmt.decision,
        overdue=fmt.is_overdue,
        days_left=fmt.days_left,
        stage_label=fmt.stage_label,
        option_label=fmt.option_label,
        one_language=i18n.one_language,
    )


@bp.before_request
def _before() -> None:
    chosen = request.args.get("lang")
    if chosen in i18n.LANGS:
        session["lang"] = chosen
    g.lang = session.get("lang") if session.get("lang") in i18n.LANGS else i18n.DEFAULT_LANG
    signin.load_user()
    csrf.protect()


@bp.after_request
def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_context_processor
def _context():
    return {
        "lang": i18n.lang,
        "csrf_input": _csrf_input,
        "lang_url": _lang_url,
        "nav_counts": _nav_counts,
        "nav_unread": _nav_unread,
    }


def _csrf_input() -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(csrf.FIELD, csrf.token())


def _lang_url(code: str) -> str:
    """This page in another language (a GET of the same path and query)."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    endpoint = request.endpoint if request.method == "GET" and request.endpoint else None
    if endpoint and endpoint.startswith("web."):
        return url_for(endpoint, **{**(request.view_args or {}), **args, "lang": code})
    return request.path + "?lang=" + code


def database_down() -> bool:
    """True once this request has seen the database fail: the error page must not ask it
    again for the menu's counts (a second failure inside the error handler escapes Flask and
    the client gets the WSGI server's bare 500)."""
    return bool(g.get("database_down"))


def _nav_counts() -> dict[str, int] | None:
    if g.get("actor") is None or database_down():
        return None
    if "nav_counts" not in g:
        from .. import get_db

        with get_db().read() as s:
            g.nav_counts = queries.inbox_counts(s, g.actor)
    return g.nav_counts


def _nav_unread() -> int | None:
    from .pages_notifications import unread_count

    return unread_count()


def _error_page(status: int, message: str = ""):
    if not hasattr(g, "lang"):
        g.lang = i18n.DEFAULT_LANG
    if not hasattr(g, "user"):
        g.user = g.actor = None
    return render_template("error.html", status=status, message=message), status


@bp.errorhandler(csrf.CSRFError)
def _csrf_error(_exc):
    return _error_page(400, i18n.t("error.csrf"))


@bp.errorhandler(Forbidden)
def _forbidden(_exc):
    return _error_page(403, i18n.t("error.forbidden_text"))


@bp.errorhandler(NotFound)
def _not_found(_exc):
    return _error_page(404, i18n.t("error.not_found_text"))


@bp.errorhandler(LoginThrottled)
def _throttled(_exc):
    return _error_page(429, i18n.t("auth.throttled"))


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    code = exc.code or 500
    return _error_page(code, i18n.t(f"error.{code}") if f"error.{code}" in i18n.STRINGS else "")


@bp.errorhandler(SQLAlchemyError)
def _database_error(exc: SQLAlchemyError):
    if not db.unavailable(exc):
        return _unexpected(exc)
    log.warning("database unavailable on a page: %s", exc.__class__.__name__)
    g.database_down = True  # the menu's counts and unread badge would ask it again
    body, status = _error_page(503, i18n.t("error.unavailable_text"))
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http(exc)
    log.exception("unhandled error on a page")
    return _error_page(500)
