"""Read-side queries of the handoff: requests, their instances, agreements and the money trail.

Scoped like every read: a request is visible through the instances the actor may read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer, lazyload

from workflows import clock
from workflows.db import core
from workflows.errors import NotFound
from workflows.models import OrgUnit, ProcessInstance
from workflows.queries import (
    Page,
    history,
    instance_detail,
    like_pattern,
    order_by,
    paged,
    visible_instances,
)
from workflows.service import Actor

from . import instalments, negotiation, termination
from .models import Agreement, HandoffInstance, LedgerEntry, Request, Termination

REQUEST_SORTS = {"created_at": Request.created_at, "id": Request.id, "title": Request.title}


def requests(
    session: Session,
    actor: Actor,
    *,
    q: str | None = None,
    sort: str = "created_at",
    order: str = "desc",
    page: int = 1,
    per_page: int = 20,
) -> Page[Request]:
    visible = (
        select(HandoffInstance.request_id)
        .join(ProcessInstance, ProcessInstance.id == HandoffInstance.instance_id)
        .where(visible_instances(actor))
    )
    stmt = select(Request).where(Request.id.in_(visible))
    if q:
        stmt = stmt.where(Request.title.ilike(like_pattern(q), escape="\\"))
    stmt = stmt.order_by(
        order_by(REQUEST_SORTS.get(sort, Request.created_at), order), Request.id.desc()
    )
    return paged(session, stmt, page, per_page)


def request_detail(session: Session, actor: Actor, request_id: int) -> dict[str, Any]:
    # A request may fan out to a thousand instances: their engine state and the definition's
    # BPMN text are loaded only if someone reads them.
    rows = session.execute(
        select(ProcessInstance, OrgUnit)
        .join(HandoffInstance, HandoffInstance.instance_id == ProcessInstance.id)
        .join(OrgUnit, OrgUnit.id == HandoffInstance.community_id)
        .where(HandoffInstance.request_id == request_id, visible_instances(actor))
        .order_by(ProcessInstance.id)
        .options(defer(ProcessInstance.state), lazyload(ProcessInstance.definition))
    ).all()
    if not rows:
        raise NotFound("request not found")
    # by primary key, its department joined (`Request.department` is lazy="joined"): one statement
    request = session.get(Request, request_id)
    return {
        "request": request,
        "instances": [instance for instance, _ in rows],
        "communities": {instance.id: community for instance, community in rows},
    }


def request_history(session: Session, request: Request):
    return history(session, business_key=request.number)


def link_of(session: Session, instance_id: int) -> HandoffInstance | None:
    """The request and community of a handoff instance (None for other processes)."""
    return session.get(HandoffInstance, instance_id)


def instance_extras(session: Session, instance_id: int) -> dict[str, Any]:
    """What the handoff adds to an instance's page: its request, community, agreement and
    money (empty for instances of other processes)."""
    link = link_of(session, instance_id)
    community = session.get(OrgUnit, link.community_id) if link is not None else None
    return {
        "request": session.get(Request, link.request_id) if link is not None else None,
        "request_id": link.request_id if link is not None else None,
        "community_code": community.code if community is not None else None,
        "community_name": community.name if community is not None else None,
        "agreement": agreement_of(session, instance_id),
        "ledger": ledger(session, instance_id),
        "termination": termination_of(session, instance_id),
    }


def instance_view(session: Session, actor: Actor, instance_id: int) -> dict[str, Any]:
    """An instance as the API and the pages show it: the engine's detail (scoped like every
    read) with what the handoff adds."""
    detail = instance_detail(session, actor, instance_id)
    detail.update(instance_extras(session, instance_id))
    detail["instalments"] = (
        instalments.progress(
            plan_of(detail["agreement"], detail["request"]),
            detail["ledger"]["entries"],
            detail["open_tasks"],
            clock.now(),
        )
        if detail["request"] is not None
        else []
    )
    detail["negotiation"] = negotiation.rounds(session, [instance_id])[instance_id]
    return detail


def request_ids(session: Session, instance_ids: Iterable[int]) -> dict[int, int]:
    """instance id -> request id, for the handoff instances among them."""
    ids = sorted(set(instance_ids))
    if not ids:
        return {}
    return dict(core(session).execute(_REQUEST_IDS, {"ids": ids}).all())


def request_number(session: Session, request_id: int) -> str | None:
    return core(session).scalar(_NUMBER, {"request_id": request_id})


# built once: every inbox page asks both
_REQUEST_IDS = select(HandoffInstance.instance_id, HandoffInstance.request_id).where(
    HandoffInstance.instance_id.in_(bindparam("ids", expanding=True))
)
_NUMBER = select(Request.number).where(Request.id == bindparam("request_id"))


def plan_of(agreement: Agreement | None, request: Request | None) -> list[dict]:
    """The payment plan in force: the agreement's once drafted (negotiation may have changed
    it), else the request's; everything on signing for requests made before plans."""
    if agreement is not None and agreement.content.get("payment_plan") is not None:
        return agreement.content["payment_plan"]
    if request is None:
        return []
    if request.payment_plan is not None:
        return request.payment_plan
    return instalments.single(request.amount_fen)


def agreement_of(session: Session, instance_id: int) -> Agreement | None:
    return session.scalar(select(Agreement).where(Agreement.instance_id == instance_id))


def ledger(session: Session, instance_id: int) -> dict[str, Any]:
    """The money trail of a handoff. A terminated handoff owes nothing more: what was not
    transferred never will be, and what was is settled (refunded, kept)."""
    entries = list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.instance_id == instance_id)
            .order_by(LedgerEntry.id)
        )
    )
    totals = {kind: 0 for kind in ("agreed", "transferred", "refunded", "kept")}
    for e in entries:
        totals[e.kind] = totals.get(e.kind, 0) + e.amount_fen
    instance = session.get(ProcessInstance, instance_id)  # usually loaded already
    terminated = instance is not None and instance.outcome == "terminated"
    return {
        "entries": entries,
        "agreed_fen": totals["agreed"],
        "transferred_fen": totals["transferred"],
        "refunded_fen": totals["refunded"],
        "kept_fen": totals["kept"],
        "outstanding_fen": 0 if terminated else totals["agreed"] - totals["transferred"],
        "terminated": terminated,
    }


def termination_of(session: Session, instance_id: int) -> dict[str, Any] | None:
    """A handoff's newest termination (or, for a termination, the handoff it concerns)."""
    link = session.get(Termination, instance_id)
    if link is not None:
        return {"handoff_instance_id": link.handoff_instance_id}
    row = termination.latest(session, instance_id)
    if row is None:
        return None
    return {"instance_id": row.id, "state": row.status, "outcome": row.outcome}
