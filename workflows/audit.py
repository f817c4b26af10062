"""The append-only audit trail: one event for every state change, in the same transaction.

Events are collected in the session (`session.info`) and written at commit as ONE multi-row
INSERT (one round trip, however many events a step records), after the session's last flush,
so that every row they name exists. A rolled-back transaction drops them with everything else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from . import clock, write_behind
from .models import AuditEvent

PENDING = "audit.pending"  # session.info: the events of this transaction, in order


def record(
    session: Session,
    action: str,
    *,
    actor_id: int | None = None,
    instance_id: int | None = None,
    task_id: int | None = None,
    business_key: str | None = None,
    **detail: Any,
) -> None:
    session.info.setdefault(PENDING, []).append(
        {
            "at": clock.now(),
            "action": action,
            "actor_id": actor_id,
            "instance_id": instance_id,
            "task_id": task_id,
            "business_key": business_key,
            "detail": detail,
        }
    )


def write_pending(session: Session) -> int:
    """Write the events collected so far (the commit does; a caller that must see them in its
    own transaction may too); the number written."""
    rows = session.info.pop(PENDING, None)
    if not rows:
        return 0
    session.flush()
    # Core, not the ORM's bulk insert: that one splits the rows by which values are None.
    # Written behind: nothing reads its result, and it goes with the next statement or COMMIT.
    write_behind.insert_many(session, AuditEvent, rows)
    return len(rows)


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_rollback")
def _drop_at_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


class AuditImmutable(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _ctx, _instances) -> None:
    """The application may add audit events, never change or delete them."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditImmutable("audit events are append-only")
