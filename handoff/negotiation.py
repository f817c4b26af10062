"""Negotiation before signing (协商): the committee may sign, refuse, or counter-propose the
amount, the deadline and the working conditions with a reason (`sign_committee`, decision
`counter`); the department then accepts the proposal, revises it with an offer of its own, or
withdraws (`consider_counter`). Accepted or revised terms go back to the committee in a
redrafted agreement (`agreement.draft_agreement`: a new version, signatures start again).

The flow is bpmn/handoff.bpmn's; this module checks the forms, keeps every move as a
`NegotiationRound` and reads them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import audit, clock, hooks
from workflows.models import Task

from .models import NegotiationRound
from .money import fen_to_yuan, parse_yuan, yuan_to_fen
from .requests import FUNDED_CATEGORIES, due_date_problem

COUNTER_FIELDS = ("counter_amount", "counter_due_date", "counter_conditions")
OFFER_FIELDS = ("amount", "due_date", "conditions")
# consider_counter's decisions -> the move kept in the rounds
ACTIONS = {"accept_counter": "accept", "revise_offer": "revise", "withdraw": "withdraw"}


def _terms_problems(
    data: dict, instance: Mapping, names: tuple[str, ...], words: str
) -> dict[str, str]:
    """A proposal must change something, and what it proposes must keep the request's rules."""
    amount_key, due_key, conditions_key = names
    errors: dict[str, str] = {}
    given = [k for k in names if data.get(k) not in (None, "")]
    if not given:
        errors[amount_key] = (
            f"{words}请至少提出一项：金额、期限或工作条件 "
            "propose an amount, a deadline or conditions"
        )
        return errors
    amount_fen = int(instance.get("amount_fen", 0))
    if data.get(amount_key) not in (None, ""):
        amount_fen = yuan_to_fen(parse_yuan(data[amount_key]))
        if amount_fen < 0:
            errors[amount_key] = "金额不能为负 must not be negative"
        elif amount_fen == 0 and instance.get("item_category") in FUNDED_CATEGORIES:
            errors[amount_key] = "协助事项必须有经费（费随事转） assisted work must bring money"
    if data.get(due_key) not in (None, ""):
        # the periods after signing (funding) must still fit before the new deadline
        problem = due_date_problem(date.fromisoformat(data[due_key]), amount_fen)
        if problem:
            errors[due_key] = problem
    if not errors and all(_same(k, data.get(k), instance) for k in given):
        errors[amount_key] = "所提条件与现行条件相同 the proposal changes nothing"
    return errors


def _same(key: str, value: Any, instance: Mapping) -> bool:
    if key.endswith("amount"):
        return yuan_to_fen(parse_yuan(value)) == int(instance.get("amount_fen", 0))
    if key.endswith("due_date"):
        return value == instance.get("due_date")
    return str(value).strip() == str(instance.get("conditions", "")).strip()


def committee_rule(data: dict, instance: Mapping) -> dict[str, str]:
    """sign_committee: a refusal or a counter-proposal needs a reason; only a counter-proposal
    carries terms."""
    decision = data.get("decision")
    errors: dict[str, str] = {}
    if decision in ("refuse", "counter") and not data.get("comment"):
        errors["comment"] = (
            "拒签须说明理由 a refusal needs a reason"
            if decision == "refuse"
            else "协商须说明理由 a counter-proposal needs a reason"
        )
    if decision == "counter":
        errors.update(_terms_problems(data, instance, COUNTER_FIELDS, "协商"))
    else:
        for key in COUNTER_FIELDS:
            if data.get(key) not in (None, ""):
                errors[key] = "仅协商时填写 only for a counter-proposal"
    return errors


def department_rule(data: dict, instance: Mapping) -> dict[str, str]:
    """consider_counter: a revision carries the department's own terms and a reason; a
    withdrawal a reason; accepting takes the committee's proposal as it is."""
    decision = data.get("decision")
    errors: dict[str, str] = {}
    if decision in ("revise_offer", "withdraw") and not data.get("comment"):
        errors["comment"] = "修改或撤回须说明理由 a revision or a withdrawal needs a reason"
    if decision == "revise_offer":
        errors.update(_terms_problems(data, instance, OFFER_FIELDS, "修改"))
    else:
        for key in OFFER_FIELDS:
            if data.get(key) not in (None, ""):
                errors[key] = "仅修改条件时填写 only when revising the terms"
    return errors


def record(ctx: hooks.HookContext, task: Task, form_data: dict[str, Any]) -> None:
    """Keep the move that completing `task` makes (nothing when the committee signs/refuses)."""
    if task.key == "sign_committee":
        if form_data.get("decision") != "counter":
            return
        party, action, names = "committee", "counter", COUNTER_FIELDS
    else:
        party, action, names = "department", ACTIONS[form_data["decision"]], OFFER_FIELDS
    session, instance = ctx.session, ctx.instance
    amount, due, conditions = (form_data.get(k) or None for k in names)
    if action == "accept":  # the committee's last proposal, as it stands
        last = latest(session, instance.id)
        amount_fen, due_day, conditions = last.amount_fen, last.due_date, last.conditions
    else:
        amount_fen = yuan_to_fen(parse_yuan(amount)) if amount else None
        due_day = date.fromisoformat(due) if due else None
    number = (
        session.scalar(select(func.count()).where(NegotiationRound.instance_id == instance.id)) or 0
    ) + 1
    session.add(
        NegotiationRound(
            instance_id=instance.id,
            request_id=ctx.data.get("request_id"),
            round=number,
            party=party,
            action=action,
            amount_fen=amount_fen,
            due_date=due_day,
            conditions=conditions,
            reason=form_data.get("comment", "") or "",
            before_amount_fen=int(ctx.data.get("amount_fen", 0)),
            actor_id=ctx.actor_id,
            at=clock.now(),
        )
    )
    audit.record(
        session,
        f"negotiation.{action}",
        actor_id=ctx.actor_id,
        instance_id=instance.id,
        business_key=instance.business_key,
        round=number,
        **({"amount": fen_to_yuan(amount_fen)} if amount_fen is not None else {}),
        **({"due_date": due_day.isoformat()} if due_day else {}),
    )


def latest(session: Session, instance_id: int) -> NegotiationRound | None:
    return session.scalar(
        select(NegotiationRound)
        .where(NegotiationRound.instance_id == instance_id)
        .order_by(NegotiationRound.id.desc())
        .limit(1)
    )


def rounds(session: Session, instance_ids: list[int]) -> dict[int, list[NegotiationRound]]:
    """Every round of these handoffs, oldest first, by instance id."""
    out: dict[int, list[NegotiationRound]] = {i: [] for i in instance_ids}
    if not instance_ids:
        return out
    for row in session.scalars(
        select(NegotiationRound)
        .where(NegotiationRound.instance_id.in_(instance_ids))
        .order_by(NegotiationRound.id)
    ):
        out[row.instance_id].append(row)
    return out
