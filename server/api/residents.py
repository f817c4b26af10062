"""居民评议 and the combined score: the committee opens a handoff's resident survey, the parties
read its state and results and the handoff's combined score; admins set the weights per catalog
category. The residents themselves rate on the public page (`/r/<token>`), not here.

The views parse and call `handoff.residents` and `handoff.scores`, the functions the pages call.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from handoff import residents, scores
from workflows import queries
from workflows.errors import NotFound

from .. import get_db
from ..auth import admin_required, current_actor, login_required
from ..links import survey_qr_url, survey_url
from ..schemas_residents import (
    ResidentSurveyIn,
    ResidentSurveyOut,
    ScoreOut,
    WeightsIn,
    WeightsOut,
    WeightsPage,
)
from .contract import may_answer

blp = Blueprint("residents", __name__, description="居民评议与综合评分 Resident surveys and scores")


def _decimal(value) -> str | None:
    return None if value is None else str(value)


def survey_body(session, survey) -> dict:
    current = residents.state(session, survey)
    found = residents.results(session, survey)
    return {
        "instance_id": survey.instance_id,
        "url": survey_url(survey.token),
        "qr_url": survey_qr_url(survey.token),
        "state": "open" if current.is_open else "closed",
        "closed_by": current.closed_by,
        "opened_by": residents.opener_name(session, survey),
        "opened_at": survey.opened_at,
        "days": survey.days,
        "closes_at": survey.closes_at,
        "max_ratings": survey.max_ratings,
        "closed_at": survey.closed_at,
        "ratings": found.ratings,
        "mean": _decimal(found.mean),
        "by_score": {str(k): v for k, v in found.by_score.items()},
        "comments": [
            {"score": r.score, "comment": r.comment, "day": r.day} for r in found.comments
        ],
    }


def weights_body(weights: scores.Weights) -> dict:
    return {
        "category": weights.category,
        "street": weights.street,
        "department": weights.department,
        "residents": weights.residents,
        "default": weights.default,
    }


def score_body(instance_id: int, score: scores.Score) -> dict:
    return {
        "instance_id": instance_id,
        "score": _decimal(score.value),
        "category": score.category,
        "weights": weights_body(score.weights),
        "parts": [
            {
                "part": p.key,
                "weight": p.weight,
                "share": _decimal(p.share),
                "score": _decimal(p.score),
                "status": p.status,
            }
            for p in score.parts
        ],
        "residents": {
            "count": score.residents_count,
            "minimum": score.residents_minimum,
            "counted": score.parts[-1].counted,
            "mean": _decimal(score.residents_mean),
            "survey": score.survey,
        },
        "missing": score.missing,
        "renormalised": score.renormalised,
        "provisional": score.provisional,
        "notes": score.notes(),
    }


def _survey(session, instance_id: int):
    queries.instance_for(session, current_actor(), instance_id)  # 404 outside the scope
    survey = residents.survey_of(session, instance_id)
    if survey is None:
        raise NotFound("no resident survey for this instance")
    return survey


@blp.get("/instances/<int:instance_id>/resident-survey")
@blp.response(200, ResidentSurveyOut)
@login_required
def get_survey(instance_id):
    """The handoff's 居民评议: its public link and QR code, open or closed (and why), how many
    residents rated, the mean, the scores given and the comments (404 if none was opened)."""
    with get_db().read() as session:
        return survey_body(session, _survey(session, instance_id))


@blp.post("/instances/<int:instance_id>/resident-survey")
@blp.arguments(ResidentSurveyIn, required=False)
@blp.response(201, ResidentSurveyOut)
@may_answer(403, 409)
@login_required
def open_survey(body, instance_id):
    """The committee of the handoff's community opens its 居民评议 once the work is reported:
    open for `days` (1–30, default 7) or until `max_ratings` residents have rated, whichever
    comes first. One per handoff (409 for a second, before the work is reported, or once the
    handoff was cancelled or terminated; 403 for anyone but the committee)."""
    body = body or {}
    db = get_db()
    residents.open_survey(
        db,
        current_actor(),
        instance_id,
        days=body.get("days", residents.DEFAULT_DAYS),
        max_ratings=body.get("max_ratings"),
    )
    with db.read() as session:
        return survey_body(session, residents.survey_of(session, instance_id))


@blp.get("/instances/<int:instance_id>/score")
@blp.response(200, ScoreOut)
@login_required
def get_score(instance_id):
    """The handoff's combined score (综合评分, 0–100): the street office's evaluation, the
    department's score at acceptance and the residents' mean ×20, weighted by the item's
    category; parts that are missing (or too few residents) are left out and the weights
    renormalised, and `notes` say so."""
    with get_db().read() as session:
        queries.instance_for(session, current_actor(), instance_id)  # 404 outside the scope
        return score_body(instance_id, scores.combined(session, instance_id))


@blp.get("/evaluation-weights")
@blp.response(200, WeightsPage)
@login_required
def list_weights():
    """The weights of the combined score for each catalog category whose handoffs reach the
    work (`default`: not set, 30 / 10 / 60)."""
    with get_db().read() as session:
        items = [weights_body(w) for w in scores.all_weights(session)]
        return {"items": items, "total": len(items), "page": 1, "per_page": len(items)}


@blp.put("/evaluation-weights/<category>")
@blp.arguments(WeightsIn)
@blp.response(200, WeightsOut)
@admin_required
def put_weights(body, category):
    """Set a category's weights: whole percents adding up to 100 (422 naming the fields)."""
    with get_db().write() as session:
        weights = scores.set_weights(session, category, body, actor_id=current_actor().user_id)
        return weights_body(weights)
