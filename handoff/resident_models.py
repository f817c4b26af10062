"""The records of 居民评议 (`handoff.residents`) and of the combined score's weights
(`handoff.scores`), on the engine's metadata like the handoff's own (`handoff.models`).

Nothing here holds a resident's device id or address: only their HMAC digests, keyed with the
service's SECRET_KEY and the survey, so that one device's ratings in two surveys cannot be linked.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from workflows.db import Base
from workflows.models import UTCDateTime, utcnow


class ResidentSurvey(Base):
    """One 居民评议 of a handoff (at most one per handoff), opened by its committee once the work
    is reported. It is open until `closes_at` or until `max_ratings` residents have rated,
    whichever comes first: computed on read (`residents.state`); `closed_at` and `closed_by`
    only record, for the audit trail, when the closing was seen (by the closing rating or by
    the timer worker's sweep)."""

    __tablename__ = "resident_survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    # the public page's capability: /r/<token> (secrets.token_urlsafe, unguessable)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    days: Mapped[int] = mapped_column(Integer)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_ratings: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(16))  # days | count | ended


class ResidentRating(Base):
    """One resident's rating: 1–5 and an optional comment, one per device and day (the unique
    constraint holds even against two submissions at the same instant)."""

    __tablename__ = "resident_rating"
    __table_args__ = (
        UniqueConstraint("survey_id", "device_hash", "day", name="uq_resident_rating_device_day"),
        Index("ix_resident_rating_address", "survey_id", "address_hash", "day"),
        CheckConstraint("score BETWEEN 1 AND 5", name="ck_resident_rating_score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("resident_survey.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)  # Asia/Shanghai
    device_hash: Mapped[str] = mapped_column(String(64))
    address_hash: Mapped[str] = mapped_column(String(64))
    # the device's cookie was new (a burst of new devices from one address is refused)
    fresh_device: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvaluationWeights(Base):
    """The weights of the combined score for the handoffs of one catalog category (percent,
    adding up to 100). A category without a row has the defaults (`scores.DEFAULT`)."""

    __tablename__ = "evaluation_weights"
    __table_args__ = (
        CheckConstraint(
            "street >= 0 AND department >= 0 AND residents >= 0 "
            "AND street + department + residents = 100",
            name="ck_evaluation_weights_sum",
        ),
    )

    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    street: Mapped[int] = mapped_column(Integer)
    department: Mapped[int] = mapped_column(Integer)
    residents: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
