"""准入清单年度审核 (`bpmn/catalog_review.bpmn`): the annual review changes the catalog.

The flow (review, 公示 with objections, district decision) is the BPMN's; this plugin checks the
proposal against the catalog and, when the review ends `approved`, changes the catalog from the
proposal's effective date, keeping the old entry (it ends the day the new one starts).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import audit, hooks
from workflows.errors import Conflict
from workflows.forms import FieldNeed, FormErrors
from workflows.models import OrgUnit
from workflows.plugins import ProcessPlugin, rule

from .catalog import item_in_force
from .models import CatalogItem
from .money import parse_yuan, yuan_to_fen
from .requests import today

PROCESS_KEY = "catalog_review"


def _proposal_rules(data: dict[str, Any], _instance: Mapping[str, Any]) -> dict[str, str]:
    """What the start form cannot say on its own: an addition names its category, a date
    that is not in the past."""
    errors = {}
    if data.get("change") == "add":
        if not data.get("item_name"):
            errors["item_name"] = "新增事项须填写事项名称"
        if not data.get("category"):
            errors["category"] = "新增事项须选择类别"
    effective = data.get("effective_from")
    if effective and date.fromisoformat(effective) < today():
        errors["effective_from"] = "生效日期不能早于今天"
    return errors


class CatalogReviewHooks(hooks.ProcessHooks):
    def instance_started(self, ctx: hooks.HookContext) -> None:
        errors = _against_catalog(ctx.session, ctx.data)
        if errors:
            raise FormErrors(errors)

    def instance_finished(self, ctx: hooks.HookContext) -> None:
        if ctx.instance.outcome == "approved":
            apply_change(ctx.session, ctx.data, ctx.actor_id, ctx.instance.id)


def _against_catalog(session: Session, data: Mapping[str, Any]) -> dict[str, str]:
    errors = {}
    effective = date.fromisoformat(data["effective_from"])
    current = item_in_force(session, data["item_code"], effective)
    if data["change"] == "add" and current is not None:
        errors["item_code"] = f"清单中已有事项 {data['item_code']}：请选择“变更”"
    if data["change"] in ("change", "remove") and current is None:
        errors["item_code"] = f"清单中没有在该日期有效的事项 {data['item_code']}"
    department = data.get("responsible_department")
    if department and not session.scalar(
        select(OrgUnit.id).where(OrgUnit.code == department, OrgUnit.kind == "department")
    ):
        errors["responsible_department"] = f"没有代码为 {department} 的职能部门"
    return errors


def apply_change(
    session: Session, data: Mapping[str, Any], actor_id: int | None, instance_id: int
) -> CatalogItem | None:
    """End the entry in force on the effective date and, unless removing, start the new one."""
    effective = date.fromisoformat(data["effective_from"])
    current = item_in_force(session, data["item_code"], effective)
    if data["change"] == "add" and current is not None:
        raise Conflict(f"catalog item {data['item_code']} was added meanwhile")
    if data["change"] in ("change", "remove") and current is None:
        raise Conflict(f"catalog item {data['item_code']} is no longer in force")
    new = None
    if current is not None and current.effective_from == effective:
        # an entry that began on the same day is corrected in place (or withdrawn)
        if data["change"] == "remove":
            current.active = False
        else:
            _fill(current, data, current)
        new = current if data["change"] != "remove" else None
    else:
        if current is not None:
            current.effective_to = effective
        if data["change"] != "remove":
            new = CatalogItem(code=data["item_code"], active=True, effective_from=effective)
            _fill(new, data, current)
            session.add(new)
    session.flush()
    audit.record(
        session,
        "catalog.changed",
        actor_id=actor_id,
        instance_id=instance_id,
        change=data["change"],
        code=data["item_code"],
        effective_from=effective.isoformat(),
    )
    return new


def _fill(item: CatalogItem, data: Mapping[str, Any], current: CatalogItem | None) -> None:
    """The proposal's fields, the current entry's where the proposal leaves one empty."""
    item.name = data.get("item_name") or (current.name if current else "")
    item.category = data.get("category") or (current.category if current else "")
    item.legal_basis = data.get("legal_basis") or (current.legal_basis if current else "")
    item.funding_standard_fen = _fen(data.get("funding_standard"), current)
    item.responsible_department = data.get("responsible_department") or (
        current.responsible_department if current else ""
    )
    if current is not None and item is not current:
        item.terms = list(current.terms or [])  # the words that name it stay with the item


def _fen(value: Any, current: CatalogItem | None) -> int:
    if value:
        return yuan_to_fen(parse_yuan(value))
    return current.funding_standard_fen if current is not None else 0


def catalog_review_plugin() -> ProcessPlugin:
    return ProcessPlugin(
        name=PROCESS_KEY,
        process_keys=frozenset({PROCESS_KEY}),
        hooks=CatalogReviewHooks(),
        form_rules={
            "start": (rule(_proposal_rules, effective_from=FieldNeed("date", required=False)),)
        },
        # the hooks read the proposal from the start data (`_against_catalog`, `apply_change`)
        hook_fields={"start": {"change": "enum", "item_code": "string", "effective_from": "date"}},
    )
