"""The append-only audit trail: one event for every state change, in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from .models import AuditEvent


def record(
    session: Session,
    action: str,
    *,
    actor_id: int | None = None,
    instance_id: int | None = None,
    task_id: int | None = None,
    business_key: str | None = None,
    **detail: Any,
) -> AuditEvent:
    ev = AuditEvent(
        action=action,
        actor_id=actor_id,
        instance_id=instance_id,
        task_id=task_id,
        business_key=business_key,
        detail=detail,
    )
    session.add(ev)
    return ev


class AuditImmutable(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _ctx, _instances) -> None:
    """The application may add audit events, never change or delete them."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditImmutable("audit events are append-only")
