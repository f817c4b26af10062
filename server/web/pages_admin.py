"""Administration: users and memberships, org units, the catalog, process versions, roles.

Input is checked with the API's own marshmallow schemas, so the pages accept exactly what the API
accepts; every change is audited like the API's.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import or_, select

from handoff import catalog
from handoff import requests as handoff
from handoff.models import CatalogItem
from workflows import accounts, audit, definitions, queries, roles
from workflows.errors import Conflict, Forbidden, Invalid, NotFound
from workflows.models import Membership, OrgUnit, ProcessDefinition, User
from workflows.routing import SCOPE_KEYS

from .. import get_db
from ..errors import flatten_fields
from ..schemas import (
    CATEGORIES,
    ORG_KINDS,
    CatalogItemCreate,
    CatalogItemPatch,
    OrgUnitCreate,
    UserCreate,
)
from . import i18n, signin
from .blueprint import PER_PAGE, bp, int_arg, pager
from .i18n import t

admin_only = signin.role_required("admin")


def _units(session) -> list[OrgUnit]:
    return list(session.scalars(select(OrgUnit).order_by(OrgUnit.code)))


def _unit_id(session, code: str) -> int | None:
    return session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


@bp.get("admin")
@admin_only
def admin_home():
    return redirect(url_for("web.admin_users"))


# --- users ----------------------------------------------------------------------------------


def _render_users(values=None, errors=None, status=200):
    q = (request.args.get("q") or "").strip()[:200]
    with get_db().read() as session:
        stmt = select(User).order_by(User.username)
        if q:
            like = queries.like_pattern(q)
            stmt = stmt.where(
                or_(
                    User.username.ilike(like, escape="\\"),
                    User.display_name.ilike(like, escape="\\"),
                )
            )
        page = queries.paged(session, stmt, int_arg("page"), PER_PAGE)
        return render_template(
            "admin/users.html",
            page=page,
            pages=pager(page, "web.admin_users"),
            q=q,
            units=_units(session),
            roles=sorted(roles.role_keys(session)),
            values=values or {},
            errors=errors or {},
        ), status


@bp.get("admin/users")
@admin_only
def admin_users():
    return _render_users()


@bp.post("admin/users")
@admin_only
def admin_create_user():
    values = {k: request.form.get(k, "").strip() for k in ("username", "display_name", "role")}
    values["org_unit"] = request.form.get("org_unit", "").strip()
    body: dict[str, Any] = {
        "username": values["username"],
        "display_name": values["display_name"],
        "password": request.form.get("password", ""),
        "memberships": (
            [{"role": values["role"], "org_unit": values["org_unit"]}]
            if values["role"] or values["org_unit"]
            else []
        ),
    }
    try:
        data = UserCreate().load(body)
    except ValidationError as exc:
        return _render_users(values, _flat(exc.messages), 422)
    with get_db().write() as session:
        if session.scalar(select(User.id).where(User.username == data["username"])):
            return _render_users(values, {"username": t("admin.user_exists")}, 409)
        memberships = []
        for m in data["memberships"]:
            unit = _unit_id(session, m["org_unit"])
            if unit is None:
                return _render_users(values, {"org_unit": m["org_unit"]}, 422)
            memberships.append(Membership(role=m["role"], org_unit_id=unit))
        user = User(
            username=data["username"],
            display_name=data["display_name"],
            password_hash=accounts.hash_password(data["password"]),
        )
        user.memberships = memberships
        session.add(user)
        session.flush()
        audit.record(
            session, "user.created", actor_id=signin.actor().user_id, username=user.username
        )
    flash(t("common.created"), "ok")
    return redirect(url_for("web.admin_user", username=data["username"]))


def _flat(messages) -> dict[str, str]:
    fields = flatten_fields(messages)
    for key in list(fields):  # memberships.0.role -> role
        if key.startswith("memberships.0."):
            fields[key.rsplit(".", 1)[-1]] = fields.pop(key)
    return fields


def _user(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("user not found")
    return user


def _render_user(username: str, errors=None, status=200):
    with get_db().read() as session:
        user = _user(session, username)
        return render_template(
            "admin/user.html",
            user=user,
            units=_units(session),
            roles=sorted(roles.role_keys(session)),
            errors=errors or {},
        ), status


@bp.get("admin/users/<username>")
@admin_only
def admin_user(username: str):
    return _render_user(username)


@bp.post("admin/users/<username>/active")
@admin_only
def admin_user_active(username: str):
    active = request.form.get("active") == "1"
    me = signin.actor()
    with get_db().write() as session:
        user = _user(session, username)
        if user.id == me.user_id and not active:
            raise Forbidden(t("admin.cannot_deactivate_self"))
        user.is_active = active
        audit.record(
            session,
            "user.updated",
            actor_id=me.user_id,
            username=username,
            changed=["is_active"],
        )
    flash(t("common.saved"), "ok")
    return redirect(url_for("web.admin_user", username=username))


@bp.post("admin/users/<username>/memberships")
@admin_only
def admin_add_membership(username: str):
    role = request.form.get("role", "")
    code = request.form.get("org_unit", "")
    with get_db().write() as session:
        if role not in roles.role_keys(session):
            return _render_user(username, {"role": t("common.required")}, 422)
        user = _user(session, username)
        unit = _unit_id(session, code)
        if unit is None:
            return _render_user(username, {"org_unit": t("common.required")}, 422)
        if roles.membership_problem(session, role, session.get(OrgUnit, unit)):
            return _render_user(username, {"role": t("admin.role_unit_kind")}, 422)
        if any(m.role == role and m.org_unit_id == unit for m in user.memberships):
            return _render_user(username, {"role": t("admin.membership_exists")}, 409)
        user.memberships.append(Membership(role=role, org_unit_id=unit))
        audit.record(
            session,
            "user.updated",
            actor_id=signin.actor().user_id,
            username=username,
            changed=["memberships"],
            added={"role": role, "org_unit": code},
        )
    flash(t("common.saved"), "ok")
    return redirect(url_for("web.admin_user", username=username))


@bp.post("admin/users/<username>/memberships/<int:membership_id>/delete")
@admin_only
def admin_remove_membership(username: str, membership_id: int):
    with get_db().write() as session:
        user = _user(session, username)
        membership = next((m for m in user.memberships if m.id == membership_id), None)
        if membership is None:
            raise NotFound("membership not found")
        removed = {"role": membership.role, "org_unit": membership.org_unit.code}
        user.memberships.remove(membership)
        audit.record(
            session,
            "user.updated",
            actor_id=signin.actor().user_id,
            username=username,
            changed=["memberships"],
            removed=removed,
        )
    flash(t("common.saved"), "ok")
    return redirect(url_for("web.admin_user", username=username))


# --- org units ------------------------------------------------------------------------------


def _render_units(values=None, errors=None, status=200):
    with get_db().read() as session:
        units = _units(session)
        children: dict[int | None, list[OrgUnit]] = defaultdict(list)
        for unit in units:
            children[unit.parent_id].append(unit)
        tree: list[tuple[int, OrgUnit]] = []

        def walk(parent_id: int | None, depth: int) -> None:
            for unit in children.get(parent_id, []):
                tree.append((depth, unit))
                walk(unit.id, depth + 1)

        walk(None, 0)
        return render_template(
            "admin/org_units.html",
            tree=tree,
            units=units,
            kinds=ORG_KINDS,
            children={k: len(v) for k, v in children.items()},
            values=values or {},
            errors=errors or {},
        ), status


@bp.get("admin/org-units")
@admin_only
def admin_org_units():
    return _render_units()


@bp.post("admin/org-units")
@admin_only
def admin_create_org_unit():
    values = {k: request.form.get(k, "").strip() for k in ("code", "name", "kind", "parent")}
    body = {**values, "parent": values["parent"] or None}
    try:
        data = OrgUnitCreate().load(body)
    except ValidationError as exc:
        return _render_units(values, flatten_fields(exc.messages), 422)
    with get_db().write() as session:
        if _unit_id(session, data["code"]) is not None:
            return _render_units(values, {"code": t("admin.code_exists")}, 409)
        parent_id = None
        if data.get("parent"):
            parent_id = _unit_id(session, data["parent"])
            if parent_id is None:
                return _render_units(values, {"parent": data["parent"]}, 422)
        unit = OrgUnit(code=data["code"], name=data["name"], kind=data["kind"])
        unit.parent_id = parent_id
        session.add(unit)
        session.flush()
        audit.record(session, "org_unit.created", actor_id=signin.actor().user_id, code=unit.code)
    flash(t("common.created"), "ok")
    return redirect(url_for("web.admin_org_units"))


# --- catalog --------------------------------------------------------------------------------


def _render_catalog(values=None, errors=None, status=200):
    category = request.args.get("category", "")
    q = (request.args.get("q") or "").strip()[:200]
    stmt = catalog.listing(
        None if request.args.get("history") else handoff.today(),
        category if category in CATEGORIES else None,
        q or None,
    )
    with get_db().read() as session:
        page = queries.paged(session, stmt, int_arg("page"), 50)
        return render_template(
            "admin/catalog.html",
            page=page,
            pages=pager(page, "web.admin_catalog"),
            categories=CATEGORIES,
            category=category,
            q=q,
            values=values or {},
            errors=errors or {},
        ), status


@bp.get("admin/catalog")
@admin_only
def admin_catalog():
    return _render_catalog()


@bp.post("admin/catalog")
@admin_only
def admin_create_item():
    values = {
        k: request.form.get(k, "").strip() for k in ("code", "name", "category", "legal_basis")
    }
    try:
        data = CatalogItemCreate().load({**values, "active": True})
    except ValidationError as exc:
        return _render_catalog(values, flatten_fields(exc.messages), 422)
    with get_db().write() as session:
        if session.scalar(select(CatalogItem.id).where(CatalogItem.code == data["code"])):
            return _render_catalog(values, {"code": t("admin.code_exists")}, 409)
        session.add(CatalogItem(**data))
        audit.record(session, "catalog.created", actor_id=signin.actor().user_id, code=data["code"])
    flash(t("common.created"), "ok")
    return redirect(url_for("web.admin_catalog"))


def _item(session, code: str) -> CatalogItem:
    item = catalog.current(session, code, handoff.today())
    if item is None:
        raise NotFound("catalog item not found")
    return item


@bp.get("admin/catalog/<code>")
@admin_only
def admin_item(code: str):
    with get_db().read() as session:
        item = _item(session, code)
        values = {
            "name": item.name,
            "category": item.category,
            "legal_basis": item.legal_basis,
            "active": item.active,
        }
        return render_template(
            "admin/catalog_item.html",
            item=item,
            values=values,
            categories=CATEGORIES,
            errors={},
        )


@bp.post("admin/catalog/<code>")
@admin_only
def admin_update_item(code: str):
    values: dict[str, Any] = {
        k: request.form.get(k, "").strip() for k in ("name", "category", "legal_basis")
    }
    values["active"] = request.form.get("active") == "1"
    try:
        data = CatalogItemPatch().load(values)
    except ValidationError as exc:
        with get_db().read() as session:
            item = _item(session, code)
            return render_template(
                "admin/catalog_item.html",
                item=item,
                values=values,
                categories=CATEGORIES,
                errors=flatten_fields(exc.messages),
            ), 422
    with get_db().write() as session:
        item = _item(session, code)
        for key, value in data.items():
            setattr(item, key, value)
        audit.record(session, "catalog.updated", actor_id=signin.actor().user_id, code=code, **data)
    flash(t("common.saved"), "ok")
    return redirect(url_for("web.admin_catalog"))


# --- process versions -----------------------------------------------------------------------


def _render_processes(problems=None, error: str | None = None, status: int = 200):
    with get_db().read() as session:
        rows = list(
            session.scalars(
                select(ProcessDefinition).order_by(
                    ProcessDefinition.key, ProcessDefinition.version.desc()
                )
            )
        )
        people = {
            u.id: u
            for u in session.scalars(
                select(User).where(User.id.in_({d.deployed_by_id for d in rows}))
            )
        }
        return render_template(
            "admin/processes.html",
            rows=rows,
            instance_counts=queries.instance_counts(session),
            in_force=definitions.released_ids(session),
            people=people,
            error=error,
            problems=problems or [],
        ), status


@bp.get("admin/processes")
@admin_only
def admin_processes():
    return _render_processes()


@bp.post("admin/processes")
@admin_only
def admin_deploy():
    upload = request.files.get("file")
    xml = upload.read() if upload is not None else b""
    if not xml:
        return _render_processes(error=t("admin.no_file"), status=422)
    actor_id = signin.actor().user_id
    try:
        with get_db().write() as session:
            definition, created = definitions.deploy(
                session, xml, actor_id, roles=roles.role_keys(session)
            )
            if created:
                audit.record(
                    session,
                    "definition.deployed",
                    actor_id=actor_id,
                    key=definition.key,
                    version=definition.version,
                )
            key, version = definition.key, definition.version
    except definitions.DefinitionError as exc:
        return _render_processes(problems=exc.problems, status=422)
    except UnicodeDecodeError:
        return _render_processes(error=t("admin.not_utf8"), status=422)
    message = "admin.deployed_flash" if created else "admin.unchanged_flash"
    flash(t(message, process=key, version=version), "ok")
    return redirect(url_for("web.admin_processes"))


# --- roles ----------------------------------------------------------------------------------


def _render_roles(values=None, errors=None, status=200):
    with get_db().read() as session:
        return render_template(
            "admin/roles.html",
            rows=roles.all_roles(session),
            kinds=list(SCOPE_KEYS),
            values=values or {},
            errors=errors or {},
        ), status


@bp.get("admin/roles")
@admin_only
def admin_roles():
    return _render_roles()


@bp.post("admin/roles")
@admin_only
def admin_create_role():
    values = {
        "key": request.form.get("key", "").strip()[:64],
        "name_zh": request.form.get("name_zh", "").strip()[:200],
        "name_en": request.form.get("name_en", "").strip()[:200],
        "unit_kind": request.form.get("unit_kind", "").strip()[:64],
    }
    try:
        with get_db().write() as session:
            role = roles.create_role(session, actor_id=signin.actor().user_id, **values)
            name = role.name_en if i18n.lang() == "en" else role.name_zh
    except Invalid as exc:
        # the service's messages are Chinese; the page says the same in its own language
        errors = {k: t(f"admin.role_error.{k}") for k in (exc.fields or {})}
        return _render_roles(values, errors or {"key": t("admin.role_error.key")}, 422)
    except Conflict:
        return _render_roles(values, {"key": t("admin.role_exists")}, 409)
    flash(t("admin.role_created_flash", name=name), "ok")
    return redirect(url_for("web.admin_roles"))
