"""Roles: what users hold at org units and tasks are routed to; admins add roles."""

from __future__ import annotations

from flask_smorest import Blueprint

from workflows import roles

from .. import get_db
from ..auth import admin_required, current_actor, login_required
from ..schemas import RoleIn, RoleOut, RolePage
from .contract import may_answer

blp = Blueprint("roles", __name__, description="角色 Roles")


@blp.get("/roles")
@blp.response(200, RolePage)
@login_required
def list_roles():
    with get_db().read() as session:
        items = roles.all_roles(session)
        return {"items": items, "total": len(items), "page": 1, "per_page": max(len(items), 1)}


@blp.post("/roles")
@blp.arguments(RoleIn)
@blp.response(201, RoleOut)
@may_answer(409)
@admin_required
def create_role(body):
    """Add a role: its key (used in BPMN candidate groups and lanes), Chinese and English
    names, and the kind of org unit its members belong to (community, street, department,
    finance, access_office, district)."""
    with get_db().write() as session:
        return roles.create_role(session, actor_id=current_actor().user_id, **body)
