"""Org units, catalog and users: everyone signed in may read units and catalog; admins write."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from handoff import catalog
from handoff import requests as handoff
from handoff.models import CatalogItem
from workflows import accounts, audit, clock, roles
from workflows.errors import Conflict, Invalid, NotFound
from workflows.models import ApiToken, Membership, OrgUnit, User
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


def _unit(session, code: str | None, field: str = "parent") -> OrgUnit | None:
    if code is None:
        return None
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise Invalid("unknown org unit", {field: f"未知单位 unknown org unit {code}"})
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
        if session.scalar(select(OrgUnit.id).where(OrgUnit.code == body["code"])):
            raise Conflict("org unit code already exists")
        unit = OrgUnit(code=body["code"], name=body["name"], kind=body["kind"])
        unit.parent = _unit(session, body.get("parent"))
        session.add(unit)
        session.flush()
        audit.record(session, "org_unit.created", actor_id=current_actor().user_id, code=unit.code)
        return unit


@blp.patch("/org-units/<code>")
@blp.arguments(OrgUnitPatch, required=False)
@blp.response(200, OrgUnitOut)
@admin_required
def patch_org_unit(body, code):
    with get_db().write() as session:
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if unit is None:
            raise NotFound("org unit not found")
        if "name" in body:
            unit.name = body["name"]
        if "parent" in body:
            parent = _unit(session, body["parent"])
            node = parent
            while node is not None:  # a unit may not become its own ancestor
                if node.id == unit.id:
                    raise Invalid("cycle", {"parent": "不能形成循环 would create a cycle"})
                node = node.parent
            unit.parent = parent
        audit.record(
            session, "org_unit.updated", actor_id=current_actor().user_id, code=code, **body
        )
        return unit


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
    with get_db().write() as session:
        if session.scalar(select(CatalogItem.id).where(CatalogItem.code == body["code"])):
            raise Conflict("catalog item code already exists")
        item = CatalogItem(**body)
        session.add(item)
        session.flush()  # the column defaults (effective period, funding standard) are set
        audit.record(session, "catalog.created", actor_id=current_actor().user_id, code=item.code)
        return item


@blp.patch("/catalog/items/<code>")
@blp.arguments(CatalogItemPatch, required=False)
@blp.response(200, CatalogItemOut)
@admin_required
def patch_catalog_item(body, code):
    with get_db().write() as session:
        item = catalog.current(session, code, handoff.today())
        if item is None:
            raise NotFound("catalog item not found")
        for key, value in body.items():
            setattr(item, key, value)
        audit.record(
            session, "catalog.updated", actor_id=current_actor().user_id, code=code, **body
        )
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


def _memberships(session, rows) -> list[Membership]:
    out = []
    for i, m in enumerate(rows):
        unit = _unit(session, m["org_unit"], f"memberships.{i}.org_unit")
        problem = roles.membership_problem(session, m["role"], unit)
        if problem:
            raise Invalid("invalid membership", {f"memberships.{i}.role": problem})
        out.append(Membership(role=m["role"], org_unit_id=unit.id))
    if len({(m.role, m.org_unit_id) for m in out}) != len(out):
        raise Invalid("duplicate membership", {"memberships": "重复 duplicate membership"})
    return out


def _reloaded(session, user: User) -> User:
    """The user with memberships and their units loaded, for answering after the session ends."""
    session.flush()
    session.expire(user, ["memberships"])
    for membership in user.memberships:
        _ = membership.org_unit.code
    return user


@blp.post("/users")
@blp.arguments(UserCreate)
@blp.response(201, UserOut)
@may_answer(409)
@admin_required
def create_user(body):
    with get_db().write() as session:
        if session.scalar(select(User.id).where(User.username == body["username"])):
            raise Conflict("username already exists")
        user = User(
            username=body["username"],
            display_name=body["display_name"],
            password_hash=accounts.hash_password(body["password"]),
        )
        user.memberships = _memberships(session, body["memberships"])
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict("username already exists") from None
        audit.record(
            session, "user.created", actor_id=current_actor().user_id, username=user.username
        )
        return _reloaded(session, user)


@blp.patch("/users/<username>")
@blp.arguments(UserPatch, required=False)
@blp.response(200, UserOut)
@admin_required
def patch_user(body, username):
    with get_db().write() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound("user not found")
        if "display_name" in body:
            user.display_name = body["display_name"]
        if "is_active" in body:
            user.is_active = body["is_active"]
        if "password" in body:
            user.password_hash = accounts.hash_password(body["password"])
        if "password" in body or body.get("is_active") is False:
            # a new password (or a disabled account) ends every session: stolen tokens too
            revoked = session.execute(
                update(ApiToken)
                .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=clock.now())
            ).rowcount
            if revoked:
                audit.record(
                    session,
                    "auth.tokens_revoked",
                    actor_id=current_actor().user_id,
                    username=username,
                    count=revoked,
                )
        if "memberships" in body:
            user.memberships.clear()
            session.flush()
            user.memberships.extend(_memberships(session, body["memberships"]))
        changed = sorted(k for k in body if k != "password") + (
            ["password"] if "password" in body else []
        )
        audit.record(
            session,
            "user.updated",
            actor_id=current_actor().user_id,
            username=username,
            changed=changed,
        )
        return _reloaded(session, user)
