"""站内消息: a user's in-app messages, unread first, and marking them read."""

from __future__ import annotations

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, lazyload

from workflows import clock, queries
from workflows.errors import NotFound

from .models import Notification


def _mine(user_id: int):
    return Notification.user_id == user_id, Notification.channel == "inapp"


def page(
    session: Session, user_id: int, *, unread: bool | None = None, page: int = 1, per_page: int = 20
) -> queries.Page:
    """The user's messages: unread first, newest first within each."""
    stmt = select(Notification).where(*_mine(user_id)).options(lazyload("*"))
    if unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    stmt = stmt.order_by(
        case((Notification.read_at.is_(None), 0), else_=1),
        Notification.created_at.desc(),
        Notification.id.desc(),
    )
    return queries.paged(session, stmt, page, per_page)


def unread_count(session: Session, user_id: int) -> int:
    """One COUNT through the (user_id, channel, read_at) index: what the nav shows."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(*_mine(user_id), Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, user_id: int, notification_id: int) -> Notification:
    """Mark one of the user's messages read (again is fine); another's is not found."""
    row = session.scalar(
        select(Notification)
        .where(Notification.id == notification_id, *_mine(user_id))
        .options(lazyload("*"))
    )
    if row is None:
        raise NotFound("notification not found")
    if row.read_at is None:
        row.read_at = clock.now()
    return row


def mark_all_read(session: Session, user_id: int) -> int:
    """Mark every unread message of the user read; how many were."""
    return session.execute(
        update(Notification)
        .where(*_mine(user_id), Notification.read_at.is_(None))
        .values(read_at=clock.now())
    ).rowcount
