"""The 委托协议's terms: the variable part the department fills in with its request (`Terms`,
checked by `parse`), and the agreement's content built from an instance's data (`content`).

The request's API body and the new-request page both hand their `terms` to `parse` (through
`handoff.requests.create_request`), so both accept and refuse alike; a refusal names each field
`terms.<name>`. The instance data carries them under `terms` (`Terms.as_data`).

`content` is the whole agreement as drafted: the parties by their full legal names
(`OrgUnit.full_name`, read when drafting, so a later rename changes no drafted agreement), the
work and its acceptance standard, the authority handed over and its legal basis, the working
conditions and payment plan when the instance data has them (`conditions`, `payment_plan`), the
period, the money and what it may be used for, and the fixed clauses of the item's category as
in force that day (`agreement_templates.clauses_in_force`), copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import inputs
from workflows.forms import FormErrors, parse_date
from workflows.models import OrgUnit

from . import agreement_templates, instalments

TITLE = "社区工作事项委托协议"
# limits: a person's name, a phone number as people write it, one line naming the committee's
# contact, and a few paragraphs for each text
NAME_MAX = 50
PHONE_MAX = 30
CONTACT_MAX = 100
TEXT_MAX = 2000
# name -> (limit, required, several lines); `permitted_use` is required when there is money
TEXTS = {
    "contact_name": (NAME_MAX, True, False),
    "contact_phone": (PHONE_MAX, True, False),
    "committee_contact": (CONTACT_MAX, False, False),
    "authority": (TEXT_MAX, True, True),
    "acceptance_standard": (TEXT_MAX, True, True),
    "permitted_use": (TEXT_MAX, False, True),
}
FIELDS = (*TEXTS, "start_date")
BAD_PHONE = (
    "电话号码有误：手机号 11 位，固定电话带区号（如 0436-1234567）"
    " not a phone number: an 11-digit mobile, or a landline with its area code (0436-1234567)"
)
USE_REQUIRED = "有经费时必填 required when there is money"
# payment plan triggers (the instance data's `payment_plan`, see `content`)
TRIGGERS = ("signing", "date", "acceptance")


@dataclass(frozen=True)
class Terms:
    """What the department agrees to with each committee, beside the request's own fields."""

    contact_name: str
    contact_phone: str
    authority: str
    acceptance_standard: str
    start_date: date
    permitted_use: str = ""
    committee_contact: str = ""

    def as_data(self) -> dict[str, str]:
        """As the request row and the instance data keep them: texts and an ISO date."""
        out = asdict(self)
        out["start_date"] = self.start_date.isoformat()
        return out


def _phone_ok(text: str) -> bool:
    """A number China's numbering plan has (libphonenumber's data: area codes, mobile ranges),
    written as people write it: 0436-1234567, 138 0013 8000, +86 …"""
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


def start_problem(start: date, due: date | None) -> str | None:
    """Why the work cannot start on `start` when it is due on `due`."""
    if due is not None and start > due:
        return (
            f"开始日期不能晚于完成期限 {due.isoformat()} "
            f"must not be after the due date ({due.isoformat()})"
        )
    return None


def parse(raw: Any, *, amount_fen: int | None, due: date | None, today: date) -> Terms | None:
    """The terms `raw` (a mapping of FIELDS, or None for none) as checked and trimmed, or
    FormErrors naming each field wrong (`terms.contact_phone`). `amount_fen` and `due` are
    the request's (None when they are wrong themselves: their own checks say so)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise FormErrors({"terms": "应为对象 must be an object"})
    errors: dict[str, str] = {}
    for key in raw:
        if key not in FIELDS:
            errors[f"terms.{key}"] = "未知字段 unknown field"
    values: dict[str, Any] = {}
    for name, (limit, required, multiline) in TEXTS.items():
        value = raw.get(name, "")
        required = required or (name == "permitted_use" and bool(amount_fen))
        problem = inputs.text_problem(value, limit, required=required, multiline=multiline)
        if problem is not None:
            message = problem.message
            if problem.reason == "required" and name == "permitted_use":
                message = USE_REQUIRED
            errors[f"terms.{name}"] = message
            continue
        values[name] = value.strip()
    phone = values.get("contact_phone")
    if phone and not _phone_ok(phone):
        errors["terms.contact_phone"] = BAD_PHONE
    start = _start(raw.get("start_date"), due, today, errors)
    if errors:
        raise FormErrors(errors)
    assert start is not None
    return Terms(start_date=start, **values)


def _start(value: Any, due: date | None, today: date, errors: dict[str, str]) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors["terms.start_date"] = inputs.REQUIRED
        return None
    try:
        start = parse_date(value)
    except ValueError as exc:
        errors["terms.start_date"] = str(exc)
        return None
    if start < today:
        errors["terms.start_date"] = (
            f"不能早于今天 {today.isoformat()} must not be before today ({today.isoformat()})"
        )
        return None
    problem = start_problem(start, due)
    if problem:
        errors["terms.start_date"] = problem
        return None
    return start


# --- the agreement's content ------------------------------------------------------------------


def _party(units: Mapping[str, OrgUnit], code: str, name: str) -> dict[str, Any]:
    unit = units.get(code)
    return {
        "code": code,
        "name": unit.name if unit is not None else name,
        "legal_name": unit.full_name if unit is not None else name,
    }


def _payment_plan(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The instalments of the instance data (`payment_plan`: {seq, trigger, on, amount_fen}),
    as the agreement prints them; an instance started before payment plans pays everything on
    signing."""
    plan = data.get("payment_plan")
    if plan is None:
        plan = instalments.single(int(data.get("amount_fen") or 0))
    rows = []
    for entry in plan if isinstance(plan, list) else []:
        if isinstance(entry, Mapping):
            rows.append(
                {
                    "seq": entry.get("seq"),
                    "trigger": entry.get("trigger"),
                    "on": entry.get("on"),
                    "amount_fen": int(entry.get("amount_fen") or 0),
                }
            )
    return rows


def negotiated(data: Mapping[str, Any]) -> dict[str, Any]:
    """The terms negotiation may change, as `content` writes them: a draft whose terms differ
    from these is redrafted (`handoff.agreement.draft_agreement`). From the instance's data
    alone, so that a step that only opens signing tasks reads nothing to compare them."""
    return {
        "amount": data["amount"],
        "deadline": data.get("due_date", ""),
        "conditions": str(data.get("conditions") or ""),
        "payment_plan": _payment_plan(data),
    }


def content(session: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    """The agreement drafted from an instance's data: every term, and the clauses of its
    category's template as in force now (copied: see the module's docstring)."""
    codes = [data["department"], data["street"], data["community"]]
    units = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))}
    terms = data.get("terms") or {}
    department = _party(units, data["department"], data.get("department_name", ""))
    department["contact"] = {
        "name": terms.get("contact_name", ""),
        "phone": terms.get("contact_phone", ""),
    }
    committee = _party(units, data["community"], data.get("community_name", ""))
    committee["contact"] = {"name": terms.get("committee_contact", ""), "phone": ""}
    category = data.get("item_category") or "unlisted"
    now = negotiated(data)
    template = agreement_templates.template(
        session, category if category in agreement_templates.CATEGORIES else "unlisted"
    )
    return {
        "title": TITLE,
        "request_no": data["request_no"],
        "parties": {
            "department": department,
            "street_office": _party(units, data["street"], data.get("street_name", "")),
            "committee": committee,
        },
        "work": {
            "title": data["title"],
            "description": data.get("description", ""),
            "item_code": data.get("item_code", ""),
            "item_name": data.get("item_name", ""),
            "item_category": category,
            "acceptance_standard": terms.get("acceptance_standard", ""),
        },
        # the authority handed over (权限) and its legal basis; `authority` keeps the basis, as
        # agreements drafted before the terms had it
        "powers": terms.get("authority", ""),
        "legal_basis": data.get("legal_basis", ""),
        "authority": data.get("legal_basis", ""),
        "conditions": now["conditions"],
        "period": {"start": terms.get("start_date", ""), "end": data.get("due_date", "")},
        "deadline": now["deadline"],
        "amount": now["amount"],
        "amount_fen": int(data["amount_fen"]),
        "permitted_use": terms.get("permitted_use", ""),
        "payment_plan": now["payment_plan"],
        "clauses": dict(template.clauses),
        "template": {
            "category": template.category,
            "updated_at": template.updated_at.isoformat() if template.updated_at else None,
        },
    }
