"""What the agreements of the handoffs asked about say, for the 减负看板: how often and by how
much communities negotiated, per requesting department (`negotiation`), and the money by kind
of instalment (`instalments`: agreed / transferred / outstanding / overdue).

Both read the `facts` CTE of `handoff.reports` (the handoffs in the reader's scope, period and
filters), so they count exactly the handoffs the rest of the report counts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from workflows.models import Task

from . import instalments
from .models import Agreement, LedgerEntry, NegotiationRound, Request
from .money import fen_to_yuan


def negotiation(session: Session, facts) -> dict[int, dict[str, int]]:
    """department id -> handoffs that reached signing, how many the committee negotiated, the
    rounds, and the amounts first requested and now agreed for the negotiated ones (fen)."""
    reached = dict(
        session.execute(
            select(facts.c.department_id, func.count(distinct(Agreement.id)))
            .join(Agreement, Agreement.instance_id == facts.c.instance_id)
            .group_by(facts.c.department_id)
        ).all()
    )
    countered = (
        select(NegotiationRound.instance_id)
        .where(NegotiationRound.party == "committee")
        .distinct()
        .subquery()
    )
    negotiated = session.execute(
        select(
            facts.c.department_id,
            func.count(),
            func.coalesce(func.sum(Request.amount_fen), 0),
            func.coalesce(func.sum(Agreement.amount_fen), 0),
        )
        .join(countered, countered.c.instance_id == facts.c.instance_id)
        .join(Request, Request.id == facts.c.request_id)
        .join(Agreement, Agreement.instance_id == facts.c.instance_id)
        .group_by(facts.c.department_id)
    ).all()
    rounds = dict(
        session.execute(
            select(facts.c.department_id, func.count(NegotiationRound.id))
            .join(NegotiationRound, NegotiationRound.instance_id == facts.c.instance_id)
            .group_by(facts.c.department_id)
        ).all()
    )
    out: dict[int, dict[str, int]] = {}
    for department, count in reached.items():
        out[department] = {
            "reached_signing": count,
            "negotiated": 0,
            "rounds": rounds.get(department, 0),
            "requested_fen": 0,
            "agreed_fen": 0,
        }
    for department, count, requested, agreed in negotiated:
        row = out[department]
        row.update(negotiated=count, requested_fen=int(requested), agreed_fen=int(agreed))
    return out


def by_instalment(session: Session, facts, now: datetime) -> dict[str, dict[str, int]]:
    """trigger -> instalments, agreed, transferred, outstanding (fen) and how many are overdue,
    over the agreements in force (a terminated one owes nothing more)."""
    plans = dict(
        session.execute(
            select(Agreement.instance_id, Agreement.content)
            .join(facts, facts.c.instance_id == Agreement.instance_id)
            .where(Agreement.status == "signed")
        ).all()
    )
    totals = {
        trigger: dict.fromkeys(
            ("instalments", "agreed_fen", "transferred_fen", "outstanding_fen", "overdue"), 0
        )
        for trigger in instalments.TRIGGERS
    }
    if not plans:
        return totals
    ids = sorted(plans)
    entries: dict[int, list] = defaultdict(list)
    for entry in session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.instance_id.in_(ids), LedgerEntry.kind == "transferred"
        )
    ):
        entries[entry.instance_id].append(entry)
    open_funding: dict[int, list] = defaultdict(list)
    for task in session.scalars(
        select(Task).where(
            Task.instance_id.in_(ids),
            Task.status == "open",
            Task.key.in_(instalments.FUNDING_TASKS),
        )
    ):
        open_funding[task.instance_id].append(task)
    for instance_id, content in plans.items():
        plan = (content or {}).get("payment_plan")
        if plan is None:
            plan = instalments.single(int(content.get("amount_fen", 0) or 0))
        for row in instalments.progress(plan, entries[instance_id], open_funding[instance_id], now):
            t = totals[row["trigger"]]
            t["instalments"] += 1
            t["agreed_fen"] += row["amount_fen"]
            t["transferred_fen"] += row["transferred_fen"]
            t["outstanding_fen"] += row["outstanding_fen"]
            t["overdue"] += int(row["overdue"])
    return totals


def negotiation_rows(negotiated: dict[int, dict[str, int]], units: Any) -> list[dict[str, Any]]:
    """The negotiation rows for the API and the page (`units`: `reports.Units`), the largest
    share negotiated first."""
    rows = []
    for department, row in negotiated.items():
        change = row["agreed_fen"] - row["requested_fen"]
        rows.append(
            {
                "department": units.code(department),
                "department_name": units.name(department),
                "reached_signing": row["reached_signing"],
                "negotiated": row["negotiated"],
                "rounds": row["rounds"],
                "requested": fen_to_yuan(row["requested_fen"]),
                "agreed": fen_to_yuan(row["agreed_fen"]),
                "change": fen_to_yuan(change),
                "change_percent": (
                    round(change * 100 / row["requested_fen"], 1) if row["requested_fen"] else None
                ),
            }
        )
    rows.sort(key=lambda r: (-r["negotiated"] / max(r["reached_signing"], 1), r["department"]))
    return rows


def instalment_rows(totals: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    return [
        {
            "trigger": trigger,
            "instalments": t["instalments"],
            "agreed": fen_to_yuan(t["agreed_fen"]),
            "transferred": fen_to_yuan(t["transferred_fen"]),
            "outstanding": fen_to_yuan(t["outstanding_fen"]),
            "overdue": t["overdue"],
        }
        for trigger, t in totals.items()
    ]
