"""Handoff requests: one department's request fanned out to one instance per community.

The flow itself (screening, reviews, signing, funding, work, acceptance, escalation) is in
`bpmn/handoff.bpmn`; this module stores the request and starts its instances with the facts the
flow decides on: the item's category, the amount, and what the negative-list screening of the
request's text found (`handoff.screening`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import audit, calendar, clock, definitions, inputs, roles, starting, write_behind
from workflows.db import Database
from workflows.errors import Conflict, Forbidden, Invalid, NotFound
from workflows.forms import FormErrors, parse_date
from workflows.inputs import column_length, storable
from workflows.models import OrgUnit, ProcessInstance
from workflows.service import Actor
from workflows.workdays import Due, shanghai_date

from . import agreement_terms, instalments, screening
from .catalog import item_in_force
from .models import HandoffInstance, Request
from .money import fen_to_yuan, parse_yuan, yuan_to_fen

PROCESS_KEY = "handoff"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_COMMUNITIES = 2000
# the request's texts, as long as the columns they are stored in (the description is a Text
# column: its limit is the product's, a few pages)
MAX_TITLE = column_length(Request.title)
MAX_LEGAL_BASIS = column_length(Request.legal_basis)
MAX_DESCRIPTION = 20_000
MAX_CONDITIONS = 5_000
ITEM_CODE_MAX = column_length(Request.item_code)
UNIT_CODE_MAX = column_length(OrgUnit.code)
# the periods of bpmn/handoff.bpmn (timers street_review_overdue, funding_overdue): a due date
# must leave them, counted in working days from today
STREET_REVIEW_DAYS = 15
FUNDING_DAYS = 10
FUNDED_CATEGORIES = ("assisted", "unlisted")  # 费随事转: these must bring money


def today() -> date:
    return clock.now().astimezone(SHANGHAI).date()


def earliest_due(amount_fen: int | None) -> date:
    """The earliest due date a request may name today: street review, then (with money, or
    when the amount is not known yet) the funding period, in working days."""
    return shanghai_date(_earliest(amount_fen).at)


def _earliest(amount_fen: int | None) -> Due:
    """`earliest_due`, provisional when counted through a year with no holidays entered."""
    days = STREET_REVIEW_DAYS + (FUNDING_DAYS if amount_fen != 0 else 0)
    return calendar.count(clock.now(), days)


def due_date_problem(due: date | None, amount_fen: int | None) -> str | None:
    """Why `due` cannot be a request's due date (a message naming the earliest allowed date)."""
    counted = _earliest(amount_fen)
    earliest = shanghai_date(counted.at)
    periods = f"街道审核 {STREET_REVIEW_DAYS} 个工作日"
    periods_en = f"{STREET_REVIEW_DAYS} working days of street review"
    if amount_fen != 0:
        periods += f"、经费拨付 {FUNDING_DAYS} 个工作日"
        periods_en += f" and {FUNDING_DAYS} of funding"
    if counted.provisional:
        periods += "（假日安排未公布，按周末计算）"
        periods_en += " (holidays not published yet, counted on weekends only)"
    if due is None:
        return (
            f"必填：须留出{periods}，最早 {earliest} "
            f"required, leaving {periods_en}; the earliest allowed is {earliest}"
        )
    if due < earliest:
        return (
            f"期限过早：须留出{periods}，最早 {earliest} "
            f"too soon, it must leave {periods_en}; the earliest allowed is {earliest}"
        )
    return None


# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestInput:
    title: str
    community_codes: list[str]
    amount: str
    item_code: str | None = None
    description: str = ""
    legal_basis: str = ""
    due_date: str | None = None
    department_code: str | None = None
    conditions: str = ""  # 工作条件: the staff, training, equipment and premises provided
    payment_plan: list[instalments.InstalmentInput] | None = None
    # the agreement's terms (`handoff.agreement_terms.FIELDS`), checked by its `parse`
    terms: Mapping[str, Any] | None = None


def _department_of(session: Session, actor: Actor, code: str | None) -> OrgUnit:
    units = [unit for role, unit in actor.pairs if role == "department"]
    if not units:
        raise Forbidden("only department officers may launch requests")
    if code is None:
        if len(units) > 1:
            raise Invalid("choose a department", {"department_code": "必填 required"})
        return session.get(OrgUnit, units[0])
    # a code no database can store names no unit (and would fail in PostgreSQL's driver)
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code)) if storable(code) else None
    if unit is None or unit.id not in units:
        raise Forbidden("you are not an officer of that department")
    return unit


def _communities(session: Session, codes: list[str]) -> list[OrgUnit]:
    if not codes:
        raise Invalid("no community", {"community_codes": "至少选择一个社区 choose at least one"})
    if len(codes) > MAX_COMMUNITIES or len(set(codes)) != len(codes):
        message = f"不可重复，最多 {MAX_COMMUNITIES} 个 unique, at most {MAX_COMMUNITIES}"
        raise Invalid("bad community list", {"community_codes": message})
    found = {
        u.code: u
        for u in session.scalars(
            select(OrgUnit).where(
                OrgUnit.code.in_([c for c in codes if storable(c)]), OrgUnit.kind == "community"
            )
        )
    }
    missing = [c for c in codes if c not in found]
    if missing:
        raise Invalid(
            "unknown community", {"community_codes": f"未知社区 unknown: {', '.join(missing[:10])}"}
        )
    return [found[c] for c in codes]


def _offices(session: Session, district_id: int | None, *kinds: str) -> list[OrgUnit]:
    """The district's office of each kind (its first, should it have several), in one query."""
    found: dict[str, OrgUnit] = {}
    for unit in session.scalars(
        select(OrgUnit)
        .where(OrgUnit.kind.in_(kinds), OrgUnit.parent_id == district_id)
        .order_by(OrgUnit.id)
    ):
        found.setdefault(unit.kind, unit)
    for kind in kinds:
        if kind not in found:
            raise Invalid(f"the district has no {kind} org unit")
    return [found[kind] for kind in kinds]


def _texts(payload: RequestInput, errors: dict[str, str]) -> None:
    """The request's texts by the rules of `workflows.inputs` (the API's schema has the same)."""
    rules = (
        ("title", MAX_TITLE, False),
        ("description", MAX_DESCRIPTION, True),
        ("legal_basis", MAX_LEGAL_BASIS, True),
        ("conditions", MAX_CONDITIONS, True),
    )
    for name, limit, optional in rules:
        problem = inputs.text_problem(
            getattr(payload, name), limit, required=not optional, multiline=optional
        )
        if problem is not None:
            errors[name] = problem.message


def _validate(
    payload: RequestInput,
) -> tuple[int, date, list[dict], agreement_terms.Terms | None]:
    errors: dict[str, str] = {}
    _texts(payload, errors)
    amount_fen: int | None = None
    due = None
    try:
        amount_fen = yuan_to_fen(parse_yuan(payload.amount))
    except ValueError as exc:
        errors["amount"] = str(exc)
    try:
        due = parse_date(payload.due_date) if payload.due_date else None
        problem = due_date_problem(due, amount_fen)
        if problem:
            errors["due_date"] = problem
    except ValueError as exc:
        errors["due_date"] = str(exc)
    plan: list[dict] = []
    if amount_fen is not None:
        try:
            plan = instalments.plan(payload.payment_plan, amount_fen, today())
        except instalments.PlanErrors as exc:
            errors.update(exc.fields)
    terms = None
    try:  # checked against the amount and due date when those are right themselves
        terms = agreement_terms.parse(
            payload.terms,
            amount_fen=amount_fen,
            due=None if "due_date" in errors else due,
            today=today(),
        )
    except FormErrors as exc:
        errors.update(exc.fields)
    if errors:
        raise FormErrors(errors)
    assert amount_fen is not None and due is not None
    return amount_fen, due, plan, terms


# An instance's title is a label: the request's title and, in brackets, its community, so the
# handoffs of one request tell their communities apart in every inbox and list. A title near
# its limit leaves no room for the community, and the officer typed a title the request accepts
# (and keeps whole, in its row and in every instance's data): so the label shortens the title,
# marked with an ellipsis, and never drops the community.
INSTANCE_TITLE_MAX = column_length(ProcessInstance.title)


def instance_title(title: str, community: str) -> str:
    suffix = f"（{community}）"
    if len(title) + len(suffix) <= INSTANCE_TITLE_MAX:
        return title + suffix
    room = max(0, INSTANCE_TITLE_MAX - len(suffix) - 1)
    return (title[:room].rstrip() + "…" + suffix)[:INSTANCE_TITLE_MAX]


def create_request(db: Database, actor: Actor, payload: RequestInput) -> int:
    """Store the request and start one handoff per community, all in one transaction."""
    amount_fen, due, plan, terms = _validate(payload)
    with db.write() as session:
        department = _department_of(session, actor, payload.department_code)
        communities = _communities(session, payload.community_codes)
        day = today()  # the request's date: the catalog and the negative list of that day
        item = None
        if payload.item_code:
            code = payload.item_code
            item = item_in_force(session, code, day) if storable(code) else None
            if item is None:
                raise FormErrors({"item_code": "清单中没有该事项 not in the catalog"})
        definition = definitions.in_force(session, PROCESS_KEY, text=False)
        if definition is None:
            raise NotFound("the handoff process is not deployed")
        if definition.suspended:
            raise Conflict("the handoff process is suspended")
        finance, access = _offices(session, department.parent_id, "finance", "access_office")
        request = Request(
            number=f"tmp-{uuid.uuid4()}",
            department_id=department.id,
            item_code=item.code if item else None,
            item_name=item.name if item else "",
            item_category=item.category if item else "unlisted",
            title=payload.title.strip(),
            description=payload.description.strip(),
            legal_basis=payload.legal_basis.strip() or (item.legal_basis if item else ""),
            amount_fen=amount_fen,
            due_date=due,
            conditions=payload.conditions.strip(),
            payment_plan=plan,
            terms=terms.as_data() if terms else None,
            created_by_id=actor.user_id,
            created_at=clock.now(),
        )
        session.add(request)
        session.flush()
        request.number = f"REQ-{request.created_at.astimezone(SHANGHAI):%Y}-{request.id:06d}"
        write_behind.update_rows(session, [request])  # with the next statement
        # the negative list of the request's date, by what the request says
        hit = screening.screen(session, day, {k: getattr(request, k) for k in screening.FIELDS})
        facts = hit.as_data() if hit else dict(screening.NO_HIT)
        audit.record(
            session,
            "request.created",
            actor_id=actor.user_id,
            business_key=request.number,
            number=request.number,
            communities=len(communities),
            **({"negative_term": hit.term, "negative_item": hit.item_code} if hit else {}),
        )
        streets = {
            u.id: u
            for u in session.scalars(
                select(OrgUnit).where(OrgUnit.id.in_({c.parent_id for c in communities}))
            )
        }
        scope_keys = roles.scope_keys(session)  # once for the whole fan-out
        held = [department, finance, access, *streets.values(), *communities]
        known = {unit.code: unit.id for unit in held if unit is not None}
        starts = []
        for community in communities:
            data = _instance_data(
                request, department, streets[community.parent_id], community, finance, access
            )
            data.update(facts)
            starts.append(
                starting.Start(
                    data=data,
                    title=instance_title(request.title, community.name),
                    business_key=request.number,
                    scope=starting.resolve_scope(session, data, scope_keys, known),
                )
            )
        instances = starting.start_instances(session, definition, starts, actor_id=actor.user_id)
        write_behind.insert_many(  # read back by queries only, which it goes before
            session,
            HandoffInstance,
            [
                {"instance_id": instance.id, "request_id": request.id, "community_id": c.id}
                for instance, c in zip(instances, communities, strict=True)
            ],
        )
        return request.id


def _instance_data(
    request: Request,
    department: OrgUnit,
    street: OrgUnit,
    community: OrgUnit,
    finance: OrgUnit,
    access: OrgUnit,
) -> dict[str, Any]:
    return {
        "request_id": request.id,
        "request_no": request.number,
        "title": request.title,
        "description": request.description,
        "legal_basis": request.legal_basis,
        "item_code": request.item_code or "",
        "item_name": request.item_name,
        "item_category": request.item_category,
        "amount": fen_to_yuan(request.amount_fen),
        "amount_fen": request.amount_fen,
        "due_date": request.due_date.isoformat() if request.due_date else "",
        "conditions": request.conditions,
        "payment_plan": request.payment_plan or [],
        "instalment_index": 0,
        "terms": request.terms,
        "requested_on": request.created_at.astimezone(SHANGHAI).date().isoformat(),
        "department": department.code,
        "department_name": department.name,
        "street": street.code,
        "street_name": street.name,
        "community": community.code,
        "community_name": community.name,
        "finance_office": finance.code,
        "access_office": access.code,
    }
