"""The handoff's form rules that span fields or need the instance (see `workflows.forms`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from .money import fen_to_yuan, parse_yuan, yuan_to_fen
from .requests import today

FUNDED_CATEGORIES = ("assisted", "unlisted")  # 费随事转: these must bring money


def _comment_unless_approved(data: dict, _instance: Mapping) -> dict[str, str]:
    if data.get("decision") not in ("approve", "accept") and not data.get("comment"):
        return {"comment": "退回、驳回或返工时必须填写意见 a comment is required unless approving"}
    return {}


def _refusal_reason(data: dict, _instance: Mapping) -> dict[str, str]:
    if data.get("decision") == "refuse" and not data.get("comment"):
        return {"comment": "拒签须说明理由 a refusal needs a reason"}
    return {}


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


def _completed_not_future(data: dict, _instance: Mapping) -> dict[str, str]:
    if date.fromisoformat(data["completed_on"]) > today():
        return {"completed_on": "不能晚于今天 must not be in the future"}
    return {}


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


# task key -> rules, for the plugin
FORM_RULES = {
    "street_review": (_comment_unless_approved,),
    "district_review": (_comment_unless_approved,),
    "acceptance": (_comment_unless_approved,),
    "sign_committee": (_refusal_reason,),
    "funding": (_amount_matches_agreement,),
    "work": (_completed_not_future,),
    "revise": (_revision_keeps_rules,),
}
