"""居民评议 on the pages: the public page residents rate on (`/r/<token>`, no sign-in) and its QR
code; the committee's opening form; the panel of the instance and request pages (the survey's
link, QR code and live count, and the combined score with its parts); the admin's weights.

Everything is written through `handoff.residents` and `handoff.scores`, as through the API. What
is HTTP stays here: the device cookie and the form's loading stamp are signed with SECRET_KEY
(itsdangerous, Flask's own dependency) and checked here; the service gets the plain facts
(`residents.Client`) and keeps only digests of them.
"""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import segno
from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadSignature, Signer

from handoff import residents, scores
from handoff import termination as handoff_termination
from workflows import clock, queries
from workflows.errors import Forbidden, Invalid, NotFound

from .. import get_db
from ..auth import client_address
from ..links import survey_url
from . import signin
from .blueprint import bp
from .i18n import t

DEVICE_COOKIE = "rd"
DEVICE_LIFETIME = timedelta(days=400)  # what browsers keep a cookie for at most
STAMP_FIELD = "stamp"
admin_only = signin.role_required("admin")


# --- signed cookie and stamp ----------------------------------------------------------------


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _signer(purpose: str) -> Signer:
    return Signer(_secret(), salt=f"resident-{purpose}")


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_millis(value: str) -> datetime | None:
    if not value.isascii() or not value.isdigit() or len(value) > 15:
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _device() -> tuple[str, datetime] | None:
    """(device id, when its cookie was issued) of this browser's valid device cookie."""
    raw = request.cookies.get(DEVICE_COOKIE, "")
    if not raw or len(raw) > 200:
        return None
    try:
        value = _signer("device").unsign(raw).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        return None
    device_id, _, issued = value.partition(".")
    at = _from_millis(issued)
    return (device_id, at) if device_id and at is not None else None


def _give_device(response: Response) -> None:
    """A new device id (random, 128 bits) in a long-lived cookie the page's script cannot read."""
    value = f"{secrets.token_urlsafe(16)}.{_millis(clock.now())}"
    response.set_cookie(
        DEVICE_COOKIE,
        _signer("device").sign(value).decode("ascii"),
        max_age=int(DEVICE_LIFETIME.total_seconds()),
        path="/r/",
        httponly=True,
        samesite="Lax",
        secure=request.is_secure or bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )


def _stamp(token: str) -> str:
    """When this form was loaded, signed for this survey."""
    return _signer(f"form {token}").sign(str(_millis(clock.now()))).decode("ascii")


def _loaded_at(token: str) -> datetime | None:
    raw = request.form.get(STAMP_FIELD, "")
    if not raw or len(raw) > 200:
        return None
    try:
        value = _signer(f"form {token}").unsign(raw).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        return None
    return _from_millis(value)


# --- the public page ------------------------------------------------------------------------


def _survey_or_404(session, token: str):
    survey = residents.by_token(session, token)
    if survey is None:
        raise NotFound("no such survey")
    return survey


def _render_public(token: str, *, values=None, errors=None, message=None, status=200):
    device = _device()
    with get_db().read() as session:
        survey = _survey_or_404(session, token)
        current = residents.state(session, survey)
        rated = current.is_open and residents.rated_today(
            session, survey, device[0] if device else None, _secret()
        )
        page = render_template(
            "resident.html",
            token=token,
            work=residents.public_view(session, survey),
            survey=survey,
            current=current,
            rated=rated,
            values=values or {},
            errors=errors or {},
            message=message,
            stamp=_stamp(token),
            stamp_field=STAMP_FIELD,
            scores=residents.SCORES,
            comment_max=residents.COMMENT_MAX,
        )
    response = make_response(page, status)
    if device is None:
        _give_device(response)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("r/<token>")
def resident_page(token: str):
    """The survey's public page: the work, and the rating form while it is open."""
    return _render_public(token)


@bp.post("r/<token>")
def resident_rate(token: str):
    values = {
        "score": request.form.get("score", "")[:10],
        # one past the limit: a longer comment is refused by the service, not cut to fit
        "comment": request.form.get("comment", "")[: residents.COMMENT_MAX + 1],
    }
    device = _device()
    client = residents.Client(
        device_id=device[0] if device else None,
        device_issued_at=device[1] if device else None,
        address=client_address(),
        loaded_at=_loaded_at(token),
    )
    try:
        residents.rate(get_db(), token, values["score"], values["comment"], client, _secret())
    except residents.InputInvalid as exc:
        errors = {}
        for field, reason in exc.reasons.items():
            key = "public.error.score" if field == "score" else f"admin.error.{reason}"
            errors[field] = t(key, **exc.params.get(field, {}))
        return _render_public(token, values=values, errors=errors, status=422)
    except residents.RatingRefused as exc:
        message = t(f"public.refused.{exc.reason}")
        status = residents.REFUSALS[exc.reason]
        return _render_public(token, values=values, message=message, status=status)
    flash(t("public.thanks"), "ok")
    return redirect(url_for("web.resident_page", token=token))


@bp.get("r/<token>/qr.svg")
def resident_qr(token: str):
    """The QR code of the page's absolute address, as SVG (same origin: the pages' CSP)."""
    with get_db().read() as session:
        _survey_or_404(session, token)
    out = io.BytesIO()
    code = segno.make(survey_url(token), error="m")
    code.save(out, kind="svg", scale=8, border=2, xmldecl=False, title=t("residents.qr_alt"))
    response = Response(out.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


# --- the committee's panel and opening form -------------------------------------------------


def panel(session, actor, instance) -> dict[str, Any] | None:
    """What the instance and request pages show of 居民评议 and the combined score (None for
    other processes, and before there is anything to show)."""
    try:
        score = scores.combined(session, instance.id)
    except NotFound:  # not a handoff
        return None
    survey = residents.survey_of(session, instance.id)
    may_open = residents.may_open(session, actor, instance)
    reported = handoff_termination.work_reported(session, instance.id)
    if survey is None and not may_open and not reported and score.value is None:
        return None
    shown = None
    if survey is not None:
        shown = {
            "survey": survey,
            "state": residents.state(session, survey),
            "results": residents.results(session, survey),
            "url": survey_url(survey.token),
            "count_url": url_for("web.resident_count", instance_id=instance.id),
        }
    return {"instance_id": instance.id, "score": score, "survey": shown, "may_open": may_open}


@bp.get("instances/<int:instance_id>/resident-survey/count")
@signin.login_required
def resident_count(instance_id: int):
    """The live count the panel refreshes (app.js): how many residents rated, open or not."""
    with get_db().read() as session:
        queries.instance_for(session, signin.actor(), instance_id)  # 404 outside the scope
        survey = residents.survey_of(session, instance_id)
        if survey is None:
            raise NotFound("no survey")
        current = residents.state(session, survey)
        body = {"ratings": current.ratings, "open": current.is_open}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _render_new(instance_id: int, *, values=None, errors=None, status=200):
    with get_db().read() as session:
        instance = queries.instance_for(session, signin.actor(), instance_id)
        return render_template(
            "resident_survey_new.html",
            instance=instance,
            values=values or {"days": str(residents.DEFAULT_DAYS), "max_ratings": ""},
            errors=errors or {},
            days=residents.DAYS,
            max_ratings=residents.MAX_RATINGS,
        ), status


def _refused(instance_id: int, reason: str):
    flash(t(f"residents.refused.{reason}"), "error")
    return redirect(url_for("web.instance_page", instance_id=instance_id))


@bp.get("instances/<int:instance_id>/resident-survey/new")
@signin.role_required("committee")
def resident_survey_form(instance_id: int):
    actor = signin.actor()
    with get_db().read() as session:
        instance = queries.instance_for(session, actor, instance_id)  # 404 outside the scope
        if not residents.is_handoff(session, instance_id):
            raise NotFound("not a handoff")
        if not residents.is_committee(actor, instance):
            raise Forbidden(residents.NOT_COMMITTEE)
        refusal = residents.opening_refusal(session, instance)
        if refusal is not None:
            return _refused(instance_id, refusal.reason)
    return _render_new(instance_id)


@bp.post("instances/<int:instance_id>/resident-survey")
@signin.role_required("committee")
def resident_survey_open(instance_id: int):
    values = {
        "days": request.form.get("days", "")[:20],
        "max_ratings": request.form.get("max_ratings", "")[:20],
    }
    try:
        residents.open_survey(
            get_db(), signin.actor(), instance_id, values["days"], values["max_ratings"]
        )
    except residents.OpeningRefused as exc:
        return _refused(instance_id, exc.reason)
    except Invalid as exc:
        reasons = getattr(exc, "reasons", {}) or {}
        errors = {field: t(f"residents.error.{reason}") for field, reason in reasons.items()}
        return _render_new(instance_id, values=values, errors=errors, status=422)
    flash(t("residents.opened_flash"), "ok")
    return redirect(url_for("web.instance_page", instance_id=instance_id) + "#sec-residents")


# --- the admin's weights --------------------------------------------------------------------


def _render_weights(posted: str | None = None, values=None, errors=None, status=200):
    with get_db().read() as session:
        rows = scores.all_weights(session)
    return render_template(
        "admin/evaluation_weights.html",
        rows=rows,
        posted=posted,
        values=values or {},
        errors=errors or {},
        min_ratings=scores.min_ratings(),
    ), status


@bp.get("admin/evaluation-weights")
@admin_only
def admin_weights():
    return _render_weights()


@bp.post("admin/evaluation-weights/<category>")
@admin_only
def admin_set_weights(category: str):
    values = {part: request.form.get(part, "")[:10] for part in scores.PARTS}
    try:
        with get_db().write() as session:
            scores.set_weights(session, category, values, actor_id=signin.actor().user_id)
    except residents.InputInvalid as exc:
        errors = {f: t(f"admin.weights_error.{r}") for f, r in exc.reasons.items()}
        return _render_weights(category, values, errors, 422)
    flash(t("admin.weights_saved", category=t(f"category.{category}")), "ok")
    return redirect(url_for("web.admin_weights"))
