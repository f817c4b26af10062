"""The handoff's form rules that span fields or need the instance (see `workflows.forms`), and
the ones that need the records too (`RECORD_RULES`, run by `HandoffHooks.check_completion`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from sqlalchemy.orm import Session

from workflows.forms import FieldNeed
from workflows.plugins import rule

from . import instalments, negotiation, screening
from .money import fen_to_yuan, parse_yuan, yuan_to_fen
from .requests import FUNDED_CATEGORIES, due_date_problem, today


def _comment_unless_approved(data: dict, _instance: Mapping) -> dict[str, str]:
    if data.get("decision") not in ("approve", "accept") and not data.get("comment"):
        return {"comment": "退回、驳回或返工时必须填写意见 a comment is required unless approving"}
    return {}


def date_problem(value: str, instance: Mapping) -> str | None:
    """A date of something that happened: not in the future, not before the request existed
    (`requested_on`; instances started before it was recorded are checked for the future only)."""
    day = date.fromisoformat(value)
    if day > today():
        return "不能晚于今天 must not be in the future"
    requested = instance.get("requested_on")
    if requested and day < date.fromisoformat(requested):
        return (
            f"不能早于委托申请日期 {requested} "
            f"must not be before the request was made ({requested})"
        )
    return None


def _amount_matches_plan(task_key: str):
    """A funding task confirms exactly what the payment plan says its instalment is."""

    def check(data: dict, instance: Mapping) -> dict[str, str]:
        errors = {}
        seq, agreed = instalments.due_fen(task_key, instance)
        if yuan_to_fen(parse_yuan(data["amount"])) != agreed:
            errors["amount"] = (
                f"拨付金额须与协议约定的第 {seq} 期金额 {fen_to_yuan(agreed)} 元一致 "
                f"must equal instalment {seq} of the agreement, {fen_to_yuan(agreed)}"
            )
        problem = date_problem(data["transferred_on"], instance)
        if problem:
            errors["transferred_on"] = problem
        return errors

    check.__name__ = f"amount_matches_plan_{task_key}"
    return rule(check, amount="decimal", transferred_on="date")


def _completed_in_time(data: dict, instance: Mapping) -> dict[str, str]:
    problem = date_problem(data["completed_on"], instance)
    return {"completed_on": problem} if problem else {}


def _revision_keeps_rules(data: dict, instance: Mapping) -> dict[str, str]:
    errors = {}
    amount_fen = int(instance.get("amount_fen", 0))
    if "amount" in data:
        amount_fen = yuan_to_fen(parse_yuan(data["amount"]))
        if instance.get("item_category") in FUNDED_CATEGORIES and amount_fen == 0:
            errors["amount"] = "协助事项必须有经费（费随事转） assisted work must bring money"
    if "due_date" in data:
        # review starts again: the new date must leave the review and funding periods
        due = date.fromisoformat(data["due_date"])
        problem = due_date_problem(due, amount_fen)
        # and the agreement's work may not start after it ends
        start = (instance.get("terms") or {}).get("start_date")
        if not problem and start and due < date.fromisoformat(start):
            problem = (
                f"不能早于协议约定的开始日期 {start} "
                f"must not be before the agreed start date ({start})"
            )
        if problem:
            errors["due_date"] = problem
    if not any(k in data for k in ("title", "description", "legal_basis", "amount", "due_date")):
        errors["comment"] = "请至少修改一项 change at least one field"
    return errors


def _revision_screened(session: Session, data: dict, instance: Mapping) -> dict[str, str]:
    """A revision must not bring a negative-list term into a request that was screened clean
    (one already flagged goes to district review anyway): the text as it would read after the
    revision is screened against the negative list of the request's date."""
    if instance.get("negative_term"):
        return {}
    text = {k: data.get(k) or instance.get(k) or "" for k in screening.FIELDS}
    requested = instance.get("requested_on")
    day = date.fromisoformat(requested) if requested else today()
    hit = screening.screen(session, day, text)
    if hit is None:
        return {}
    return {
        hit.field: (
            f"含负面清单用语「{hit.term}」（{hit.item_code} {hit.item_name}），不得委托社区 "
            f"names a term of the negative list ({hit.item_code}), "
            "and such work may not be handed to a community"
        )
    }


# task key -> rules, for the plugin. A rule states the fields it reads by key (data["x"]): the
# rules apply to every deployed version of the handoff, and deployment refuses a version whose
# task lacks one (`workflows.plugins.rule`). Rules that only use data.get state none.
_OPTIONAL_DECIMAL, _OPTIONAL_DATE = FieldNeed("decimal", required=False), FieldNeed("date", False)
_OPTIONAL_TEXT = FieldNeed("text", required=False)
FORM_RULES = {
    "street_review": (_comment_unless_approved,),
    "district_review": (_comment_unless_approved,),
    "acceptance": (_comment_unless_approved,),
    "sign_committee": (
        rule(
            negotiation.committee_rule,
            counter_amount=_OPTIONAL_DECIMAL,
            counter_due_date=_OPTIONAL_DATE,
            counter_conditions=_OPTIONAL_TEXT,
        ),
    ),
    "consider_counter": (
        rule(
            negotiation.department_rule,
            amount=_OPTIONAL_DECIMAL,
            due_date=_OPTIONAL_DATE,
            conditions=_OPTIONAL_TEXT,
        ),
    ),
    **{key: (_amount_matches_plan(key),) for key in instalments.FUNDING_TASKS},
    "work": (rule(_completed_in_time, completed_on="date"),),
    "revise": (rule(_revision_keeps_rules, amount=_OPTIONAL_DECIMAL, due_date=_OPTIONAL_DATE),),
}

# task key -> the fields the handoff's hooks read from its form data (`agreement.HandoffHooks`)
HOOK_FIELDS = {
    "sign_department": {"decision": "enum"},
    "sign_street": {"decision": "enum"},
    "sign_committee": {"decision": "enum"},
    "consider_counter": {"decision": "enum"},
    **{
        key: {"amount": "decimal", "voucher_no": "string", "transferred_on": "date"}
        for key in instalments.FUNDING_TASKS
    },
}

RecordRule = Callable[[Session, dict, Mapping], dict[str, str]]
# task key -> rules that read the records (run before the step, after the form rules passed)
RECORD_RULES: dict[str, tuple[RecordRule, ...]] = {
    "revise": (_revision_screened,),
}
