"""临时性紧急事项 (`bpmn/emergency.bpmn`): a street office orders urgent work at once; the
department files the request, agreement and money afterwards.

The plugin checks who may order what (a street office, for a community of its own street, naming
a department) and that the filing names a real handoff request of that department for that
community; the 减负看板 counts orders and late filings (`counts`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from workflows import hooks
from workflows.forms import FormErrors
from workflows.models import (
    InstanceParty,
    Membership,
    OrgUnit,
    ProcessDefinition,
    ProcessInstance,
    Task,
)
from workflows.plugins import ProcessPlugin

from .models import HandoffInstance, Request

PROCESS_KEY = "emergency"
FILING_TASK = "file_request"


class EmergencyHooks(hooks.ProcessHooks):
    def instance_started(self, ctx: hooks.HookContext) -> None:
        session, scope = ctx.session, ctx.instance.scope
        errors = {}
        if _kind(session, scope.get("committee")) != "community":
            errors["community"] = "请填写社区代码"
        if _kind(session, scope.get("department")) != "department":
            errors["department"] = "请填写职能部门代码"
        if not errors and not _member(
            session, ctx.actor_id, "street_office", scope["street_office"]
        ):
            errors["community"] = "只能向本街道的社区下达紧急任务"
        if errors:
            raise FormErrors(errors)

    def check_completion(
        self, ctx: hooks.HookContext, task: Task, form_data: dict[str, Any]
    ) -> dict[str, str]:
        if task.key == FILING_TASK:
            return _filing_problems(ctx.session, ctx.instance, form_data["request_no"])
        return {}


def _kind(session: Session, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    return session.scalar(select(OrgUnit.kind).where(OrgUnit.id == unit_id))


def _member(session: Session, user_id: int | None, role: str, unit_id: int) -> bool:
    return (
        user_id is not None
        and session.scalar(
            select(Membership.id).where(
                Membership.user_id == user_id,
                Membership.role == role,
                Membership.org_unit_id == unit_id,
            )
        )
        is not None
    )


def _filing_problems(session: Session, instance: ProcessInstance, number: str) -> dict[str, str]:
    """The request filed afterwards: the department's, with a handoff to this community."""
    request = session.scalar(select(Request).where(Request.number == number))
    if request is None or request.department_id != instance.scope.get("department"):
        return {"request_no": f"本部门没有编号为 {number} 的委托申请"}
    handed = session.scalar(
        select(HandoffInstance.instance_id).where(
            HandoffInstance.request_id == request.id,
            HandoffInstance.community_id == instance.scope.get("committee"),
        )
    )
    if handed is None:
        return {"request_no": f"委托申请 {number} 不涉及本社区"}
    return {}


def counts(
    session: Session,
    units: dict[str, frozenset[int]] | None,
    start,
    end,
    required: dict[str, int] | None = None,
) -> dict[str, int]:
    """Emergency orders in the period (by order date) and how many filings were late, open
    or done. `units` limits them to instances with any of those parties (role -> unit ids;
    None is the whole district), `required` to instances with all of these (role -> unit)."""
    conditions = [
        ProcessInstance.definition_id.in_(
            select(ProcessDefinition.id).where(ProcessDefinition.key == PROCESS_KEY)
        )
    ]
    if start is not None:
        conditions.append(ProcessInstance.created_at >= start)
    if end is not None:
        conditions.append(ProcessInstance.created_at < end)
    if units is not None:
        mine = [
            and_(InstanceParty.role == role, InstanceParty.org_unit_id.in_(sorted(ids)))
            for role, ids in units.items()
            if ids
        ]
        if not mine:
            return {"orders": 0, "late_filings": 0, "open_filings": 0, "filed": 0}
        conditions.append(
            exists().where(InstanceParty.instance_id == ProcessInstance.id, or_(*mine))
        )
    for role, unit in (required or {}).items():
        conditions.append(
            exists().where(
                InstanceParty.instance_id == ProcessInstance.id,
                InstanceParty.role == role,
                InstanceParty.org_unit_id == unit,
            )
        )
    orders = select(ProcessInstance.id).where(*conditions).subquery()
    filings = (
        select(Task.instance_id, Task.status, Task.escalated_at)
        .where(Task.key == FILING_TASK, Task.instance_id.in_(select(orders.c.id)))
        .subquery()
    )
    row = session.execute(
        select(
            select(func.count()).select_from(orders).scalar_subquery(),
            select(func.count(func.distinct(filings.c.instance_id)))
            .where(filings.c.escalated_at.is_not(None))
            .scalar_subquery(),
            select(func.count())
            .select_from(filings)
            .where(filings.c.status == "open")
            .scalar_subquery(),
            select(func.count())
            .select_from(filings)
            .where(filings.c.status == "completed")
            .scalar_subquery(),
        )
    ).one()
    return {"orders": row[0], "late_filings": row[1], "open_filings": row[2], "filed": row[3]}


def emergency_plugin() -> ProcessPlugin:
    return ProcessPlugin(
        name=PROCESS_KEY,
        process_keys=frozenset({PROCESS_KEY}),
        hooks=EmergencyHooks(),
        hook_fields={FILING_TASK: {"request_no": "string"}},  # read by `check_completion`
    )
