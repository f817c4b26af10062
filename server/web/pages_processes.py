"""Processes beside the handoff: 发起流程 (what the user may start), a process's page (diagram,
versions, instances; admins suspend, activate and choose the version in force), its start form,
and 我的流程 (the instances the user may read).

Starting goes through `workflows.starting.start_process`, the API's own write path, so the pages
accept exactly what `POST /process-definitions/{key}/start` accepts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from workflows import audit, definitions, plugins, queries, starting
from workflows.errors import Conflict, EngineFailure, Forbidden, FormErrors, Invalid, NotFound
from workflows.models import ProcessDefinition, User
from workflows.service import Actor

from .. import get_db
from . import formview, signin
from .blueprint import PER_PAGE, bp, int_arg, pager
from .i18n import t
from .pages_diagrams import process_card

log = logging.getLogger(__name__)

# processes started from a page of their own: key -> (endpoint, role that page requires)
OWN_START_PAGES = {"handoff": ("web.new_request", "department")}
STATES = ("running", "completed", "cancelled", "error")


@dataclass
class Entry:
    """A process as the user meets it: its version in force and whether they may start it."""

    key: str
    definition: ProcessDefinition
    parsed: definitions.ParsedProcess
    start_url: str | None
    # why not, as an i18n key (None when start_url is set)
    reason: str | None

    @property
    def name(self) -> str:
        return self.parsed.name

    @property
    def starter_roles(self) -> list[str]:
        return sorted(self.parsed.starter_roles)


def _own_start(key: str) -> bool:
    return key in OWN_START_PAGES or plugins.for_process(key).own_start


def _entry(actor: Actor, key: str, definition: ProcessDefinition) -> Entry:
    parsed = definitions.loaded(definition)
    if definition.suspended:
        return Entry(key, definition, parsed, None, "processes.suspended")
    if key in OWN_START_PAGES:
        endpoint, role = OWN_START_PAGES[key]
        if actor.has_role(role) and starting.may_start(actor, parsed):
            return Entry(key, definition, parsed, url_for(endpoint), None)
        return Entry(key, definition, parsed, None, "processes.not_yours")
    if _own_start(key):
        return Entry(key, definition, parsed, None, "processes.own_page")
    if not starting.may_start(actor, parsed):
        return Entry(key, definition, parsed, None, "processes.not_yours")
    return Entry(key, definition, parsed, url_for("web.process_start", key=key), None)


def _keys(session) -> list[str]:
    return sorted(set(session.scalars(select(ProcessDefinition.key).distinct())))


def _versions(session, key: str) -> list[ProcessDefinition]:
    return list(
        session.scalars(
            select(ProcessDefinition)
            .where(ProcessDefinition.key == key)
            .order_by(ProcessDefinition.version.desc())
        )
    )


def _people(session, ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


# --- 发起流程 ------------------------------------------------------------------------------


@bp.get("processes")
@signin.login_required
def processes():
    actor = signin.actor()
    entries = []
    with get_db().read() as session:
        for key in _keys(session):
            definition = definitions.in_force(session, key)
            if definition is None:
                continue
            try:
                entry = _entry(actor, key, definition)
            except Exception:  # noqa: BLE001 - a version that no longer parses is not offered
                log.exception("process %s version %s does not load", key, definition.version)
                continue
            if entry.start_url:
                entries.append(entry)
        entries.sort(key=lambda e: (e.key != "handoff", e.name, e.key))
        return render_template("processes.html", entries=entries)


# --- a process's page -----------------------------------------------------------------------


@bp.get("processes/<key>")
@signin.login_required
def process_page(key: str):
    actor = signin.actor()
    with get_db().read() as session:
        versions = _versions(session, key)
        if not versions:
            raise NotFound("no such process")
        current = definitions.in_force(session, key)
        entry = _entry(actor, key, current)
        released = definitions.released_ids(session)
        page = queries.instances(
            session,
            actor,
            queries.InstanceFilter(process=key),
            page=int_arg("page"),
            per_page=PER_PAGE,
        )
        return render_template(
            "process.html",
            entry=entry,
            current=current,
            versions=versions,
            in_force=released,
            instance_counts=queries.instance_counts(session) if actor.is_admin else {},
            people=_people(session, [v.deployed_by_id for v in versions]),
            diagram=process_card(current),
            tasks=list(entry.parsed.user_tasks.values()),
            page=page,
            pages=pager(page, "web.process_page", key=key),
            open_tasks=queries.open_tasks_by_instance(session, [i.id for i in page.items]),
            starters=_people(session, [i.started_by_id for i in page.items]),
            is_admin=actor.is_admin,
        )


def _admin_change(key: str, definition_id: int, action: str, change, flash_key: str):
    actor = signin.actor()
    if not actor.is_admin:
        raise Forbidden("administrators only")
    with get_db().write() as session:
        definition = session.get(ProcessDefinition, definition_id)
        if definition is None or definition.key != key:
            raise NotFound("no such version")
        change(session, definition)
        audit.record(
            session,
            action,
            actor_id=actor.user_id,
            key=definition.key,
            version=definition.version,
        )
        name, version = definition.name, definition.version
    flash(t(flash_key, name=name, version=version), "ok")
    default = url_for("web.process_page", key=key)
    return redirect(signin.safe_next(request.form.get("next"), default))


@bp.post("processes/<key>/versions/<int:definition_id>/suspend")
@signin.login_required
def process_suspend(key: str, definition_id: int):
    return _admin_change(
        key,
        definition_id,
        "definition.suspended",
        lambda session, d: definitions.set_suspended(session, d, True),
        "process.suspended_flash",
    )


@bp.post("processes/<key>/versions/<int:definition_id>/activate")
@signin.login_required
def process_activate(key: str, definition_id: int):
    return _admin_change(
        key,
        definition_id,
        "definition.activated",
        lambda session, d: definitions.set_suspended(session, d, False),
        "process.activated_flash",
    )


@bp.post("processes/<key>/versions/<int:definition_id>/release")
@signin.login_required
def process_release(key: str, definition_id: int):
    actor_id = signin.actor().user_id
    return _admin_change(
        key,
        definition_id,
        "definition.released",
        lambda session, d: definitions.release(session, d, actor_id),
        "process.released_flash",
    )


# --- the start form -------------------------------------------------------------------------


def _refusal(status: int, message_key: str):
    from . import _error_page

    return _error_page(status, t(message_key))


def _startable(session, actor: Actor, key: str):
    """(definition, None) when the actor may start `key` now, else (None, error response)."""
    definition = definitions.in_force(session, key)
    if definition is None:
        raise NotFound("no such process")
    if definition.suspended:
        return None, _refusal(409, "start.suspended")
    if _own_start(key):
        return None, _refusal(409, "start.own_page")
    if not starting.may_start(actor, definitions.loaded(definition)):
        return None, _refusal(403, "start.forbidden")
    return definition, None


def _render_start(key: str, *, values=None, errors=None, message=None, status=200):
    actor = signin.actor()
    with get_db().read() as session:
        definition, refused = _startable(session, actor, key)
        if refused is not None:
            return refused
        parsed = definitions.loaded(definition)
        form = formview.with_unit_choices(session, parsed.start_form.describe())
        return render_template(
            "process_start.html",
            key=key,
            definition=definition,
            parsed=parsed,
            form=form,
            values=values if values is not None else formview.defaults(form),
            errors=errors or {},
            message=message,
        ), status


@bp.get("processes/<key>/start")
@signin.login_required
def process_start(key: str):
    if key in OWN_START_PAGES and signin.actor().has_role(OWN_START_PAGES[key][1]):
        return redirect(url_for(OWN_START_PAGES[key][0]))
    return _render_start(key)


@bp.post("processes/<key>/start")
@signin.login_required
def process_start_submit(key: str):
    actor = signin.actor()
    with get_db().read() as session:
        definition, refused = _startable(session, actor, key)
        if refused is not None:
            return refused
        form = definitions.loaded(definition).start_form.describe()
        name = definition.name
    values = formview.posted_values(form)
    # whole, not cut to its limit: the service refuses a key that is too long (not the page)
    business_key = request.form.get("_business_key", "").strip()
    values["_business_key"] = business_key
    try:
        instance = starting.start_process(
            get_db(), key, actor, formview.submitted(form), business_key=business_key or None
        )
    except FormErrors as exc:
        return _render_start(key, values=values, errors=exc.fields, status=422)
    except Invalid as exc:
        errors = dict(exc.fields or {})
        if "business_key" in errors:  # the form's field of the generic start's business_key
            errors["_business_key"] = errors.pop("business_key")
        message = None if errors else exc.message
        return _render_start(key, values=values, errors=errors, message=message, status=422)
    except Forbidden:
        return _refusal(403, "start.forbidden")
    except Conflict as exc:
        with get_db().read() as session:
            current = definitions.in_force(session, key)
            suspended = current is not None and current.suspended
        if not suspended and not _own_start(key):  # the process's own reason (its plugin's)
            return _render_start(key, values=values, message=exc.message, status=409)
        return _refusal(409, "start.suspended" if suspended else "start.own_page")
    except EngineFailure as exc:
        return _render_start(key, values=values, message=exc.message, status=409)
    flash(t("start.started_flash", name=name), "ok")
    return redirect(url_for("web.instance_page", instance_id=instance.id))


# --- 我的流程 ------------------------------------------------------------------------------


@bp.get("instances")
@signin.login_required
def instances_list():
    actor = signin.actor()
    process = (request.args.get("process") or "")[:100] or None
    state = request.args.get("state") if request.args.get("state") in STATES else None
    mine = request.args.get("mine") == "1"
    f = queries.InstanceFilter(process=process, state=state, started_by_me=mine)
    with get_db().read() as session:
        page = queries.instances(session, actor, f, page=int_arg("page"), per_page=PER_PAGE)
        names = dict(
            session.execute(
                select(ProcessDefinition.key, ProcessDefinition.name).order_by(
                    ProcessDefinition.key, ProcessDefinition.version
                )
            ).all()
        )
        return render_template(
            "instances.html",
            page=page,
            pages=pager(page, "web.instances_list"),
            processes=names,
            states=STATES,
            f=f,
            open_tasks=queries.open_tasks_by_instance(session, [i.id for i in page.items]),
            starters=_people(session, [i.started_by_id for i in page.items]),
        )
