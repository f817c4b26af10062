"""Who hears what of a handoff beyond its tasks: the requesting department of a decision on its
request (a review's approval, the handoff's end with its outcome), the department and the
committee of the money's arrival (费随事转). Enqueued in the step's transaction
(`notifications.service`); whoever acted is not told of their own act."""

from __future__ import annotations

from typing import Any

from notifications import service
from workflows.hooks import HookContext
from workflows.models import Task

REVIEWS = ("street_review", "district_review")
# the mail's words for the outcomes of bpmn/handoff.bpmn (pages word them from their catalogue)
OUTCOME_NAMES = {
    "completed": "已完成",
    "rejected": "已驳回",
    "refused": "社区拒签",
    "blocked_negative_list": "负面清单拦截",
    "blocked_forbidden_certificate": "禁止类证明事项拦截",
    "blocked_unfunded": "无经费拦截",
}
DECISION_NAMES = {"approve": "同意"}


def _people(ctx: HookContext, *roles: str) -> dict[str, Any]:
    """`enqueue`'s audience: the active holders of each role at the instance's org unit for it
    (its routing scope: role -> org unit id), but not the actor."""
    scope = ctx.instance.scope
    return {"holders": [(role, scope.get(role)) for role in roles], "exclude": ctx.actor_id}


def _common(ctx: HookContext) -> dict[str, Any]:
    instance = ctx.instance
    return {
        "instance_id": instance.id,
        "title": instance.title,
        "business_key": instance.business_key,
    }


def review_decided(ctx: HookContext, task: Task, form_data: dict[str, Any]) -> None:
    """An approval tells the department; a rejection ends the handoff (`finished` tells)."""
    decision = form_data.get("decision")
    if task.key not in REVIEWS or decision not in DECISION_NAMES:
        return
    service.enqueue(
        ctx.session,
        "request_decided",
        f"request_decided:{task.id}",
        _common(ctx)
        | {
            "task_key": task.key,
            "task_name": task.name,
            "decision": decision,
            "decision_name": f"{task.name}{DECISION_NAMES[decision]}",
        },
        **_people(ctx, "department"),
        units=[u for u in [ctx.instance.scope.get("department")] if u],
        fresh=True,  # a task completes, an instance finishes, once: its key is new
    )


def finished(ctx: HookContext) -> None:
    outcome = ctx.instance.outcome or ""
    service.enqueue(
        ctx.session,
        "request_decided",
        f"request_finished:{ctx.instance.id}",
        _common(ctx) | {"outcome": outcome, "outcome_name": OUTCOME_NAMES.get(outcome, outcome)},
        **_people(ctx, "department"),
        units=[u for u in [ctx.instance.scope.get("department")] if u],
        fresh=True,  # a task completes, an instance finishes, once: its key is new
    )


def money_confirmed(ctx: HookContext, task: Task, form_data: dict[str, Any]) -> None:
    scope = ctx.instance.scope
    service.enqueue(
        ctx.session,
        "money_confirmed",
        f"money_confirmed:{task.id}",
        _common(ctx)
        | {
            "amount": form_data.get("amount"),
            "voucher_no": form_data.get("voucher_no"),
            "transferred_on": form_data.get("transferred_on"),
        },
        **_people(ctx, "department", "committee"),
        units=[u for u in (scope.get("department"), scope.get("committee")) if u],
        fresh=True,
    )
