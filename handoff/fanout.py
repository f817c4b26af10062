"""A request fanned out to many communities, at a glance: how many handoffs stand at each stage,
street by street, the overdue ones first; and withdrawing several at once.

A handoff's stage is its earliest open task in the process's order (the three signatures run
side by side: the first one still open names the stage), or its outcome once it has ended.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflows import service
from workflows.db import Database
from workflows.errors import Forbidden, WorkflowError
from workflows.models import OrgUnit, ProcessInstance, Task
from workflows.service import Actor

from .reports import STAGES

ORDER = {key: n for n, key in enumerate(STAGES)}


@dataclass
class Row:
    instance: ProcessInstance
    community: OrgUnit
    tasks: list[Task]
    ledger: Mapping[str, Any]
    stage: str  # a task key, or "outcome:<outcome>"
    overdue: bool


@dataclass
class StreetGroup:
    street: OrgUnit | None
    rows: list[Row] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(r.overdue for r in self.rows)

    @property
    def stages(self) -> list[tuple[str, int]]:
        return ordered(Counter(r.stage for r in self.rows))


@dataclass
class Overview:
    streets: list[StreetGroup]
    stages: list[tuple[str, int]]
    overdue: int
    total: int


def stage_of(instance: ProcessInstance, tasks: list[Task]) -> str:
    if instance.status != "running":
        return f"outcome:{instance.outcome or instance.status}"
    if not tasks:
        return "outcome:running"
    return min(tasks, key=lambda t: (ORDER.get(t.key, len(ORDER)), t.id)).key


def ordered(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Stages in the process's order, then the outcomes by name."""

    def rank(stage: str) -> tuple[int, str]:
        return (ORDER.get(stage, len(ORDER) + 1), stage)

    return [(stage, counts[stage]) for stage in sorted(counts, key=rank)]


def overview(
    instances: Iterable[ProcessInstance],
    communities: Mapping[int, OrgUnit],
    open_tasks: Mapping[int, list[Task]],
    ledgers: Mapping[int, Mapping[str, Any]],
    now: datetime,
) -> Overview:
    by_street: dict[int | None, StreetGroup] = {}
    for instance in instances:
        tasks = open_tasks.get(instance.id, [])
        community = communities[instance.id]
        row = Row(
            instance,
            community,
            tasks,
            ledgers[instance.id],
            stage_of(instance, tasks),
            any(t.due_at is not None and t.due_at < now for t in tasks),
        )
        group = by_street.setdefault(community.parent_id, StreetGroup(community.parent))
        group.rows.append(row)
    for group in by_street.values():
        group.rows.sort(key=lambda r: (not r.overdue, r.community.code))
    streets = sorted(
        by_street.values(), key=lambda g: (-g.overdue, g.street.code if g.street else "")
    )
    rows = [r for g in streets for r in g.rows]
    return Overview(
        streets=streets,
        stages=ordered(Counter(r.stage for r in rows)),
        overdue=sum(r.overdue for r in rows),
        total=len(rows),
    )


@dataclass
class Withdrawn:
    done: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # instance id -> why


def withdraw(
    db: Database, actor: Actor, instance_ids: Iterable[int], reason: str, allowed: set[int]
) -> Withdrawn:
    """Cancel each handoff named (of `allowed`: the request's own) in a transaction of its own,
    as one cancel would; those that cannot be cancelled (signed, reported, ended) are named."""
    result = Withdrawn()
    for instance_id in dict.fromkeys(instance_ids):
        if instance_id not in allowed:
            result.refused[instance_id] = "not_found"
            continue
        try:
            service.cancel_instance(db, instance_id, actor, reason)
        except Forbidden:
            result.refused[instance_id] = "forbidden"
        except WorkflowError as exc:  # signed, reported, ended: reported, the others go on
            result.refused[instance_id] = exc.message
        else:
            result.done.append(instance_id)
    return result
