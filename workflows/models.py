"""Typed SQLAlchemy 2 models of the engine: accounts, roles, definitions, instances, inbox,
messages, audit, attachments.

Datetimes are stored as UTC and come back timezone-aware. A process's own records (the
district's work requests and their money, say) live in its plugin's package, on the same
metadata.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import clock
from .db import Base


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both databases (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return clock.now()


class OrgUnit(Base):
    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # the unit's full legal name, as documents name it (海明社区居民委员会 for 海明社区); None: the
    # name is (migration 0013)
    legal_name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)

    @property
    def full_name(self) -> str:
        """The name a document names the unit by: its legal name, else its name."""
        return self.legal_name or self.name


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    # where the user is told of their work by e-mail (None: not by e-mail); migration 0012
    email: Mapped[str | None] = mapped_column(String(254))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "role", "org_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))

    user: Mapped[User] = relationship(back_populates="memberships")
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token of the API (`kind` api) or a signed-in web session (`kind` web): either
    ends on the server when revoked (sign-out, password change, deactivation)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class Role(Base):
    """A role users hold at an org unit of one kind; tasks are routed to (role, org unit)."""

    __tablename__ = "role"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    # the kind of org unit a member of this role belongs to (routing.SCOPE_KEYS)
    unit_kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # a suspended version starts no new instances; running ones carry on
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)


class ProcessRelease(Base):
    """The version of a process key that new instances start on, chosen by an admin.

    Without a row the newest version that is not suspended is in force."""

    __tablename__ = "process_release"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    chosen_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_instance_timer", "next_timer_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    # the caller's own reference for the instance (Camunda's business key), e.g. a case number
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    outcome: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200), default="")
    # role -> org unit id, fixed at start by the routing rule (workflows/routing.py)
    scope: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # the serialised SpiffWorkflow state without its spec (the spec comes from the definition)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # engine steps run so far: the order of what happened within the instance (Task.opened_step)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    definition: Mapped[ProcessDefinition] = relationship(lazy="joined")


class InstanceParty(Base):
    """The instance's routing scope as rows (role -> org unit), for 'who may read it' queries."""

    __tablename__ = "instance_party"
    __table_args__ = (Index("ix_party_lookup", "role", "org_unit_id", "instance_id"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))


class MessageSubscription(Base):
    """An instance waiting for a BPMN message by name (catch event, receive task or boundary
    event), kept in step with the engine state like the task rows."""

    __tablename__ = "message_subscription"
    __table_args__ = (Index("ix_subscription_name", "name", "instance_id"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)


class Task(Base):
    """The inbox projection: one row per human task, kept in step with the engine state."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_inbox", "status", "role", "org_unit_id", "created_at"),
        Index("ix_task_assignee", "status", "assignee_id"),
        Index("ix_task_escalated", "status", "escalation_unit_id"),
        # the inbox branches (routing.inbox_branches); migration 0003
        Index(
            "ix_task_assigned",
            "assignee_id",
            "status",
            "created_at",
            sqlite_where=text("assignee_id IS NOT NULL"),
            postgresql_where=text("assignee_id IS NOT NULL"),
        ),
        Index(
            "ix_task_escalation",
            "escalation_unit_id",
            "status",
            "created_at",
            sqlite_where=text("escalation_unit_id IS NOT NULL"),
            postgresql_where=text("escalation_unit_id IS NOT NULL"),
        ),
        Index("ix_task_inbox_due", "status", "role", "org_unit_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    spiff_id: Mapped[str] = mapped_column(String(36), unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    process_key: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    # the instance's engine step that opened it (ProcessInstance.lock_version then)
    opened_step: Mapped[int] = mapped_column(Integer, default=0)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # due_at falls in a year whose statutory calendar is not entered yet (weekends only)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    org_unit: Mapped[OrgUnit] = relationship(foreign_keys=[org_unit_id], lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])


class AuditEvent(Base):
    """Append-only: the application never updates or deletes these rows."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(64))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(lazy="joined")


class IdempotencyRecord(Base):
    """The first answer to a POST sent with an Idempotency-Key, stored in its transaction."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Attachment(Base):
    """A file added to a task (e.g. the committee's work report); its bytes live in the store."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by: Mapped[User] = relationship(lazy="joined")


class AttachmentBlob(Base):
    """The bytes of attachments when the store is the database (the default: no local files)."""

    __tablename__ = "attachment_blob"

    storage_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class CalendarYear(Base):
    """A year of the statutory calendar (国务院办公厅 notice on the holiday arrangements).

    A year without a row is counted Monday to Friday, and dates counted in it are provisional.
    """

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(16))  # library | admin
    notice: Mapped[str] = mapped_column(String(200), default="")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class CalendarDay(Base):
    """A day that differs from Monday-to-Friday: a holiday (also on a weekday) or an adjusted
    working day (调休上班, on a weekend)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(
        ForeignKey("calendar_year.year", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # holiday | workday
    name: Mapped[str] = mapped_column(String(40), default="")


class ProvisionalTimer(Base):
    """A timer counted in working days into a year with no calendar yet: what to count again
    (from `start`, `days` working days) when the year is entered."""

    __tablename__ = "provisional_timer"
    __table_args__ = (UniqueConstraint("instance_id", "spiff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    spiff_id: Mapped[str] = mapped_column(String(36))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    days: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Wrong passwords counted per client address (`a:<address>`) and per name from one address
    (`p:<address> <username>`), whether or not the name exists."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
