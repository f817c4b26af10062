"""The history the 减负看板 is tested on, and the figures it must show, counted from the record.

The history is the product's (`handoff/demo_history.py`, what `flask seed-demo --with-history`
makes) on a fixed timeline, 2026-03-02 .. 2026-11-30: the demo district plus some 85 requests
(about 150 handoffs), driven through the service layer on a running clock with the timer worker
run before every step. The simulation's record (`Handoff`, `TaskRec`, `Emergency`,
`Termination`) is checked against the engine after every step; the expected figures
(`expected_row`, `expected_emergency`) are computed here from that record alone, by this
module's own rules (what "overdue", "outstanding", "held" mean), never from the report's
queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from handoff.demo_history import (
    LATE,
    PROMPT,
    SEED,
    Emergency,
    Handoff,
    Simulation,
    TaskRec,
    Timeline,
    demo_units,
    generate,
    local_day,
    units_of_kind,
    yuan,
)
from workflows.workdays import SHANGHAI

__all__ = [
    "END",
    "HOLD_ROLES",
    "START",
    "Emergency",
    "Handoff",
    "Simulation",
    "build",
    "demo_units",
    "expected_emergency",
    "expected_row",
    "in_period",
    "late",
    "units_of_kind",
    "yuan",
]

END = datetime(2026, 11, 30, 17, 0, tzinfo=SHANGHAI)  # a Monday: when the dashboard is read
TIMELINE = Timeline.ending(END)
START = TIMELINE.start  # 2026-03-02 08:00, a Monday
STAGE_ORDER = (
    "street_review",
    "revise",
    "district_review",
    "sign_committee",
    "sign_department",
    "sign_street",
    "funding",
    "work",
    "acceptance",
    "evaluation",
)
HOLD_ROLES = ("department", "street_office", "committee")


def build(db, seed: int = SEED) -> Simulation:
    """Generate and run the history; the clock is left running at END."""
    return generate(db, TIMELINE, seed)


def late(task: TaskRec, now: datetime) -> bool:
    """Held past its due date (ever), by the margins of PROMPT / LATE: a timed task held in
    between fails the test, so the count never depends on the holiday calendar."""
    if task.key not in PROMPT:
        return False
    days = task.held(now) / 86400
    if days <= PROMPT[task.key]:
        return False
    if days >= LATE[task.key]:
        return True
    raise AssertionError(f"{task.key} held {days:.1f} days: between on time and overdue")


# --- the figures, from the record -----------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    values = sorted(values)
    rank = q * (len(values) - 1)
    below = int(rank)
    above = min(below + 1, len(values) - 1)
    return values[below] + (values[above] - values[below]) * (rank - below)


def round2(value: float | Decimal | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def expected_row(handoffs: Iterable[Handoff], now: datetime) -> dict[str, Any]:
    hs = list(handoffs)
    outcomes = [h.outcome for h in hs]
    blocked = ("blocked_negative_list", "blocked_forbidden_certificate", "blocked_unfunded")
    agreed = sum(h.agreed_fen for h in hs)
    transferred = sum(h.transferred_fen for h in hs)
    # a terminated handoff owes nothing more, whatever was agreed
    owed = sum(h.agreed_fen - h.transferred_fen for h in hs if h.outcome != "terminated")
    tasks = [t for h in hs for t in h.tasks]
    scores = [h.score for h in hs if h.score is not None]
    # work before money: a funded agreement whose work task opened before the transfer
    early = [
        h
        for h in hs
        if h.agreed_fen > 0
        and any(
            t.key == "work" and (h.transferred_at is None or t.opened < h.transferred_at)
            for t in h.tasks
        )
    ]
    hold: dict[str, float | None] = {}
    for role in HOLD_ROLES:
        per_handoff = [
            sum(t.held(now) for t in h.tasks if t.role == role)
            for h in hs
            if any(t.role == role for t in h.tasks)
        ]
        hold[role] = round2(sum(per_handoff) / 86400 / len(per_handoff)) if per_handoff else None
    stages = []
    for key in STAGE_ORDER:
        mine = [t for t in tasks if t.key == key]
        if not mine:
            continue
        done = [t.held(now) / 3600 for t in mine if t.status == "completed"]
        stages.append(
            {
                "key": key,
                "tasks": len(mine),
                "completed": len(done),
                "overdue": sum(late(t, now) for t in mine),
                "overdue_now": sum(t.status == "open" and late(t, now) for t in mine),
                "median_hours": round2(percentile(done, 0.5)),
                "p90_hours": round2(percentile(done, 0.9)),
            }
        )
    return {
        "requests": len({h.request.request_id for h in hs}),
        "instances": len(hs),
        "blocked": sum(o in blocked for o in outcomes),
        **{o: outcomes.count(o) for o in blocked},
        "rejected": outcomes.count("rejected"),
        "refused": outcomes.count("refused"),
        "completed": outcomes.count("completed"),
        "running": sum(h.status == "running" for h in hs),
        "cancelled": outcomes.count("cancelled"),
        "terminated": outcomes.count("terminated"),
        "error": 0,
        "agreed": yuan(agreed),
        "transferred": yuan(transferred),
        "outstanding": yuan(owed),
        "refunded": yuan(sum(h.refunded_fen for h in hs)),
        "kept": yuan(sum(h.kept_fen for h in hs)),
        "work_before_money": len(early),
        "overdue_now": sum(t.status == "open" and late(t, now) for t in tasks),
        "overdue_tasks": sum(late(t, now) for t in tasks),
        "evaluated": len(scores),
        "avg_score": round2(Decimal(sum(scores)) / len(scores)) if scores else None,
        "hold_days": hold,
        "stages": stages,
    }


def expected_emergency(emergencies: Iterable[Emergency], now: datetime) -> dict[str, int]:
    es = list(emergencies)
    filings = [t for e in es for t in e.tasks if t.key == "file_request"]
    return {
        "orders": len(es),
        "late_filings": sum(
            any(late(t, now) for t in e.tasks if t.key == "file_request") for e in es
        ),
        "open_filings": sum(t.status == "open" for t in filings),
        "filed": sum(t.status == "completed" for t in filings),
    }


def in_period(moment: datetime, start: date | None, end: date | None) -> bool:
    day = local_day(moment)
    return (start is None or day >= start) and (end is None or day < end)
