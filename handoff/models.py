"""The handoff's own records beside the engine's: catalog, requests, agreements, money.

They share the engine's declarative base (one metadata, one migration history); the engine's
tables never point at these, only these at the engine's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.db import Base
from workflows.models import OrgUnit, ProcessInstance, User, UTCDateTime, utcnow


class CatalogItem(Base):
    """One entry of the 准入 list, in force from `effective_from` until `effective_to`
    (exclusive; open when None). A change through the annual review ends the old entry and
    starts a new one with the same code, so a request is screened by the entry of its date."""

    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("code", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    legal_basis: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    # per community, in fen; what the annual review set (0 when not set)
    funding_standard_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    responsible_department: Mapped[str] = mapped_column(String(64), default="")
    # the words that name this item in a request's text (negative-list screening, see
    # `handoff.screening`): its terms and synonyms, admin-edited; the name counts too
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)


class Request(Base):
    """One department's request to hand an item to one or more communities."""

    __tablename__ = "handoff_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    item_code: Mapped[str | None] = mapped_column(String(32))
    item_name: Mapped[str] = mapped_column(String(200), default="")
    item_category: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(String(500), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[date | None] = mapped_column(Date)
    # the working conditions the department provides (人员、培训、设备、场地), and how the money is
    # paid (`handoff.instalments`): what the committee may negotiate before signing
    conditions: Mapped[str] = mapped_column(Text, default="")
    payment_plan: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # the agreement's terms the department filled in (`handoff.agreement_terms.Terms.as_data`);
    # None: none given (migration 0013)
    terms: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    department: Mapped[OrgUnit] = relationship(lazy="joined")


class HandoffInstance(Base):
    """One community's handoff of a request: the link from a request to its process instance."""

    __tablename__ = "handoff_instance"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("handoff_request.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)

    instance: Mapped[ProcessInstance] = relationship(lazy="raise")


class Agreement(Base):
    """委托协议: drafted from the request when signing starts, one per handoff.

    status: draft | signed | refused | cancelled (withdrawn while being signed) | withdrawn (by
    the department in negotiation) | terminated."""

    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # redrafted when the parties agree on new terms in negotiation (`handoff.negotiation`)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a signed agreement ends early only by termination (`handoff.termination`): when and why
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    termination_reason: Mapped[str | None] = mapped_column(Text)

    signatures: Mapped[list[Signature]] = relationship(
        back_populates="agreement", order_by="Signature.id", lazy="selectin"
    )


class Signature(Base):
    __tablename__ = "signature"
    __table_args__ = (UniqueConstraint("agreement_id", "party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"))
    party: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agreement: Mapped[Agreement] = relationship(back_populates="signatures")
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")


class LedgerEntry(Base):
    """The money trail, per handoff, in fen: what was agreed and transferred and, when a
    handoff is terminated, how the money transferred was settled: refunded to the department
    (`voucher_no` and `transferred_on`, the day it arrived back) or kept by the committee."""

    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("handoff_request.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # agreed | transferred | refunded | kept
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    voucher_no: Mapped[str | None] = mapped_column(String(64))
    transferred_on: Mapped[date | None] = mapped_column(Date)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the instance's engine step that recorded it (compared with Task.opened_step)
    step: Mapped[int] = mapped_column(Integer, default=0)
    # which instalment of the payment plan a transfer pays (`seq`; None: agreed, settlements)
    instalment: Mapped[int | None] = mapped_column(Integer)


class NegotiationRound(Base):
    """One move in the negotiation before signing (协商): the committee's counter-proposal, or
    the department's answer (accept, revise with a new offer, withdraw). The terms are what
    the move proposes (None: unchanged); every round is kept."""

    __tablename__ = "negotiation_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("handoff_request.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    party: Mapped[str] = mapped_column(String(16))  # committee | department
    action: Mapped[str] = mapped_column(String(16))  # counter | accept | revise | withdraw
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    due_date: Mapped[date | None] = mapped_column(Date)
    conditions: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    # the terms in force when the move was made, to show by how much they changed
    before_amount_fen: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Termination(Base):
    """A termination (`bpmn/handoff_termination.bpmn`) and the handoff it would end: pending
    while its instance runs, at most one at a time per handoff."""

    __tablename__ = "handoff_termination"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    handoff_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)


class AgreementTemplate(Base):
    """The fixed clauses of the agreements of one catalog category (`unlisted` for items not
    in the catalog), admin-edited (`handoff.agreement_templates`). An agreement copies the
    clauses in force when it is drafted: a later edit changes no drafted or signed agreement."""

    __tablename__ = "agreement_template"

    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    # clause key (breach, variation, termination, dispute, other) -> its text
    clauses: Mapped[dict[str, str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    updated_by: Mapped[User | None] = relationship(lazy="joined")
