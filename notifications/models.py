"""The outbox and what it needs: messages to deliver, their dedupe keys, webhook registrations,
each user's channel choice, and which tasks the scanners have already told about.

A `Notification` row is one message to one recipient on one channel: an in-app message
(站内消息, delivered when written, read or unread), an e-mail to a user, or a POST to a webhook
of an org unit. It lists one or more items (a digest: everything one transaction had to tell
that recipient on that channel). Rows are written in the transaction of the state change that
causes them (`notifications.service`), so they commit with it or not at all, and the worker
delivers them (`notifications.worker`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.db import Base
from workflows.models import OrgUnit, User, UTCDateTime, utcnow

CHANNELS = ("inapp", "email", "webhook")
STATUSES = ("pending", "sent", "dead")
FORMATS = ("generic", "wecom", "dingtalk")


class Webhook(Base):
    """A URL an admin registered for an org unit: its messages are POSTed there as JSON in
    `format` (generic, signed with `secret`; 企业微信 or 钉钉 group robot)."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(
        ForeignKey("org_unit.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    format: Mapped[str] = mapped_column(String(16), default="generic")
    # HMAC key: generic (X-Signature) and 钉钉 (加签); 企业微信 robots carry their key in the URL
    secret: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")


class Notification(Base):
    """One message of the outbox (see the module docstring)."""

    __tablename__ = "notification"
    __table_args__ = (
        # the worker: due pending rows, oldest first
        Index("ix_notification_due", "status", "next_attempt_at"),
        # a user's 站内消息 and the unread count of the nav
        Index("ix_notification_inbox", "user_id", "channel", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # CHANNELS
    # the recipient: a user (inapp, email) or a webhook (of the org unit `org_unit_id`)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    webhook_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook.id", ondelete="SET NULL"), index=True
    )
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"))
    # the address an e-mail goes to, as it was when the message was made
    address: Mapped[str | None] = mapped_column(String(254))
    # the kind of its items (task_opened, due_soon, overdue, escalated, request_decided,
    # money_confirmed, test), or "digest" when they are of several kinds
    kind: Mapped[str] = mapped_column(String(32))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(8), default="pending")  # STATUSES
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # in-app messages

    user: Mapped[User | None] = relationship(lazy="joined")
    webhook: Mapped[Webhook | None] = relationship(lazy="joined")


class NotificationKey(Base):
    """What has been enqueued, per item: a key (say `task_opened:17`) for one recipient
    (`u:<user id>` or `w:<webhook id>`) on one channel exists once, so a step or a scan that
    runs again never tells anyone twice."""

    __tablename__ = "notification_key"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), index=True
    )


class NotificationPreference(Base):
    """A user's choice of channels (in-app is always on). Without a row, e-mail is on, so an
    address the admin enters is used at once."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationScan(Base):
    """A task the worker's scanners have told about (`kind` due_soon or overdue): once each."""

    __tablename__ = "notification_scan"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("task.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
