"""The routing rule of SPEC.md: a task's role comes from the BPMN (candidate group or lane), the
instance gives its org unit.

A role belongs to org units of one kind (`role.unit_kind`); the instance's start data names the
org unit of each kind by code under the key of `SCOPE_KEYS` (`community`, `street`, ...). The
service resolves them to ids once, at start, into `ProcessInstance.scope` (role -> org unit id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import ColumnElement, and_, bindparam, false, not_, or_

from .models import Membership, Task

# org unit kind -> the start data key naming the instance's org unit of that kind
SCOPE_KEYS: Mapping[str, str] = {
    "community": "community",
    "street": "street",
    "department": "department",
    "finance": "finance_office",
    "access_office": "access_office",
    "district": "district",
}
# Overdue tasks are escalated: this role, at the instance's scope for it, sees them too.
ESCALATION_ROLE = "district_reviewer"
ADMIN_ROLE = "admin"


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


def inbox_branches(n_scopes: int, escalation: bool) -> list[ColumnElement[bool]]:
    """The inbox of `inbox_clause` as disjoint conditions, each served by one index, with the
    user's values as bound parameters (`inbox_params`), so one statement serves every user with
    the same number of memberships.

    One per membership (role, org unit), through (status, role, org_unit_id, ...); then the
    tasks assigned to the user outside those, through the assignee index; then, for a district
    reviewer, escalated tasks outside both, through the escalation index. No task matches two
    branches, so counts add up and pages merge without duplicates, and no query has to scan the
    union of them.
    """
    open_ = Task.status == "open"
    by_scope = [
        and_(
            Task.role == bindparam(f"scope_role_{i}"),
            Task.org_unit_id == bindparam(f"scope_unit_{i}"),
        )
        for i in range(n_scopes)
    ]
    branches = [and_(open_, scope) for scope in by_scope]
    outside = [not_(or_(*by_scope))] if by_scope else []
    user = bindparam("inbox_user")
    branches.append(and_(open_, Task.assignee_id == user, *outside))
    if escalation:
        branches.append(
            and_(
                open_,
                Task.escalation_unit_id.in_(bindparam("escalation_units", expanding=True)),
                Task.escalated_at.is_not(None),
                or_(Task.assignee_id.is_(None), Task.assignee_id != user),
                *outside,
            )
        )
    return branches


def inbox_shape(pairs: Iterable[tuple[str, int]]) -> tuple[int, bool]:
    """The arguments of `inbox_branches` for a user with these memberships."""
    pairs = set(pairs)
    return len(pairs), any(role == ESCALATION_ROLE for role, _ in pairs)


def inbox_params(pairs: Iterable[tuple[str, int]], user_id: int) -> dict[str, object]:
    """The values of `inbox_branches`'s parameters for this user."""
    params: dict[str, object] = {"inbox_user": user_id}
    for i, (role, unit) in enumerate(sorted(set(pairs))):
        params[f"scope_role_{i}"], params[f"scope_unit_{i}"] = role, unit
    units = sorted(unit for role, unit in set(pairs) if role == ESCALATION_ROLE)
    if units:
        params["escalation_units"] = units
    return params
