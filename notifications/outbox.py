"""The outbox as the admin sees it: messages by status (dead letters first of all), and
sending a dead one again."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from workflows import audit, clock
from workflows.errors import Conflict, NotFound

from .models import STATUSES, Notification


def listing(status: str | None = "dead"):
    """E-mails and webhook posts (in-app messages are delivered when written), newest first."""
    stmt = select(Notification).where(Notification.channel.in_(("email", "webhook")))
    if status in STATUSES:
        stmt = stmt.where(Notification.status == status)
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def retry(session: Session, notification_id: int, *, actor_id: int | None) -> Notification:
    """Send a dead message again now, with a fresh count of attempts; audited."""
    row = session.scalar(
        select(Notification)
        .where(Notification.id == notification_id)
        .options(lazyload("*"))  # no outer joins under FOR UPDATE
        .with_for_update(of=Notification)
    )
    if row is None or row.channel == "inapp":
        raise NotFound("message not found")
    if row.status != "dead":
        raise Conflict(f"the message is {row.status}, not dead")
    row.status, row.attempts, row.next_attempt_at = "pending", 0, clock.now()
    audit.record(session, "notification.retried", actor_id=actor_id, notification_id=row.id)
    session.flush()
    session.refresh(row, ["user", "webhook"])  # for answering after the session ends
    return row
