"""The handoff's own consistency rules: the money trail agrees with the flow (费随事转)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.models import ProcessInstance, Task

from .models import LedgerEntry


def money_problems(session: Session, instance: ProcessInstance) -> Iterator[tuple[str, str]]:
    """Transferred never above agreed; no work task while the agreed money is outstanding; a
    settlement (refunded, kept) only for a terminated handoff, and exactly what was
    transferred."""
    totals = dict(
        session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.instance_id == instance.id)
            .group_by(LedgerEntry.kind)
        ).all()
    )
    agreed, transferred = totals.get("agreed", 0) or 0, totals.get("transferred", 0) or 0
    if transferred > agreed:
        yield "money", f"transferred {transferred} fen > agreed {agreed} fen"
    has_work = session.scalar(
        select(Task.id).where(Task.instance_id == instance.id, Task.key == "work").limit(1)
    )
    if agreed and has_work is not None and transferred < agreed:
        yield "work_before_money", "a work task exists before the transfer"
    settled = (totals.get("refunded", 0) or 0) + (totals.get("kept", 0) or 0)
    if instance.outcome == "terminated" and settled != transferred:
        yield "settlement", f"refunded + kept {settled} fen != transferred {transferred} fen"
    if instance.outcome != "terminated" and settled:
        yield "settlement", f"{settled} fen settled on a handoff that was not terminated"
