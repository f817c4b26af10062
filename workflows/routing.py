"""The routing rule of SPEC.md: a task's lane gives its role, the instance gives its org unit.

`department` -> the requesting department, `street_office` -> the street of the target community,
`committee` -> the target community, `finance` -> the finance office, `district_reviewer` -> the
access office. The instance data names those org units by code under the keys below; the service
resolves them to ids once, at start, into `ProcessInstance.scope`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, false, or_

from .models import Membership, Task

ROLE_SCOPE_KEYS: dict[str, str] = {
    "department": "department",
    "street_office": "street",
    "district_reviewer": "access_office",
    "committee": "community",
    "finance": "finance_office",
}
TASK_ROLES = tuple(ROLE_SCOPE_KEYS)
ALL_ROLES = (*TASK_ROLES, "admin")
# Overdue tasks are escalated: this role, at the instance's scope for it, sees them too.
ESCALATION_ROLE = "district_reviewer"

ROLE_LABELS = {
    "department": "职能部门",
    "street_office": "街道办事处",
    "district_reviewer": "区准入审核办",
    "committee": "社区居委会",
    "finance": "财政",
    "admin": "系统管理员",
}


def membership_pairs(memberships: Iterable[Membership]) -> set[tuple[str, int]]:
    return {(m.role, m.org_unit_id) for m in memberships}


def can_see(pairs: set[tuple[str, int]], user_id: int, task: Task) -> bool:
    """Whether a user with these (role, org unit) memberships has the task in their inbox."""
    if task.assignee_id == user_id or (task.role, task.org_unit_id) in pairs:
        return True
    return task.escalated_at is not None and (ESCALATION_ROLE, task.escalation_unit_id) in pairs


def inbox_clause(pairs: set[tuple[str, int]], user_id: int) -> ColumnElement[bool]:
    """SQL for 'open tasks in this user's inbox', served by the (status, role, org_unit) index."""
    by_scope = [and_(Task.role == role, Task.org_unit_id == unit) for role, unit in sorted(pairs)]
    escalated_units = [unit for role, unit in pairs if role == ESCALATION_ROLE]
    clauses = [*by_scope, Task.assignee_id == user_id]
    if escalated_units:
        clauses.append(
            and_(Task.escalated_at.is_not(None), Task.escalation_unit_id.in_(escalated_units))
        )
    return and_(Task.status == "open", or_(*clauses) if clauses else false())
