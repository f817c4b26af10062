"""Org units, catalog and users: everyone signed in may read units and catalog; admins write.

The writes parse their body and call the one service function of each action
(`workflows.admin`, `handoff.catalog`), as the admin pages do: validation, audit and refusals
are the service's.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import or_, select

from handoff import catalog
from handoff import requests as handoff
from handoff.models import CatalogItem
from workflows import admin
from workflows.errors import Invalid
from workflows.models import OrgUnit, User
from workflows.queries import like_pattern, paged

from .. import get_db
from ..auth import admin_required, current_actor, login_required
from ..schemas import (
    CatalogItemCreate,
    CatalogItemOut,
    CatalogItemPatch,
    CatalogPage,
    CatalogQuery,
    ListQuery,
    OrgUnitCreate,
    OrgUnitOut,
    OrgUnitPage,
    OrgUnitPatch,
    OrgUnitQuery,
    UserCreate,
    UserOut,
    UserPage,
    UserPatch,
)
from .contract import may_answer
from .paging import page_body

blp = Blueprint("admin", __name__, description="组织、事项清单与用户 Org units, catalog and users")


def _unit(session, code: str) -> OrgUnit:
    unit = admin.unit_by_code(session, code)
    if unit is None:
        raise Invalid("unknown org unit", {"parent": f"未知单位 unknown org unit {code}"})
    return unit


# --- org units ------------------------------------------------------------------------------


@blp.get("/org-units")
@blp.arguments(OrgUnitQuery, location="query")
@blp.response(200, OrgUnitPage)
@login_required
def list_org_units(q):
    """Org units (district → streets → communities; departments and offices)."""
    with get_db().read() as session:
        stmt = select(OrgUnit)
        if q.get("kind"):
            stmt = stmt.where(OrgUnit.kind == q["kind"])
        if q.get("parent"):
            parent = _unit(session, q["parent"])
            stmt = stmt.where(OrgUnit.parent_id == parent.id)
        order = OrgUnit.code.asc() if q["order"] == "asc" else OrgUnit.code.desc()
        return page_body(paged(session, stmt.order_by(order), q["page"], q["per_page"]))


@blp.post("/org-units")
@blp.arguments(OrgUnitCreate)
@blp.response(201, OrgUnitOut)
@may_answer(409)
@admin_required
def create_org_unit(body):
    with get_db().write() as session:
        return admin.create_org_unit(session, **body, actor_id=current_actor().user_id)


@blp.patch("/org-units/<code>")
@blp.arguments(OrgUnitPatch, required=False)
@blp.response(200, OrgUnitOut)
@admin_required
def patch_org_unit(body, code):
    with get_db().write() as session:
        return admin.update_org_unit(session, code, body, actor_id=current_actor().user_id)


# --- catalog --------------------------------------------------------------------------------


@blp.get("/catalog/items")
@blp.arguments(CatalogQuery, location="query")
@blp.response(200, CatalogPage)
@login_required
def list_catalog(q):
    """事项清单: the catalog in force today (`on`: another day; `history`: every entry, with
    its effective period, as the annual review keeps them)."""
    day = None if q.get("history") else (q.get("on") or handoff.today())
    stmt = catalog.listing(day, q.get("category"), q.get("q"))
    if q["order"] == "desc":
        stmt = stmt.order_by(None).order_by(CatalogItem.code.desc())
    with get_db().read() as session:
        return page_body(paged(session, stmt, q["page"], q["per_page"]))


@blp.post("/catalog/items")
@blp.arguments(CatalogItemCreate)
@blp.response(201, CatalogItemOut)
@may_answer(409)
@admin_required
def create_catalog_item(body):
    values = {k: v for k, v in body.items() if k != "code"}
    with get_db().write() as session:
        return catalog.create_item(session, body["code"], values, actor_id=current_actor().user_id)


@blp.patch("/catalog/items/<code>")
@blp.arguments(CatalogItemPatch, required=False)
@blp.response(200, CatalogItemOut)
@admin_required
def patch_catalog_item(body, code):
    """Change an entry; `terms` (the words and synonyms a request's text is screened for) are
    set as a whole."""
    terms = body.pop("terms", None)
    actor_id, today = current_actor().user_id, handoff.today()
    with get_db().write() as session:
        item = catalog.update_item(session, code, body, today, actor_id=actor_id)
        if terms is not None:
            item = catalog.set_terms(session, code, terms, today, actor_id)
        return item


# --- users ----------------------------------------------------------------------------------


@blp.get("/users")
@blp.arguments(ListQuery, location="query")
@blp.response(200, UserPage)
@admin_required
def list_users(q):
    with get_db().read() as session:
        stmt = select(User)
        if q.get("q"):
            like = like_pattern(q["q"])
            stmt = stmt.where(
                or_(
                    User.username.ilike(like, escape="\\"),
                    User.display_name.ilike(like, escape="\\"),
                )
            )
        order = User.username.asc() if q["order"] == "asc" else User.username.desc()
        return page_body(paged(session, stmt.order_by(order), q["page"], q["per_page"]))


def _pairs(rows) -> list[tuple[str, str]]:
    return [(m["role"], m["org_unit"]) for m in rows]


@blp.post("/users")
@blp.arguments(UserCreate)
@blp.response(201, UserOut)
@may_answer(409)
@admin_required
def create_user(body):
    with get_db().write() as session:
        return admin.create_user(
            session,
            username=body["username"],
            display_name=body["display_name"],
            password=body["password"],
            memberships=_pairs(body["memberships"]),
            email=body.get("email"),
            actor_id=current_actor().user_id,
        )


@blp.patch("/users/<username>")
@blp.arguments(UserPatch, required=False)
@blp.response(200, UserOut)
@admin_required
def patch_user(body, username):
    """A new password or a deactivation ends every API token of the user; nobody deactivates
    their own account (403). `email`: where the user's notifications are mailed (null: none)."""
    changes = dict(body)
    if "memberships" in changes:
        changes["memberships"] = _pairs(changes["memberships"])
    with get_db().write() as session:
        return admin.update_user(session, username, changes, actor_id=current_actor().user_id)
