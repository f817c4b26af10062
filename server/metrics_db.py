"""The gauges read from the database, computed when Prometheus scrapes (never on a request).

Six small statements in one read transaction: open and overdue tasks grouped by role (served by
the `(status, role, org_unit_id, due_at)` index), the role keys (so a role with nothing open
reads 0 rather than vanishing), the oldest due timer (the `next_timer_at` index), the oldest
due outbox message and the dead letters (both on the outbox's `(status, next_attempt_at)`
index) and the worker heartbeats (one row per worker). If the database does not answer, the
scrape still answers with `handoff_database_up 0` and the process's own counters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError

from notifications.models import Notification
from workflows import clock, heartbeat
from workflows.db import Database
from workflows.models import ProcessInstance, Role, Task

log = logging.getLogger(__name__)


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "up": GaugeMetricFamily(
            "handoff_database_up", "1 when the scrape-time database queries answered, else 0"
        ),
        "open": GaugeMetricFamily(
            "handoff_open_tasks", "Open human tasks (inbox rows) by role", labels=["role"]
        ),
        "overdue": GaugeMetricFamily(
            "handoff_overdue_tasks", "Open tasks past their due time, by role", labels=["role"]
        ),
        "timer_lag": GaugeMetricFamily(
            "handoff_timer_lag_seconds",
            "Seconds since the oldest due timer of a running instance fell due (0: none due)",
        ),
        "outbox_lag": GaugeMetricFamily(
            "handoff_outbox_lag_seconds",
            "Seconds since the oldest due, undelivered e-mail or webhook post fell due (0: none)",
        ),
        "dead_letters": GaugeMetricFamily(
            "handoff_outbox_dead_letters",
            "Outbox messages given up after NOTIFY_MAX_ATTEMPTS failures (dead letters)",
        ),
        "heartbeat": GaugeMetricFamily(
            "handoff_worker_heartbeat_age_seconds",
            "Seconds since each worker's last heartbeat",
            labels=["worker", "kind"],
        ),
    }


class DatabaseCollector:
    def __init__(self, db: Database):
        self.db = db

    def describe(self) -> Iterator[Metric]:
        # names without samples: registering the collector must not query the database
        yield from _families().values()

    def collect(self) -> Iterator[Metric]:
        families = _families()
        try:
            self._fill(families)
        except SQLAlchemyError as exc:
            log.warning("metrics: the database did not answer: %s", type(exc).__name__)
            families = {"up": families["up"]}
            families["up"].add_metric([], 0)
        else:
            families["up"].add_metric([], 1)
        yield from families.values()

    def _fill(self, families: dict[str, GaugeMetricFamily]) -> None:
        now = clock.now()  # the engine's clock: what "due" and "overdue" mean everywhere else
        with self.db.read() as session:
            counts = {
                role: (open_, overdue or 0)
                for role, open_, overdue in session.execute(
                    select(Task.role, func.count(), func.sum(case((Task.due_at < now, 1), else_=0)))
                    .where(Task.status == "open")
                    .group_by(Task.role)
                )
            }
            roles = set(session.scalars(select(Role.key))) | set(counts)
            oldest_due = session.scalar(
                select(func.min(ProcessInstance.next_timer_at)).where(
                    ProcessInstance.status == "running", ProcessInstance.next_timer_at <= now
                )
            )
            # what the notification worker would send next (`notifications.worker`)
            oldest_message = session.scalar(
                select(func.min(Notification.next_attempt_at)).where(
                    Notification.status == "pending",
                    Notification.channel.in_(("email", "webhook")),
                    Notification.next_attempt_at <= now,
                )
            )
            dead = session.scalar(
                select(func.count()).select_from(Notification).where(Notification.status == "dead")
            )
            workers = heartbeat.last_seen(session)
        for role in sorted(roles):
            open_, overdue = counts.get(role, (0, 0))
            families["open"].add_metric([role], open_)
            families["overdue"].add_metric([role], overdue)
        lag = (now - oldest_due).total_seconds() if oldest_due is not None else 0.0
        families["timer_lag"].add_metric([], max(lag, 0.0))
        late = (now - oldest_message).total_seconds() if oldest_message is not None else 0.0
        families["outbox_lag"].add_metric([], max(late, 0.0))
        families["dead_letters"].add_metric([], dead or 0)
        wall = heartbeat.wall_now()
        for name, kind, seen in workers:
            families["heartbeat"].add_metric([name, kind], max((wall - seen).total_seconds(), 0.0))
