"""Administration: users and memberships, org units, the catalog, process versions, roles.

Users, memberships, org units and catalog items are written by the same service functions as the
API's (`workflows.admin`, `handoff.catalog`): the pages read the form, call the action and show
its refusal next to the fields, worded by the catalogue (`i18n`, `admin.error.<reason>`) in the
page's language. So an input the API refuses is refused here too, and audited alike.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from handoff import catalog
from handoff import requests as handoff
from workflows import admin, audit, definitions, queries, roles
from workflows.errors import Conflict, Forbidden, Invalid, NotFound
from workflows.models import OrgUnit, ProcessDefinition, User
from workflows.routing import SCOPE_KEYS

from .. import get_db
from ..schemas import CATEGORIES, ORG_KINDS
from . import i18n, signin
from .blueprint import PER_PAGE, bp, int_arg, pager
from .i18n import t

admin_only = signin.role_required("admin")


def _units(session) -> list[OrgUnit]:
    return list(session.scalars(select(OrgUnit).order_by(OrgUnit.code)))


def _field(name: str) -> str:
    """A posted text field, trimmed (at most 1000 characters are looked at)."""
    return request.form.get(name, "")[:1000].strip()


def refusal(exc: Exception, prefix: str = "") -> tuple[dict[str, str], int]:
    """The service's refusal as the page shows it: a message from the catalogue next to each
    field named (`prefix` dropped: memberships.0.role -> role), and the status to answer."""
    errors = {}
    params = admin.params_of(exc)
    for field, reason in admin.reasons_of(exc).items():
        wording = params.get(field, {})  # the limit of a too long text
        errors[field.removeprefix(prefix)] = t(f"admin.error.{reason}", **wording)
    if not errors:  # not worded by the service: the form as a whole
        errors["_form"] = t("admin.error.invalid")
    status = 409 if isinstance(exc, Conflict) else 403 if isinstance(exc, Forbidden) else 422
    return errors, status


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
    values = {k: _field(k) for k in ("username", "display_name", "role", "org_unit")}
    membership = (values["role"], values["org_unit"])
    try:
        with get_db().write() as session:
            admin.create_user(
                session,
                username=values["username"],
                display_name=values["display_name"],
                password=request.form.get("password", ""),
                memberships=[membership] if any(membership) else [],
                actor_id=signin.actor().user_id,
            )
    except (Invalid, Conflict) as exc:
        # the form has one membership: memberships.0.role -> role
        return _render_users(values, *refusal(exc, prefix="memberships.0."))
    flash(t("common.created"), "ok")
    return redirect(url_for("web.admin_user", username=values["username"]))


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
    changes = {"is_active": request.form.get("active") == "1"}
    try:
        with get_db().write() as session:
            admin.update_user(session, username, changes, actor_id=signin.actor().user_id)
    except admin.SelfDeactivation as exc:
        return _render_user(username, *refusal(exc))
    flash(t("common.saved"), "ok")
    return redirect(url_for("web.admin_user", username=username))


@bp.post("admin/users/<username>/email")
@admin_only
def admin_user_email(username: str):
    changes = {"email": _field("email")}
    try:
        with get_db().write() as session:
            admin.update_user(session, username, changes, actor_id=signin.actor().user_id)
    except Invalid as exc:
        return _render_user(username, *refusal(exc))
    flash(t("common.saved"), "ok")
    return redirect(url_for("web.admin_user", username=username))


@bp.post("admin/users/<username>/memberships")
@admin_only
def admin_add_membership(username: str):
    role, code = _field("role"), _field("org_unit")
    try:
        with get_db().write() as session:
            admin.add_membership(session, username, role, code, actor_id=signin.actor().user_id)
    except (Invalid, Conflict) as exc:
        return _render_user(username, *refusal(exc))
    flash(t("common.saved"), "ok")
    return redirect(url_for("web.admin_user", username=username))


@bp.post("admin/users/<username>/memberships/<int:membership_id>/delete")
@admin_only
def admin_remove_membership(username: str, membership_id: int):
    with get_db().write() as session:
        admin.remove_membership(session, username, membership_id, actor_id=signin.actor().user_id)
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
    values = {k: _field(k) for k in ("code", "name", "legal_name", "kind", "parent")}
    try:
        with get_db().write() as session:
            admin.create_org_unit(
                session,
                code=values["code"],
                name=values["name"],
                legal_name=values["legal_name"],
                kind=values["kind"],
                parent=values["parent"] or None,
                actor_id=signin.actor().user_id,
            )
    except (Invalid, Conflict) as exc:
        return _render_units(values, *refusal(exc))
    flash(t("common.created"), "ok")
    return redirect(url_for("web.admin_org_units"))


def _render_unit(code: str, values=None, errors=None, status=200):
    with get_db().read() as session:
        unit = admin.unit_by_code(session, code)
        if unit is None:
            raise NotFound("org unit not found")
        shown = values or {
            "name": unit.name,
            "legal_name": unit.legal_name or "",
            "parent": unit.parent.code if unit.parent else "",
        }
        return render_template(
            "admin/org_unit.html",
            unit=unit,
            units=[u for u in _units(session) if u.id != unit.id],
            values=shown,
            errors=errors or {},
        ), status


@bp.get("admin/org-units/<code>")
@admin_only
def admin_org_unit(code: str):
    return _render_unit(code)


@bp.post("admin/org-units/<code>")
@admin_only
def admin_update_org_unit(code: str):
    values = {k: _field(k) for k in ("name", "legal_name", "parent")}
    changes = {**values, "parent": values["parent"] or None}
    try:
        with get_db().write() as session:
            admin.update_org_unit(session, code, changes, actor_id=signin.actor().user_id)
    except Invalid as exc:
        return _render_unit(code, values, *refusal(exc))
    flash(t("common.saved"), "ok")
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
    values = {k: _field(k) for k in ("code", "name", "category", "legal_basis")}
    item = {k: v for k, v in values.items() if k != "code"} | {"active": True}
    try:
        with get_db().write() as session:
            catalog.create_item(session, values["code"], item, actor_id=signin.actor().user_id)
    except (Invalid, Conflict) as exc:
        return _render_catalog(values, *refusal(exc))
    flash(t("common.created"), "ok")
    return redirect(url_for("web.admin_catalog"))


def _render_item(code: str, values=None, errors=None, status=200):
    with get_db().read() as session:
        item = catalog.current(session, code, handoff.today())
        if item is None:
            raise NotFound("catalog item not found")
        shown = values or {
            "name": item.name,
            "category": item.category,
            "legal_basis": item.legal_basis,
            "active": item.active,
        }
        return render_template(
            "admin/catalog_item.html",
            item=item,
            values=shown,
            categories=CATEGORIES,
            errors=errors or {},
        ), status


@bp.get("admin/catalog/<code>")
@admin_only
def admin_item(code: str):
    return _render_item(code)


@bp.post("admin/catalog/<code>")
@admin_only
def admin_update_item(code: str):
    values: dict[str, Any] = {k: _field(k) for k in ("name", "category", "legal_basis")}
    values["active"] = request.form.get("active") == "1"
    try:
        with get_db().write() as session:
            catalog.update_item(
                session, code, values, handoff.today(), actor_id=signin.actor().user_id
            )
    except Invalid as exc:
        return _render_item(code, values, *refusal(exc))
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
