"""The handoff process (权随责走、费随事转): requests fanned out per community, the agreement,
the money ledger, and the form rules that span fields.

The flow itself (screening, reviews, signing, funding, work, acceptance, escalation) is in
`bpmn/handoff.bpmn`; this module only keeps the records beside it.
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

from . import audit, clock, definitions, forms, hooks, service
from .db import Database
from .errors import Forbidden, Invalid, NotFound
from .forms import FormErrors, fen_to_yuan, parse_date, parse_yuan, yuan_to_fen
from .models import Agreement, CatalogItem, LedgerEntry, OrgUnit, Request, Signature, Task

PROCESS_KEY = "handoff"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_COMMUNITIES = 2000
FUNDED_CATEGORIES = ("assisted", "unlisted")  # 费随事转: these must bring money
SIGN_TASKS = {
    "sign_department": "department",
    "sign_committee": "committee",
    "sign_street": "street_office",
}


def today() -> date:
    return clock.now().astimezone(SHANGHAI).date()


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


def _department_of(session: Session, actor: service.Actor, code: str | None) -> OrgUnit:
    units = [unit for role, unit in actor.pairs if role == "department"]
    if not units:
        raise Forbidden("only department officers may launch requests")
    if code is None:
        if len(units) > 1:
            raise Invalid("choose a department", {"department_code": "必填 required"})
        return session.get(OrgUnit, units[0])
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
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
            select(OrgUnit).where(OrgUnit.code.in_(codes), OrgUnit.kind == "community")
        )
    }
    missing = [c for c in codes if c not in found]
    if missing:
        raise Invalid(
            "unknown community", {"community_codes": f"未知社区 unknown: {', '.join(missing[:10])}"}
        )
    return [found[c] for c in codes]


def _office(session: Session, district_id: int | None, kind: str) -> OrgUnit:
    unit = session.scalar(
        select(OrgUnit).where(OrgUnit.kind == kind, OrgUnit.parent_id == district_id).limit(1)
    )
    if unit is None:
        raise Invalid(f"the district has no {kind} org unit")
    return unit


def _validate(payload: RequestInput) -> tuple[int, date | None]:
    errors: dict[str, str] = {}
    if not payload.title.strip():
        errors["title"] = "必填 required"
    elif len(payload.title) > 200:
        errors["title"] = "最多 200 字 at most 200 characters"
    amount_fen, due = 0, None
    try:
        amount_fen = yuan_to_fen(parse_yuan(payload.amount))
    except ValueError as exc:
        errors["amount"] = str(exc)
    if payload.due_date:
        try:
            due = parse_date(payload.due_date)
            if due < today():
                errors["due_date"] = "不能早于今天 must not be in the past"
        except ValueError as exc:
            errors["due_date"] = str(exc)
    if len(payload.description) > 20_000:
        errors["description"] = "过长 too long"
    if len(payload.legal_basis) > 500:
        errors["legal_basis"] = "最多 500 字 at most 500 characters"
    if errors:
        raise FormErrors(errors)
    return amount_fen, due


def create_request(db: Database, actor: service.Actor, payload: RequestInput) -> int:
    """Store the request and start one handoff per community, all in one transaction."""
    amount_fen, due = _validate(payload)
    with db.write() as session:
        department = _department_of(session, actor, payload.department_code)
        communities = _communities(session, payload.community_codes)
        item = None
        if payload.item_code:
            item = session.scalar(select(CatalogItem).where(CatalogItem.code == payload.item_code))
            if item is None or not item.active:
                raise FormErrors({"item_code": "清单中没有该事项 not in the catalog"})
        definition = definitions.latest(session, PROCESS_KEY)
        if definition is None:
            raise NotFound("the handoff process is not deployed")
        finance = _office(session, department.parent_id, "finance")
        access = _office(session, department.parent_id, "access_office")
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
            created_by_id=actor.user_id,
            created_at=clock.now(),
        )
        session.add(request)
        session.flush()
        request.number = f"REQ-{request.created_at.astimezone(SHANGHAI):%Y}-{request.id:06d}"
        audit.record(
            session,
            "request.created",
            actor_id=actor.user_id,
            request_id=request.id,
            number=request.number,
            communities=len(communities),
        )
        streets = {
            u.id: u
            for u in session.scalars(
                select(OrgUnit).where(OrgUnit.id.in_({c.parent_id for c in communities}))
            )
        }
        for community in communities:
            data = _instance_data(
                request, department, streets[community.parent_id], community, finance, access
            )
            service.start_instance(
                session,
                definition,
                data,
                actor_id=actor.user_id,
                title=f"{request.title}（{community.name}）",
                request_id=request.id,
                community_id=community.id,
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
        "department": department.code,
        "department_name": department.name,
        "street": street.code,
        "street_name": street.name,
        "community": community.code,
        "community_name": community.name,
        "finance_office": finance.code,
        "access_office": access.code,
    }


# --- records beside the flow: agreement and money -------------------------------------------


class HandoffHooks(hooks.ProcessHooks):
    def task_opened(self, ctx: hooks.HookContext, task: Task) -> None:
        if task.key in SIGN_TASKS:
            draft_agreement(ctx.session, ctx.instance.id, ctx.data, ctx.actor_id)

    def task_completed(self, ctx: hooks.HookContext, task: Task, form_data: dict[str, Any]) -> None:
        if task.key in SIGN_TASKS:
            _sign(ctx, task, form_data)
        elif task.key == "funding":
            _record_transfer(ctx, form_data)

    def instance_cancelled(self, ctx: hooks.HookContext) -> None:
        agreement = ctx.session.scalar(
            select(Agreement).where(Agreement.instance_id == ctx.instance.id)
        )
        if agreement is not None and agreement.status == "draft":
            agreement.status = "cancelled"


def agreement_number(data: Mapping[str, Any]) -> str:
    community = str(data["community"]).split("-", 1)[-1].replace("-", "")
    return f"XY-{str(data['request_no']).removeprefix('REQ-')}-{community}"


def draft_agreement(
    session: Session, instance_id: int, data: Mapping[str, Any], actor_id
) -> Agreement:
    existing = session.scalar(select(Agreement).where(Agreement.instance_id == instance_id))
    if existing is not None:
        return existing
    content = {
        "title": "社区工作事项委托协议",
        "parties": {
            "department": {"code": data["department"], "name": data.get("department_name", "")},
            "street_office": {"code": data["street"], "name": data.get("street_name", "")},
            "committee": {"code": data["community"], "name": data.get("community_name", "")},
        },
        "work": {
            "title": data["title"],
            "description": data.get("description", ""),
            "item_code": data.get("item_code", ""),
            "item_name": data.get("item_name", ""),
        },
        "authority": data.get("legal_basis", ""),
        "deadline": data.get("due_date", ""),
        "amount": data["amount"],
        "request_no": data["request_no"],
    }
    agreement = Agreement(
        instance_id=instance_id,
        number=agreement_number(data),
        status="draft",
        content=content,
        amount_fen=int(data["amount_fen"]),
        created_at=clock.now(),
    )
    session.add(agreement)
    session.flush()
    audit.record(
        session,
        "agreement.drafted",
        actor_id=actor_id,
        instance_id=instance_id,
        request_id=data.get("request_id"),
        number=agreement.number,
    )
    return agreement


def _sign(ctx: hooks.HookContext, task: Task, form_data: dict[str, Any]) -> None:
    session, instance = ctx.session, ctx.instance
    agreement = session.scalar(select(Agreement).where(Agreement.instance_id == instance.id))
    party = SIGN_TASKS[task.key]
    session.add(
        Signature(
            agreement_id=agreement.id,
            party=party,
            org_unit_id=task.org_unit_id,
            user_id=ctx.actor_id,
            decision=form_data["decision"],
            comment=form_data.get("comment", ""),
            signed_at=clock.now(),
        )
    )
    session.flush()
    common = {
        "actor_id": ctx.actor_id,
        "instance_id": instance.id,
        "request_id": instance.request_id,
    }
    if form_data["decision"] == "refuse":
        agreement.status = "refused"
        audit.record(session, "agreement.refused", number=agreement.number, party=party, **common)
        return
    session.refresh(agreement, ["signatures"])
    signed = {s.party for s in agreement.signatures if s.decision == "sign"}
    if signed == set(SIGN_TASKS.values()):
        agreement.status, agreement.signed_at = "signed", clock.now()
        audit.record(session, "agreement.signed", number=agreement.number, **common)
        if agreement.amount_fen > 0:
            session.add(
                LedgerEntry(
                    instance_id=instance.id,
                    request_id=instance.request_id,
                    kind="agreed",
                    amount_fen=agreement.amount_fen,
                    actor_id=ctx.actor_id,
                    at=clock.now(),
                )
            )
            audit.record(
                session, "money.agreed", amount=fen_to_yuan(agreement.amount_fen), **common
            )


def _record_transfer(ctx: hooks.HookContext, form_data: dict[str, Any]) -> None:
    instance = ctx.instance
    amount_fen = yuan_to_fen(parse_yuan(form_data["amount"]))
    ctx.session.add(
        LedgerEntry(
            instance_id=instance.id,
            request_id=instance.request_id,
            kind="transferred",
            amount_fen=amount_fen,
            voucher_no=form_data["voucher_no"],
            transferred_on=date.fromisoformat(form_data["transferred_on"]),
            actor_id=ctx.actor_id,
            at=clock.now(),
        )
    )
    audit.record(
        ctx.session,
        "money.transferred",
        actor_id=ctx.actor_id,
        instance_id=instance.id,
        request_id=instance.request_id,
        amount=form_data["amount"],
        voucher_no=form_data["voucher_no"],
    )


hooks.register(PROCESS_KEY, HandoffHooks())


# --- form rules that span fields or need the instance ---------------------------------------


@forms.rule(PROCESS_KEY, "street_review", "district_review", "acceptance")
def _comment_unless_approved(data: dict, _instance: Mapping) -> dict[str, str]:
    if data.get("decision") not in ("approve", "accept") and not data.get("comment"):
        return {"comment": "退回、驳回或返工时必须填写意见 a comment is required unless approving"}
    return {}


@forms.rule(PROCESS_KEY, "sign_committee")
def _refusal_reason(data: dict, _instance: Mapping) -> dict[str, str]:
    if data.get("decision") == "refuse" and not data.get("comment"):
        return {"comment": "拒签须说明理由 a refusal needs a reason"}
    return {}


@forms.rule(PROCESS_KEY, "funding")
def _amount_matches_agreement(data: dict, instance: Mapping) -> dict[str, str]:
    errors = {}
    agreed = int(instance.get("amount_fen", 0))
    if yuan_to_fen(parse_yuan(data["amount"])) != agreed:
        errors["amount"] = (
            f"拨付金额须与协议金额 {fen_to_yuan(agreed)} 元一致 "
            f"must equal the agreed amount {fen_to_yuan(agreed)}"
        )
    if date.fromisoformat(data["transferred_on"]) > today():
        errors["transferred_on"] = "不能晚于今天 must not be in the future"
    return errors


@forms.rule(PROCESS_KEY, "work")
def _completed_not_future(data: dict, _instance: Mapping) -> dict[str, str]:
    if date.fromisoformat(data["completed_on"]) > today():
        return {"completed_on": "不能晚于今天 must not be in the future"}
    return {}


@forms.rule(PROCESS_KEY, "revise")
def _revision_keeps_rules(data: dict, instance: Mapping) -> dict[str, str]:
    errors = {}
    if "amount" in data and instance.get("item_category") in FUNDED_CATEGORIES:
        if yuan_to_fen(parse_yuan(data["amount"])) == 0:
            errors["amount"] = "协助事项必须有经费（费随事转） assisted work must bring money"
    if "due_date" in data and date.fromisoformat(data["due_date"]) < today():
        errors["due_date"] = "不能早于今天 must not be in the past"
    if not any(k in data for k in ("title", "description", "legal_basis", "amount", "due_date")):
        errors["comment"] = "请至少修改一项 change at least one field"
    return errors
