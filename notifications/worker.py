"""Deliver the outbox: e-mails and webhook posts, with retries, backoff and dead letters.

One message per transaction: the worker claims the oldest due pending row (`SELECT … FOR UPDATE
SKIP LOCKED` on PostgreSQL, so several workers never take the same row; on SQLite the write
transaction is BEGIN IMMEDIATE, one writer at a time), sends it while the row is locked, and
marks it sent in the same transaction. A failed send counts an attempt and sets the next one
after an exponential backoff (`NOTIFY_RETRY_SECONDS` · 2^(attempts-1), at most
`NOTIFY_RETRY_MAX_SECONDS`); after `NOTIFY_MAX_ATTEMPTS` (8) failures the row is `dead`, listed
for the admin, who may send it again (`outbox.retry`).

What "exactly once" means here: a message is marked sent only after the receiver accepted it,
in the transaction that held it, so no message is lost and no two workers send one message at
the same time. A worker killed after the receiver accepted a message but before its commit
leaves the row pending, and the next worker sends it again, with the same Message-ID (e-mail)
or `X-Notification-Id` (generic webhook): a receiver that drops what it has seen gets every
message exactly once. Nothing else is ever sent twice.

On SQLite the write lock is held while a message is sent, so other writers wait for that send
(at most `NOTIFY_SEND_TIMEOUT` seconds); PostgreSQL holds only the row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from workflows import clock
from workflows.db import Database

from .channels import DeliveryError, Settings, send
from .models import Notification


def _number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, str(default)))
    except ValueError:
        return default


def max_attempts() -> int:
    return max(1, int(_number("NOTIFY_MAX_ATTEMPTS", 8)))


def backoff(attempts: int) -> timedelta:
    """How long after its `attempts`-th failure a message is tried again."""
    base = _number("NOTIFY_RETRY_SECONDS", 30)
    ceiling = _number("NOTIFY_RETRY_MAX_SECONDS", 6 * 3600)
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, attempts - 1)))


@dataclass
class Delivered:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.dead


def deliver_due(db: Database, settings: Settings | None = None, limit: int = 100) -> Delivered:
    """Send due messages one by one until none is due (or `limit` were tried)."""
    settings = settings or Settings.from_env()
    done = Delivered()
    while done.total < limit:
        with db.write() as session:
            row = session.scalar(
                select(Notification)
                .where(
                    Notification.status == "pending",
                    Notification.channel.in_(("email", "webhook")),
                    Notification.next_attempt_at <= clock.now(),
                )
                .order_by(Notification.next_attempt_at, Notification.id)
                .limit(1)
                # no outer joins under FOR UPDATE (PostgreSQL refuses them); the recipient
                # and the webhook are read after the lock
                .options(lazyload("*"))
                .with_for_update(skip_locked=True, of=Notification)
            )
            if row is None:
                return done
            session.refresh(row, ["user", "webhook"])
            try:
                send(row, settings)
            except DeliveryError as exc:
                _failed(row, str(exc), done)
            except Exception as exc:
                # an unforeseen error is this message's failure: counted and retried like any
                # other, so one bad message can never stop the queue behind it
                _failed(row, f"{type(exc).__name__}: {exc}", done)
            else:
                row.status, row.sent_at, row.last_error = "sent", clock.now(), None
                row.attempts += 1
                done.sent += 1
    return done


def _failed(row: Notification, error: str, done: Delivered) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    done.errors.append(f"#{row.id}: {error}")
    if row.attempts >= max_attempts():
        row.status, row.next_attempt_at = "dead", None
        done.dead += 1
    else:
        row.next_attempt_at = clock.now() + backoff(row.attempts)
        done.failed += 1
