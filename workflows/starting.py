"""Starting instances: who may start a process, its start form, and the org scope it routes by.

`start_process` is the generic start (`POST /process-definitions/{key}/start`); a plugin that
starts instances of its own (a fan-out, say) calls `start_instance` inside its transaction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import (
    audit,
    clock,
    definitions,
    engine,
    forms,
    hooks,
    inputs,
    plugins,
    roles,
    row_insert,
    write_behind,
)
from .db import Database
from .errors import Conflict, Forbidden, Invalid, NotFound
from .inputs import column_length
from .models import InstanceParty, OrgUnit, ProcessDefinition, ProcessInstance
from .routing import ADMIN_ROLE, SCOPE_KEYS
from .service import (
    Actor,
    flush_step,
    process_failure,
    record_step,
    refuse_unmet_fields,
    run_step,
)

# An instance's title is a label made from its start data (a title field, else the process's
# name and business key): cut to its column, since the data keeps every value whole.
MAX_TITLE = column_length(ProcessInstance.title)
MAX_BUSINESS_KEY = column_length(ProcessInstance.business_key)


def resolve_scope(
    session: Session,
    data: Mapping[str, Any],
    keys: Mapping[str, str] | None = None,
    known: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Org unit ids per role from the codes the instance data names (the routing rule).

    `keys` is `roles.scope_keys` and `known` the code -> id of units the caller holds, for a
    caller resolving many instances (a fan-out): no statement when every code is known."""
    keys = roles.scope_keys(session) if keys is None else keys
    codes = {role: data[key] for role, key in keys.items() if data.get(key)}
    if any(not isinstance(code, str) for code in codes.values()):
        raise Invalid("org unit codes must be strings")
    wanted = set(codes.values())
    if known is not None and wanted <= known.keys():
        ids = {code: known[code] for code in wanted}
    else:
        rows = session.execute(select(OrgUnit.code, OrgUnit.id).where(OrgUnit.code.in_(wanted)))
        ids = dict(rows.all())
    missing = sorted({c for c in codes.values() if c not in ids})
    if missing:
        raise Invalid(
            f"unknown org unit(s): {', '.join(missing)}",
            {
                key: f"未知单位代码 {data[key]}"
                for key in set(keys.values())
                if data.get(key) in missing
            },
        )
    return {role: ids[code] for role, code in codes.items()}


def complete_scope(
    session: Session,
    data: dict[str, Any],
    actor: Actor | None,
    starter_roles: Collection[str] = (),
) -> dict[str, Any]:
    """Fill in the org units the starter need not name: their own unit of each kind (their
    department, their community ...) when they hold exactly one of that kind, the street of
    the community, and the district's units of a kind it has only one of (finance office,
    access office). `starter_roles`: only memberships of these roles count as the starter's own
    (the process's candidateStarterGroups; empty: all). Returns a new dict; names that were
    given are kept."""
    data = dict(data)
    own = _own_units(session, actor, starter_roles) if actor is not None else {}
    if not data.get("community") and own.get("community"):
        data["community"] = own["community"]  # a committee member starts for their community
    units = _named_units(session, data)
    community = units.get("community")
    # the street follows from the community (before the starter's own street could be taken)
    if community is not None and not data.get("street") and community.parent is not None:
        data["street"] = community.parent.code
    for key, code in own.items():
        if not data.get(key):
            data[key] = code
    units = _named_units(session, data)
    district_id = _district_of(units)
    if district_id is not None:
        for kind, key in SCOPE_KEYS.items():
            if not data.get(key):
                code = _only_unit(session, district_id, kind)
                if code is not None:
                    data[key] = code
    return data


def _own_units(session: Session, actor: Actor, starter_roles: Collection[str]) -> dict[str, str]:
    """Start data key -> code of the actor's one unit of that kind (by their roles' unit kinds;
    a kind they hold at two units is ambiguous and left out)."""
    keys = roles.scope_keys(session)  # role -> start data key
    units: dict[str, set[int]] = {}
    for role, unit in actor.pairs:
        if role in keys and (not starter_roles or role in starter_roles):
            units.setdefault(keys[role], set()).add(unit)
    only = {key: next(iter(ids)) for key, ids in units.items() if len(ids) == 1}
    if not only:
        return {}
    rows = session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(only.values())))
    codes = {unit_id: code for unit_id, code in rows}
    return {key: codes[unit] for key, unit in only.items() if unit in codes}


def _named_units(session: Session, data: Mapping[str, Any]) -> dict[str, OrgUnit]:
    codes = {kind: data[key] for kind, key in SCOPE_KEYS.items() if isinstance(data.get(key), str)}
    found = {
        u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes.values())))
    }
    return {kind: found[code] for kind, code in codes.items() if code in found}


def _district_of(units: Mapping[str, OrgUnit]) -> int | None:
    if "district" in units:
        return units["district"].id
    for kind in ("street", "department", "finance", "access_office"):
        if kind in units and units[kind].parent_id is not None:
            return units[kind].parent_id
    return None


def _only_unit(session: Session, district_id: int, kind: str) -> str | None:
    if kind == "district":
        return session.scalar(select(OrgUnit.code).where(OrgUnit.id == district_id))
    codes = session.scalars(
        select(OrgUnit.code).where(OrgUnit.kind == kind, OrgUnit.parent_id == district_id).limit(2)
    ).all()
    return codes[0] if len(codes) == 1 else None


def _new_instance(
    parsed: definitions.ParsedProcess,
    definition: ProcessDefinition,
    actor_id: int | None,
    title: str,
    business_key: str | None,
    scope: dict[str, int],
) -> ProcessInstance:
    return ProcessInstance(
        definition_id=definition.id,
        business_key=business_key,
        started_by_id=actor_id,
        title=(title or parsed.name)[:MAX_TITLE],
        scope=scope,
        state={},
        status="running",
        created_at=clock.now(),
    )


def _first_workflow(parsed: definitions.ParsedProcess, data: dict[str, Any]):
    try:
        return engine.new_workflow(parsed, data)
    except Exception as exc:  # SpiffWorkflow predicts the whole flow here (RecursionError)
        raise process_failure(exc) from exc


def _record_started(
    session: Session,
    instances: list[ProcessInstance],
    parsed: definitions.ParsedProcess,
    definition: ProcessDefinition,
    actor_id: int | None,
) -> None:
    """The new instances' parties (their rows have their ids now) and first audit events."""
    # written behind, in one statement: nothing reads them back in this transaction but
    # queries, which the queued INSERT goes before
    write_behind.insert_many(
        session,
        InstanceParty,
        [
            {"instance_id": instance.id, "role": role, "org_unit_id": unit}
            for instance in instances
            for role, unit in instance.scope.items()
        ],
    )
    for instance in instances:
        audit.record(
            session,
            "instance.started",
            actor_id=actor_id,
            instance_id=instance.id,
            business_key=instance.business_key,
            process=parsed.key,
            version=definition.version,
        )


def start_instance(
    session: Session,
    definition: ProcessDefinition,
    data: dict[str, Any],
    *,
    actor_id: int | None,
    title: str = "",
    business_key: str | None = None,
    scope: dict[str, int] | None = None,
) -> ProcessInstance:
    """Start an instance inside the caller's transaction and run it to its first wait;
    `scope` is `resolve_scope(session, data)` when the caller has it already."""
    parsed = definitions.loaded(definition)
    scope = resolve_scope(session, data) if scope is None else scope
    instance = _new_instance(parsed, definition, actor_id, title, business_key, scope)
    workflow = _first_workflow(parsed, data)

    def insert() -> None:
        # after the first step: the row goes in once, with its state, then its parties
        row_insert.insert_rows(session, [instance])
        _record_started(session, [instance], parsed, definition, actor_id)

    advance = functools.partial(engine.advance, workflow)
    run_step(session, instance, workflow, parsed, actor_id, advance, insert)
    ctx = hooks.HookContext(session, instance, data, actor_id)
    plugins.for_process(parsed.key).hooks.instance_started(ctx)
    return instance


@dataclass(frozen=True)
class Start:
    """One instance of a batch start (`start_instances`)."""

    data: dict[str, Any]
    title: str
    business_key: str | None
    scope: dict[str, int]


def start_instances(
    session: Session, definition: ProcessDefinition, starts: list[Start], *, actor_id: int | None
) -> list[ProcessInstance]:
    """Start many instances of one version in the caller's transaction (a fan-out), each run to
    its first wait, written together: one multi-row INSERT per table for all of them (their
    rows, then their parties, first steps' states and opened tasks), not one set per instance.
    What each instance records and hears is what `start_instance` gives it."""
    if len(starts) == 1:  # one row: written once, with its first state
        (one,) = starts
        return [
            start_instance(
                session,
                definition,
                one.data,
                actor_id=actor_id,
                title=one.title,
                business_key=one.business_key,
                scope=one.scope,
            )
        ]
    parsed = definitions.loaded(definition)
    instances = [
        _new_instance(parsed, definition, actor_id, one.title, one.business_key, one.scope)
        for one in starts
    ]
    row_insert.insert_rows(session, instances)  # their ids, for their parties, tasks, records
    _record_started(session, instances, parsed, definition, actor_id)
    steps = []
    for instance, one in zip(instances, starts, strict=True):
        workflow = _first_workflow(parsed, one.data)
        advance = functools.partial(engine.advance, workflow)
        result = run_step(session, instance, workflow, parsed, actor_id, advance, flush=False)
        steps.append((instance, workflow, result, one.data))
    write_behind.update_rows(session, instances)  # their first states
    flush_step(session, None, [row for _, _, result, _ in steps for row in result.opened])
    plugin = plugins.for_process(parsed.key)
    for instance, workflow, result, data in steps:
        record_step(session, instance, workflow, parsed, actor_id, result)
        plugin.hooks.instance_started(hooks.HookContext(session, instance, data, actor_id))
    return instances


def startable(session: Session, actor: Actor, key: str) -> ProcessDefinition:
    """The version of `key` the actor may start now, or the reason why not."""
    definition = definitions.in_force(session, key, text=False)
    if definition is None:
        raise NotFound(f"no process {key!r} is deployed")
    if definition.suspended:
        raise Conflict(f"process {key!r} version {definition.version} is suspended")
    parsed = definitions.loaded(definition)
    plugin = plugins.for_process(parsed.key)
    if plugin.own_start:
        raise Conflict(f"process {key!r} is started through {plugin.start_hint or 'its own form'}")
    if not may_start(actor, parsed):
        raise Forbidden("your roles may not start this process")
    return definition


def may_start(actor: Actor, parsed: definitions.ParsedProcess) -> bool:
    """camunda:candidateStarterGroups names the roles that may start; admins are not exempt
    (they would start on behalf of someone else). No list: anyone with a role."""
    held = {role for role, _ in actor.pairs} - {ADMIN_ROLE}
    return bool(held & parsed.starter_roles) if parsed.starter_roles else bool(held)


MAX_START_DATA = 64_000


def _clean_start_data(parsed: definitions.ParsedProcess, data: Any) -> dict[str, Any]:
    """The start form's fields, validated like a task form, plus org unit codes under the
    routing keys. A process without a start form takes plain JSON data as it comes."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise forms.FormErrors({"data": "应为对象 must be an object"})
    plugin = plugins.for_process(parsed.key)
    refuse_unmet_fields(plugin, parsed.start_event, parsed.start_form)
    if not parsed.start_form.fields:
        if len(json.dumps(data, ensure_ascii=False)) > MAX_START_DATA:
            raise forms.FormErrors({"data": f"数据过大 larger than {MAX_START_DATA} characters"})
        return dict(data)
    fields = {f.id for f in parsed.start_form.fields}
    routing = {k: v for k, v in data.items() if k in SCOPE_KEYS.values() and k not in fields}
    form_data = {k: v for k, v in data.items() if k not in routing}
    rules = plugin.rules_for(parsed.start_event)
    cleaned = forms.clean(parsed.start_form, form_data, {}, rules)
    bad = {
        k: "应为单位代码 must be an org unit code"
        for k, v in routing.items()
        if not isinstance(v, str)
    }
    if bad:
        raise forms.FormErrors(bad)
    return {**routing, **cleaned}


def _starts_for_own_unit(
    session: Session,
    actor: Actor,
    parsed: definitions.ParsedProcess,
    scope: Mapping[str, int],
    given: Mapping[str, Any],
) -> None:
    """A starter by candidateStarterGroups starts as a party of the instance: one of their
    memberships of a starter role is the instance's unit for that role. A committee member
    starts for their own community, a street office for a community of its street; naming
    another unit of their own kind would put work in a stranger's name into other inboxes.
    The error names the org unit codes the starter gave (`given`), else their own kind's key."""
    if not parsed.starter_roles:
        return
    keys = roles.scope_keys(session)
    held = [(r, u) for r, u in actor.pairs if r in parsed.starter_roles]
    if any(r not in keys for r, _ in held):
        return  # a role without a unit of the instance (admin): nothing to be a party of
    if any(scope.get(role) == unit for role, unit in held):
        return
    named = sorted(k for k in SCOPE_KEYS.values() if given.get(k))
    named = named or sorted({keys[r] for r, _ in held if r in keys}) or ["data"]
    raise forms.FormErrors({key: "只能为本单位发起 only for your own org unit" for key in named})


def start_process(
    db: Database, key: str, actor: Actor, data: Any, business_key: str | None = None
) -> ProcessInstance:
    """Start the version of `key` in force with the start form's data, in one transaction."""
    with db.write() as session:
        definition = startable(session, actor, key)
        parsed = definitions.loaded(definition)
        cleaned = _clean_start_data(parsed, data)
        if business_key is not None:
            # one line of visible text, as long as its column (the API's schema has the same)
            problem = inputs.text_problem(business_key, MAX_BUSINESS_KEY)
            if problem is not None:
                raise Invalid("bad business key", {"business_key": problem.message})
        prepare = plugins.for_process(parsed.key).start_data
        prepared = prepare(session, cleaned, actor) if prepare is not None else cleaned
        full = complete_scope(session, prepared, actor, parsed.starter_roles)
        scope = resolve_scope(session, full)
        _starts_for_own_unit(session, actor, parsed, scope, given=cleaned)
        # a title field names the instance; else the business key tells instances apart
        title = str(full.get("title") or " ".join(filter(None, (parsed.name, business_key))))
        return start_instance(
            session,
            definition,
            full,
            actor_id=actor.user_id,
            title=title,
            business_key=business_key,
            scope=scope,
        )
