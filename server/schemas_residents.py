"""marshmallow schemas of 居民评议 and the combined score (`server/api/residents.py`), beside
`server.schemas` whose building blocks they use. Scores are decimal strings with one place."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from handoff import residents, scores

from .schemas import LocalDateTime, Strict, page_schema


class ResidentSurveyIn(Strict):
    days = fields.Integer(
        strict=True,
        load_default=residents.DEFAULT_DAYS,
        validate=validate.Range(*residents.DAYS),
        metadata={"description": "how many days the survey stays open (default 7)"},
    )
    max_ratings = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(*residents.MAX_RATINGS),
        metadata={"description": "closes once this many residents have rated (null: no limit)"},
    )


class ResidentCommentOut(Schema):
    score = fields.Integer()
    comment = fields.String()
    day = fields.Date()


class ResidentSurveyOut(Schema):
    instance_id = fields.Integer()
    url = fields.String(metadata={"description": "the public page, for the link and QR code"})
    qr_url = fields.String(metadata={"description": "the QR code of `url` (SVG)"})
    state = fields.String(metadata={"enum": ["open", "closed"]})
    closed_by = fields.String(
        allow_none=True,
        metadata={"description": "closed by: days, count or ended (the handoff); null: open"},
    )
    opened_by = fields.String(allow_none=True)
    opened_at = LocalDateTime()
    days = fields.Integer()
    closes_at = LocalDateTime()
    max_ratings = fields.Integer(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    ratings = fields.Integer()
    mean = fields.String(allow_none=True, metadata={"description": "1–5, one decimal place"})
    by_score = fields.Dict(keys=fields.String(), values=fields.Integer())
    comments = fields.List(fields.Nested(ResidentCommentOut))


class WeightsIn(Strict):
    street = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100))
    department = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100))
    residents = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100))


class WeightsOut(Schema):
    category = fields.String(metadata={"description": "the catalog category (or unlisted)"})
    street = fields.Integer()
    department = fields.Integer()
    residents = fields.Integer()
    default = fields.Boolean(metadata={"description": "not set: the defaults 30 / 10 / 60"})


class ScorePartOut(Schema):
    part = fields.String(metadata={"enum": list(scores.PARTS)})
    weight = fields.Integer()
    share = fields.String(
        allow_none=True, metadata={"description": "its weight after renormalisation, percent"}
    )
    score = fields.String(allow_none=True, metadata={"description": "0–100"})
    status = fields.String(metadata={"enum": ["counted", "missing", "no_survey", "too_few"]})


class ResidentsPartOut(Schema):
    count = fields.Integer()
    minimum = fields.Integer()
    counted = fields.Boolean()
    mean = fields.String(allow_none=True, metadata={"description": "1–5, one decimal place"})
    survey = fields.String(
        allow_none=True, metadata={"description": "open or closed; null: no survey was opened"}
    )


class ScoreOut(Schema):
    instance_id = fields.Integer()
    score = fields.String(allow_none=True, metadata={"description": "0–100, one decimal place"})
    category = fields.String()
    weights = fields.Nested(WeightsOut)
    parts = fields.List(fields.Nested(ScorePartOut))
    residents = fields.Nested(ResidentsPartOut)
    missing = fields.List(fields.String())
    renormalised = fields.Boolean()
    provisional = fields.Boolean()
    notes = fields.List(fields.String())


WeightsPage = page_schema(WeightsOut, "WeightsPage")
