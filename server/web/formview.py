"""BPMN forms on the pages: one way to read a posted `camunda:formData` form and to show the
values a form took, for task forms and start forms alike.

A form is described by `workflows.forms.Form.describe()`: a list of dicts with `name`, `type`,
`label`, `label_en`, `required`, `options` ({value, label}), `min`, `max`, `maxlength`,
`default`. The macro `form_field` in `_macros.html` renders one such field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import request
from sqlalchemy import select

from workflows.models import OrgUnit
from workflows.routing import SCOPE_KEYS

from . import fmt
from .i18n import STRINGS, field_label, t

Described = Sequence[Mapping[str, Any]]
# start data key (community, street ...) -> the org unit kind it names
UNIT_KIND_OF_KEY = {key: kind for kind, key in SCOPE_KEYS.items()}
MAX_UNIT_OPTIONS = 2000


def submitted(form: Described) -> dict[str, Any]:
    """The posted values of the form's own fields, typed as the form cleaner expects: a
    checkbox is a boolean, an empty input is left out (so `required` catches it)."""
    data: dict[str, Any] = {}
    for field in form:
        name = field["name"]
        if field["type"] == "boolean":
            data[name] = request.form.get(name) in ("on", "true", "1", "yes")
            continue
        value = request.form.get(name, "")
        if value.strip():
            data[name] = value
    return data


def posted_values(form: Described) -> dict[str, str]:
    """What the user typed, to show again next to the error messages."""
    return {f["name"]: request.form.get(f["name"], "") for f in form}


def defaults(form: Described) -> dict[str, Any]:
    """The fields' `defaultValue`s, as a fresh form shows them."""
    out: dict[str, Any] = {}
    for f in form:
        if f.get("default") is None:
            continue
        value = f["default"]
        out[f["name"]] = value in ("true", "True", "1") if f["type"] == "boolean" else value
    return out


def with_unit_choices(session, form: Described) -> list[dict[str, Any]]:
    """Text fields named like a routing key (`community`, `street` ...) take an org unit code:
    offer the units of that kind as choices (the engine still checks the code)."""
    out = []
    for f in form:
        f = dict(f)
        kind = UNIT_KIND_OF_KEY.get(f["name"])
        if kind is not None and f["type"] == "string" and not f.get("options"):
            units = session.execute(
                select(OrgUnit.code, OrgUnit.name)
                .where(OrgUnit.kind == kind)
                .order_by(OrgUnit.code)
                .limit(MAX_UNIT_OPTIONS)
            ).all()
            f["unit_options"] = [
                {"value": code, "label": f"{name} ({code})"} for code, name in units
            ]
        out.append(f)
    return out


def display_value(field: Mapping[str, Any] | None, name: str, value: Any) -> str:
    """A submitted value as a person reads it: an option's label, 是/否, the decision's word."""
    if name == "decision":
        return fmt.decision(value)
    if isinstance(value, bool):
        return t("common.yes") if value else t("common.no")
    if field is not None:
        for option in field.get("options") or ():
            if option["value"] == value:
                return option["label"]
    return "" if value is None else str(value)


def label_of(field: Mapping[str, Any] | None, name: str) -> str:
    """The catalogue's word for the handoff's own fields, else the form's label."""
    if f"field.{name}" in STRINGS:
        return t(f"field.{name}")
    return field_label(field) if field is not None else name


def unit_labels(session, data: Mapping[str, Any] | None) -> dict[str, str]:
    """code -> "name (code)" of the org units the data names under routing keys."""
    codes = {v for k, v in (data or {}).items() if k in UNIT_KIND_OF_KEY and isinstance(v, str)}
    if not codes:
        return {}
    rows = session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(codes)))
    return {code: f"{name} ({code})" for code, name in rows}


def _shown(field: Mapping[str, Any], value: Any, units: Mapping[str, str]) -> str:
    if field["name"] in UNIT_KIND_OF_KEY and isinstance(value, str) and value in units:
        return units[value]
    return display_value(field, field["name"], value)


def pairs(
    form: Described, data: Mapping[str, Any] | None, units: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(label, value) of the submitted data, in the form's order, then any other keys;
    `units` (see `unit_labels`) names the org units routing fields give by code."""
    data = data or {}
    units = units or {}
    by_name = {f["name"]: f for f in form}
    out = [
        (label_of(f, f["name"]), _shown(f, data[f["name"]], units))
        for f in form
        if f["name"] in data
    ]
    out += [
        (label_of(None, name), display_value(None, name, value))
        for name, value in data.items()
        if name not in by_name
    ]
    return out
