"""The records the handoff keeps beside its flow: the 委托协议 and its signatures, the money."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, lazyload

from workflows import audit, clock, hooks, row_insert, write_behind
from workflows.db import core
from workflows.errors import Conflict
from workflows.models import Task

from . import agreement_terms, instalments, negotiation, notices, rules, termination
from .models import Agreement, LedgerEntry, Signature
from .money import fen_to_yuan, parse_yuan, yuan_to_fen

SIGN_TASKS = {
    "sign_department": "department",
    "sign_committee": "committee",
    "sign_street": "street_office",
}


class HandoffHooks(hooks.ProcessHooks):
    def check_completion(
        self, ctx: hooks.HookContext, task: Task, form_data: dict[str, Any]
    ) -> dict[str, str]:
        if task.key in termination.BLOCKED_TASKS and termination.pending(
            ctx.session, ctx.instance.id
        ):
            raise Conflict(termination.BLOCKED)  # no form can fix it: wait for the termination
        errors: dict[str, str] = {}
        for rule in rules.RECORD_RULES.get(task.key, ()):
            errors.update(rule(ctx.session, form_data, ctx.data))
        return errors

    def task_opened(self, ctx: hooks.HookContext, task: Task) -> None:
        if task.key in SIGN_TASKS:
            draft_agreement(ctx.session, ctx.instance.id, ctx.data, ctx.actor_id)

    def task_completed(self, ctx: hooks.HookContext, task: Task, form_data: dict[str, Any]) -> None:
        if task.key in SIGN_TASKS:
            _sign(ctx, task, form_data)
        elif task.key == "consider_counter":
            negotiation.record(ctx, task, form_data)
        elif task.key in instalments.FUNDING_TASKS:
            _record_transfer(ctx, task, form_data)
            notices.money_confirmed(ctx, task, form_data)
        elif task.key in notices.REVIEWS:
            notices.review_decided(ctx, task, form_data)

    def instance_finished(self, ctx: hooks.HookContext) -> None:
        if ctx.instance.outcome == "withdrawn":  # by the department, in negotiation
            agreement = agreement_of(ctx.session, ctx.instance.id)
            if agreement is not None and agreement.status == "draft":
                agreement.status = "withdrawn"
        notices.finished(ctx)

    def instance_cancelled(self, ctx: hooks.HookContext) -> None:
        agreement = agreement_of(ctx.session, ctx.instance.id)
        if agreement is not None and agreement.status == "draft":
            agreement.status = "cancelled"


def agreement_number(data: Mapping[str, Any]) -> str:
    community = str(data["community"]).split("-", 1)[-1].replace("-", "")
    return f"XY-{str(data['request_no']).removeprefix('REQ-')}-{community}"


AGREEMENTS = "handoff.agreements"  # session.info: instance id -> its agreement (or None)


def agreement_of(session: Session, instance_id: int) -> Agreement | None:
    """The instance's agreement, read once per transaction (a signing step drafts it for each
    signing task it opens, then signs it)."""
    known = session.info.setdefault(AGREEMENTS, {})
    if instance_id not in known:
        known[instance_id] = session.scalar(_OF_INSTANCE, {"instance_id": instance_id})
    return known[instance_id]


_OF_INSTANCE = (  # built once
    select(Agreement)
    .where(Agreement.instance_id == bindparam("instance_id"))
    .options(lazyload(Agreement.signatures))  # only a redraft needs them
)
_SIGNED = select(Signature.party).where(
    Signature.agreement_id == bindparam("agreement_id"), Signature.decision == "sign"
)


def draft_agreement(
    session: Session, instance_id: int, data: Mapping[str, Any], actor_id
) -> Agreement:
    """The handoff's agreement as its terms now stand: drafted when signing first starts, and
    drafted again (a new version, every signature given so far void) when negotiation changed
    the terms."""
    existing = agreement_of(session, instance_id)
    if existing is not None:
        terms = agreement_terms.negotiated(data).items()
        if existing.status == "draft" and any(existing.content.get(k) != v for k, v in terms):
            content = agreement_terms.content(session, data)
            _redraft(session, existing, content, int(data["amount_fen"]), actor_id)
        return existing
    content = agreement_terms.content(session, data)
    agreement = Agreement(
        instance_id=instance_id,
        number=agreement_number(data),
        status="draft",
        version=1,
        content={**content, "version": 1},
        amount_fen=int(data["amount_fen"]),
        created_at=clock.now(),
    )
    row_insert.insert_rows(session, [agreement])  # its id, for the signatures
    session.info.setdefault(AGREEMENTS, {})[instance_id] = agreement
    audit.record(
        session,
        "agreement.drafted",
        actor_id=actor_id,
        instance_id=instance_id,
        business_key=data.get("request_no"),
        number=agreement.number,
    )
    return agreement


def _redraft(session: Session, agreement: Agreement, content: dict, amount_fen: int, actor_id):
    void = list(agreement.signatures)
    for signature in void:
        session.delete(signature)
    agreement.version += 1
    agreement.content = {**content, "version": agreement.version}
    agreement.amount_fen = amount_fen
    session.flush()
    audit.record(
        session,
        "agreement.redrafted",
        actor_id=actor_id,
        instance_id=agreement.instance_id,
        number=agreement.number,
        version=agreement.version,
        amount=fen_to_yuan(amount_fen),
        signatures_void=len(void),
    )


def _sign(ctx: hooks.HookContext, task: Task, form_data: dict[str, Any]) -> None:
    session, instance = ctx.session, ctx.instance
    agreement = agreement_of(session, instance.id)
    party = SIGN_TASKS[task.key]
    if form_data["decision"] == "counter":  # no signature: the terms are negotiated first
        negotiation.record(ctx, task, form_data)
        return
    write_behind.insert_row(
        session,
        Signature,
        agreement_id=agreement.id,
        party=party,
        org_unit_id=task.org_unit_id,
        user_id=ctx.actor_id,
        decision=form_data["decision"],
        comment=form_data.get("comment", ""),
        signed_at=clock.now(),
    )
    common = {
        "actor_id": ctx.actor_id,
        "instance_id": instance.id,
        "business_key": instance.business_key,
    }
    if form_data["decision"] == "refuse":
        agreement.status = "refused"
        write_behind.update_rows(session, [agreement])
        audit.record(session, "agreement.refused", number=agreement.number, party=party, **common)
        return
    # the new signature among them (it goes with this query)
    signed = core(session).scalars(_SIGNED, {"agreement_id": agreement.id})
    if set(signed) == set(SIGN_TASKS.values()):
        agreement.status, agreement.signed_at = "signed", clock.now()
        write_behind.update_rows(session, [agreement])
        audit.record(session, "agreement.signed", number=agreement.number, **common)
        if agreement.amount_fen > 0:
            write_behind.insert_row(
                session,
                LedgerEntry,
                instance_id=instance.id,
                request_id=ctx.data.get("request_id"),
                kind="agreed",
                amount_fen=agreement.amount_fen,
                actor_id=ctx.actor_id,
                at=clock.now(),
                step=instance.lock_version,
            )
            audit.record(
                session, "money.agreed", amount=fen_to_yuan(agreement.amount_fen), **common
            )


def _record_transfer(ctx: hooks.HookContext, task: Task, form_data: dict[str, Any]) -> None:
    instance = ctx.instance
    amount_fen = yuan_to_fen(parse_yuan(form_data["amount"]))
    seq, _due = instalments.due_fen(task.key, ctx.data)
    write_behind.insert_row(
        ctx.session,
        LedgerEntry,
        instance_id=instance.id,
        request_id=ctx.data.get("request_id"),
        kind="transferred",
        amount_fen=amount_fen,
        voucher_no=form_data["voucher_no"],
        transferred_on=date.fromisoformat(form_data["transferred_on"]),
        actor_id=ctx.actor_id,
        at=clock.now(),
        step=instance.lock_version,
        instalment=seq,
    )
    audit.record(
        ctx.session,
        "money.transferred",
        instalment=seq,
        actor_id=ctx.actor_id,
        instance_id=instance.id,
        business_key=instance.business_key,
        amount=form_data["amount"],
        voucher_no=form_data["voucher_no"],
    )
