"""Worker liveness: each long-running worker (the timer worker, kind "timer", and the
notification worker, kind "notify") writes when it was last seen.

One row per worker name. Operators watch the age of the newest beat (`/metrics`), so a worker
that hangs or dies shows up however the process ended; a worker that stops cleanly removes its
row, so a stopped worker is not mistaken for a dead one. Rows of workers not seen for a day are
pruned when a worker starts (a crashed worker's pid-named row would otherwise stay forever).

Beats use the wall clock, not the engine clock (`workflows.clock`): liveness is about real
seconds, and a worker run with CLOCK_OFFSET_SECONDS (demos, tests) must not look alive for 40
days or dead before it started.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, Database
from .models import UTCDateTime

FORGET_AFTER = timedelta(days=1)


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeat"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "timer" | "notify"
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)


def wall_now() -> datetime:
    return datetime.now(UTC)


def default_name(once: bool = False) -> str:
    """host:pid, unique among the workers running at one time; a `--once` run (from cron, say)
    is host:once, so a run a minute does not leave a row (and a metric series) a minute."""
    return f"{socket.gethostname()}:{'once' if once else os.getpid()}"


def beat(db: Database, name: str, kind: str, started_at: datetime) -> None:
    """Record that the worker is alive now (its own short transaction).

    An upsert, not read-then-insert: two `--once` runs sharing a name at the same moment must
    not fail on the primary key (both SQLite and PostgreSQL speak ON CONFLICT)."""
    now = wall_now()
    with db.write() as session:
        insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
        statement = insert(WorkerHeartbeat).values(
            name=name, kind=kind, started_at=started_at, last_seen=now
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"], set_={"kind": kind, "last_seen": now}
            )
        )


def forget(db: Database, name: str) -> None:
    """A clean stop: the worker is not expected any more."""
    with db.write() as session:
        session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == name))


def prune(db: Database) -> int:
    """Forget workers not seen for FORGET_AFTER; returns how many."""
    with db.write() as session:
        result = session.execute(
            delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen < wall_now() - FORGET_AFTER)
        )
        return result.rowcount or 0


def last_seen(session) -> list[tuple[str, str, datetime]]:
    """(name, kind, last_seen) of every known worker."""
    rows = session.execute(
        select(WorkerHeartbeat.name, WorkerHeartbeat.kind, WorkerHeartbeat.last_seen)
    )
    return [tuple(row) for row in rows]
