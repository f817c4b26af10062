"""终止委托 (`bpmn/handoff_termination.bpmn`): once the agreement is in force, a handoff ends
early only by termination, and the money transferred so far is settled.

Before all three parties have signed, the department cancels a handoff as before. After, the
agreement binds three parties and money may have moved: cancelling is refused
(`cancel_refusal`, a 409) and the department asks for termination instead, proposing how the
money transferred is settled: how much goes back (退回) and how much the committee keeps for the
work done (留用), adding up to exactly what was transferred. The street office and the committee
confirm; finance confirms a refund arrived. The step that ends the termination `terminated`
settles it in the same transaction: `refunded` and `kept` ledger entries, the handoff ended with
outcome `terminated` (its tasks withdrawn), the agreement 已终止 with date and reason.

While a termination is pending, the handoff's work cannot be reported nor its money confirmed
(either would change what is being settled) and no second termination starts. Once the work is
reported, neither cancelling nor terminating: what remains is acceptance.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from workflows import audit, clock, definitions, ending, hooks, roles
from workflows.db import core
from workflows.errors import Conflict
from workflows.forms import FormErrors
from workflows.models import OrgUnit, ProcessInstance, Task
from workflows.plugins import ProcessPlugin
from workflows.service import Actor, lock_instance

from .models import Agreement, HandoffInstance, LedgerEntry, Request, Termination
from .money import fen_to_yuan, parse_yuan, yuan_to_fen
from .requests import SHANGHAI
from .rules import date_problem

PROCESS_KEY = "handoff_termination"
# the handoff's steps that wait while a termination is pending: reporting the work (the end of
# termination) and confirming a transfer (it would change the money being settled)
BLOCKED_TASKS = frozenset({"work", "funding", "funding_instalment", "funding_final"})

SIGNED = "协议已生效，不能撤销，请申请终止 the agreement is in force, ask for termination instead"
REPORTED = (
    "社区已报告完成工作，不能撤销或终止 "
    "the work has been reported, the handoff can no longer be cancelled or terminated"
)
NOT_SIGNED = (
    "协议尚未生效，可直接撤销 the agreement is not in force yet, cancel the handoff instead"
)
PENDING = "终止申请办理中 a termination of this handoff is pending"
BLOCKED = (
    "终止申请办理中，终止办结或被拒绝后才能办理 "
    "a termination of this handoff is pending, this step waits for its outcome"
)
ENDED = "委托已结束 the handoff has ended"


# --- the rules ------------------------------------------------------------------------------


def _agreement_status(session: Session, handoff_id: int) -> str | None:
    return session.scalar(select(Agreement.status).where(Agreement.instance_id == handoff_id))


def work_reported(session: Session, handoff_id: int) -> bool:
    return (
        session.scalar(
            select(Task.id)
            .where(Task.instance_id == handoff_id, Task.key == "work", Task.status == "completed")
            .limit(1)
        )
        is not None
    )


def pending(session: Session, handoff_id: int) -> int | None:
    """The running termination of the handoff, if any (its instance id)."""
    return core(session).scalar(_PENDING, {"handoff_id": handoff_id})


_PENDING = (  # built once: every completion of a work task asks it
    select(Termination.instance_id)
    .join(ProcessInstance, ProcessInstance.id == Termination.instance_id)
    .where(
        Termination.handoff_instance_id == bindparam("handoff_id"),
        ProcessInstance.status == "running",
    )
    .limit(1)
)


def cancel_refusal(session: Session, handoff_id: int) -> str | None:
    """Why the running handoff may not be cancelled (None: it may, as before signing)."""
    if work_reported(session, handoff_id):
        return REPORTED
    if _agreement_status(session, handoff_id) == "signed":
        return SIGNED
    return None


def request_refusal(session: Session, handoff: ProcessInstance) -> str | None:
    """Why no termination of the handoff may be asked for now (None: it may)."""
    if handoff.status != "running":
        return ENDED
    if work_reported(session, handoff.id):
        return REPORTED
    if _agreement_status(session, handoff.id) != "signed":
        return NOT_SIGNED
    if pending(session, handoff.id) is not None:
        return PENDING
    return None


def _of_department(actor: Actor, handoff: ProcessInstance) -> bool:
    return ("department", handoff.scope.get("department")) in actor.pairs


def may_request(session: Session, actor: Actor, handoff: ProcessInstance) -> bool:
    """Whether to offer the actor 申请终止 for the handoff (the start checks it all again)."""
    if session.get(HandoffInstance, handoff.id) is None or not _of_department(actor, handoff):
        return False
    definition = definitions.in_force(session, PROCESS_KEY)
    if definition is None or definition.suspended:
        return False
    return request_refusal(session, handoff) is None


def transferred_fen(session: Session, handoff_id: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
            LedgerEntry.instance_id == handoff_id, LedgerEntry.kind == "transferred"
        )
    )
    return int(total or 0)


def latest(session: Session, handoff_id: int) -> ProcessInstance | None:
    """The handoff's newest termination (pending or ended), for its pages."""
    return session.scalar(
        select(ProcessInstance)
        .join(Termination, Termination.instance_id == ProcessInstance.id)
        .where(Termination.handoff_instance_id == handoff_id)
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    )


# --- starting: the generic start (`POST /process-definitions/handoff_termination/start`) -----


def _routing_codes(session: Session, handoff: ProcessInstance) -> dict[str, str]:
    """The handoff's org units as start data (data key -> code): the termination is routed to
    the same department, street office, committee and finance office."""
    keys = roles.scope_keys(session)
    codes = dict(
        session.execute(
            select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(set(handoff.scope.values())))
        ).all()
    )
    return {
        keys[role]: codes[unit]
        for role, unit in handoff.scope.items()
        if role in keys and unit in codes
    }


def prepare_start(session: Session, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check the request against the handoff (locked, so that two requests cannot both pass)
    and complete the start data from it."""
    handoff_id = data["handoff_instance"]
    link = session.get(HandoffInstance, handoff_id)
    mine = "只能为本部门的委托申请终止 only for a handoff of your own department"
    if link is None:
        raise FormErrors({"handoff_instance": mine})
    handoff = lock_instance(session, handoff_id)
    if not _of_department(actor, handoff):
        raise FormErrors({"handoff_instance": mine})
    refusal = request_refusal(session, handoff)
    if refusal is not None:
        raise Conflict(refusal)
    refund_fen = yuan_to_fen(parse_yuan(data["refund"]))
    kept_fen = yuan_to_fen(parse_yuan(data["kept"]))
    paid = transferred_fen(session, handoff_id)
    if refund_fen + kept_fen != paid:
        message = (
            f"退回与留用之和须等于已拨付的 {fen_to_yuan(paid)} 元 "
            f"refund and kept must add up to the {fen_to_yuan(paid)} yuan transferred"
        )
        raise FormErrors({"refund": message, "kept": message})
    routing = _routing_codes(session, handoff)
    wrong = {
        key: "须与被终止的委托一致 must be that of the handoff"
        for key, code in routing.items()
        if data.get(key) not in (None, code)
    }
    if wrong:
        raise FormErrors(wrong)
    request = session.get(Request, link.request_id)
    return {
        **data,
        **routing,
        "refund_fen": refund_fen,
        "kept_fen": kept_fen,
        "transferred_fen": paid,
        "request_id": request.id,
        "request_no": request.number,
        "requested_on": request.created_at.astimezone(SHANGHAI).date().isoformat(),
        "handoff_title": handoff.title,
        "title": f"终止：{handoff.title}"[:200],
    }


# --- the process's records ------------------------------------------------------------------


def _comment_unless_agreed(data: dict, _instance: Mapping) -> dict[str, str]:
    if data.get("decision") != "agree" and not data.get("comment"):
        return {"comment": "不同意终止须说明理由 a refusal needs a reason"}
    return {}


def _refund_date(data: dict, instance: Mapping) -> dict[str, str]:
    problem = date_problem(data["refunded_on"], instance)
    return {"refunded_on": problem} if problem else {}


class TerminationHooks(hooks.ProcessHooks):
    def instance_started(self, ctx: hooks.HookContext) -> None:
        if not isinstance(ctx.data.get("handoff_instance"), int) or "refund_fen" not in ctx.data:
            raise FormErrors({"handoff_instance": "必填 required"})  # started around the checks
        handoff_id = ctx.data["handoff_instance"]
        ctx.session.add(Termination(instance_id=ctx.instance.id, handoff_instance_id=handoff_id))
        self._on_handoff(
            ctx,
            "termination.requested",
            reason=ctx.data.get("reason", ""),
            refund=fen_to_yuan(int(ctx.data["refund_fen"])),
            kept=fen_to_yuan(int(ctx.data["kept_fen"])),
        )

    def instance_finished(self, ctx: hooks.HookContext) -> None:
        if ctx.instance.outcome == "terminated":
            settle(ctx)
        elif ctx.instance.outcome == "refused":
            self._on_handoff(ctx, "termination.refused")

    @staticmethod
    def _on_handoff(ctx: hooks.HookContext, action: str, **detail: Any) -> None:
        """An event on the handoff itself, so that its timeline tells what happened to it."""
        handoff_id = ctx.data["handoff_instance"]
        handoff = ctx.session.get(ProcessInstance, handoff_id)
        audit.record(
            ctx.session,
            action,
            actor_id=ctx.actor_id,
            instance_id=handoff_id,
            business_key=handoff.business_key if handoff is not None else None,
            termination=ctx.instance.id,
            **detail,
        )


def settle(ctx: hooks.HookContext) -> None:
    """Both parties agreed (and a refund arrived): record the settlement, end the handoff and
    the agreement, in the transaction of the termination's last step."""
    session, data = ctx.session, ctx.data
    link = session.get(Termination, ctx.instance.id)
    handoff = lock_instance(session, link.handoff_instance_id)
    if handoff.status != "running":
        raise Conflict(ENDED)
    refund_fen, kept_fen = int(data["refund_fen"]), int(data["kept_fen"])
    if refund_fen + kept_fen != transferred_fen(session, handoff.id):
        # the pending termination blocks funding, so only a write around the engine gets here
        raise Conflict("已拨付金额已变化，请重新申请终止 the money transferred has changed")
    reason = str(data.get("reason", ""))
    ending.end_instance(
        session,
        handoff,
        ctx.actor_id,
        outcome="terminated",
        reason=reason,
        action="instance.terminated",
    )
    request_id = session.get(HandoffInstance, handoff.id).request_id
    common = {
        "actor_id": ctx.actor_id,
        "instance_id": handoff.id,
        "business_key": handoff.business_key,
    }
    now, refund = clock.now(), data.get("refund_received") or {}
    for kind, amount in (("refunded", refund_fen), ("kept", kept_fen)):
        if not amount:
            continue
        refunded = kind == "refunded"
        session.add(
            LedgerEntry(
                instance_id=handoff.id,
                request_id=request_id,
                kind=kind,
                amount_fen=amount,
                voucher_no=refund.get("voucher_no") if refunded else None,
                transferred_on=(
                    date.fromisoformat(refund["refunded_on"])
                    if refunded and refund.get("refunded_on")
                    else None
                ),
                actor_id=ctx.actor_id,
                at=now,
                step=handoff.lock_version,
            )
        )
        extra = {"voucher_no": refund.get("voucher_no")} if refunded else {}
        audit.record(session, f"money.{kind}", amount=fen_to_yuan(amount), **extra, **common)
    agreement = session.scalar(select(Agreement).where(Agreement.instance_id == handoff.id))
    agreement.status, agreement.terminated_at = "terminated", now
    agreement.termination_reason = reason
    audit.record(session, "agreement.terminated", number=agreement.number, reason=reason, **common)


def termination_plugin() -> ProcessPlugin:
    return ProcessPlugin(
        name=PROCESS_KEY,
        process_keys=frozenset({PROCESS_KEY}),
        hooks=TerminationHooks(),
        form_rules={
            "street_confirm": (_comment_unless_agreed,),
            "committee_confirm": (_comment_unless_agreed,),
            "refund_received": (_refund_date,),
        },
        start_data=prepare_start,
    )
