"""Roles as data: the role table, read for routing and deployment, extended by admins."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, inputs
from .errors import Conflict, Invalid
from .inputs import column_length
from .models import OrgUnit, Role
from .routing import ADMIN_ROLE, SCOPE_KEYS

KEY_RE = re.compile(rf"[a-z][a-z0-9_]{{1,{column_length(Role.key) - 1}}}")
NAME_MAX = column_length(Role.name_zh)


def all_roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.created_at, Role.key)))


def role_keys(session: Session) -> set[str]:
    return set(session.scalars(select(Role.key)))


def scope_keys(session: Session) -> dict[str, str]:
    """role -> the start data key that names its org unit (by the role's unit kind)."""
    rows = session.execute(select(Role.key, Role.unit_kind)).all()
    return {key: SCOPE_KEYS[kind] for key, kind in rows if key != ADMIN_ROLE and kind in SCOPE_KEYS}


def create_role(
    session: Session, key: str, name_zh: str, name_en: str, unit_kind: str, actor_id: int | None
) -> Role:
    errors = {}
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        errors["key"] = "角色代码应为小写字母开头的字母、数字或下划线（2–32 位）"
    for field, value in (("name_zh", name_zh), ("name_en", name_en)):
        problem = inputs.text_problem(value, NAME_MAX)  # the API's schema checks the same
        if problem is not None:
            errors[field] = problem.message
    if unit_kind not in SCOPE_KEYS:
        errors["unit_kind"] = "单位类型应为：" + "、".join(SCOPE_KEYS)
    if errors:
        raise Invalid("invalid role", errors)
    if session.get(Role, key) is not None:
        raise Conflict(f"role {key} exists")
    role = Role(key=key, name_zh=name_zh.strip(), name_en=name_en.strip(), unit_kind=unit_kind)
    session.add(role)
    session.flush()
    audit.record(session, "role.created", actor_id=actor_id, key=key, unit_kind=unit_kind)
    return role


def membership_problem(session: Session, role_key: str, unit: OrgUnit) -> str | None:
    """Why a user may not hold `role_key` at `unit` (None: they may): the role must exist and
    belong to org units of the unit's kind (a committee member sits at a community)."""
    role = session.get(Role, role_key)
    if role is None:
        return f"未知角色 unknown role {role_key}"
    if role.unit_kind != unit.kind:
        return (
            f"角色 {role.name_zh} 只能设在 {role.unit_kind} 类单位 "
            f"role {role_key} belongs to org units of kind {role.unit_kind}, not {unit.kind}"
        )
    return None
