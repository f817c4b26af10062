"""Task forms: described from the BPMN's Camunda form data, cleaned and validated on completion.

Field-level rules come from the diagram (type, required, min, max, maxlength, enum values).
Rules that span fields or need the instance come from the process's plugin
(`workflows.plugins.ProcessPlugin.form_rules`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from . import inputs

FIELD_TYPES = ("string", "text", "enum", "long", "boolean", "date", "decimal")
MAX_TEXT = 20_000
_DECIMAL_RE = re.compile(r"^\d{1,12}(\.\d{1,2})?$")


class FormErrors(Exception):
    """Per-field messages; nothing was changed."""

    def __init__(self, fields: Mapping[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = dict(fields)


@dataclass(frozen=True)
class Option:
    id: str
    name: str


@dataclass(frozen=True)
class FormField:
    id: str
    type: str
    label: str
    label_en: str = ""
    required: bool = False
    options: tuple[Option, ...] = ()
    min: int | None = None
    max: int | None = None
    maxlength: int | None = None
    default: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.id,
            "type": self.type,
            "label": self.label,
            "label_en": self.label_en,
            "required": self.required,
        }
        if self.options:
            out["options"] = [{"value": o.id, "label": o.name} for o in self.options]
        for key in ("min", "max", "maxlength", "default"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class Form:
    fields: tuple[FormField, ...] = field(default_factory=tuple)

    def describe(self) -> list[dict[str, Any]]:
        return [f.describe() for f in self.fields]


@dataclass(frozen=True)
class FieldNeed:
    """A form field that code reads (a plugin's form rule or hook): the type it expects, and
    whether it reads the field unconditionally (``data[name]``), so that the form must require
    it; ``reader`` names the code, for the modeller's message."""

    type: str
    required: bool = True
    reader: str = ""


def unmet_needs(form: Form, needs: Mapping[str, FieldNeed]) -> list[tuple[str, FieldNeed, str]]:
    """The needs a form does not meet, as (field id, need, what is wrong): "missing", "type"
    (the field has another type) or "optional" (the code reads it but the form lets it be
    left empty)."""
    fields = {f.id: f for f in form.fields}
    unmet = []
    for fid, need in needs.items():
        found = fields.get(fid)
        if found is None:
            if need.required:
                unmet.append((fid, need, "missing"))
        elif found.type != need.type:
            unmet.append((fid, need, "type"))
        elif need.required and not found.required:
            unmet.append((fid, need, "optional"))
    return unmet


_CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"


def parse_form_data(form_data: Any) -> Form:
    """Our form from a `camunda:formData` element (of a user task or a start event), or an
    empty form for None. Field types are checked at deploy time."""
    if form_data is None:
        return Form()
    fields = []
    for f in form_data.iter(f"{_CAMUNDA}formField"):
        config = {
            c.get("name"): c.get("config") for c in f.iter(f"{_CAMUNDA}constraint") if c.get("name")
        }
        props = {
            p.get("id") or p.get("name"): p.get("value") for p in f.iter(f"{_CAMUNDA}property")
        }
        fields.append(
            FormField(
                id=f.get("id", ""),
                type=f.get("type", "string"),
                label=f.get("label") or f.get("id", ""),
                label_en=props.get("label_en") or "",
                required="required" in config,
                options=tuple(
                    Option(v.get("id", ""), v.get("name") or v.get("id", ""))
                    for v in f.iter(f"{_CAMUNDA}value")
                ),
                min=_int_or_none(config.get("min")),
                max=_int_or_none(config.get("max")),
                maxlength=_int_or_none(config.get("maxlength")),
                default=f.get("defaultValue"),
            )
        )
    return Form(tuple(fields))


def _int_or_none(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"表单约束应为整数 a form constraint must be an integer: {value!r}"
        ) from None


def _clean_value(f: FormField, value: Any) -> Any:
    """Coerce one submitted value to the field's type; raise ValueError with a message."""
    if f.type in ("string", "text", "enum"):
        if not isinstance(value, str):
            raise ValueError("应为文本 must be a string")
        value = value.strip()
        limit = f.maxlength or (MAX_TEXT if f.type == "text" else 1000)
        if f.type != "enum":  # the text rule of every input (`workflows.inputs`)
            problem = inputs.text_problem(value, limit, multiline=f.type == "text")
            if problem is not None:
                raise ValueError(problem.message)
        if len(value) > limit:
            raise ValueError(f"最多 {limit} 个字符 at most {limit} characters")
        if f.type == "enum" and value not in {o.id for o in f.options}:
            allowed = ", ".join(o.id for o in f.options)
            raise ValueError(f"只能是 one of: {allowed}")
        return value
    if f.type == "long":
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value.strip()):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("应为整数 must be an integer")
        if f.min is not None and value < f.min:
            raise ValueError(f"不能小于 {f.min} must be ≥ {f.min}")
        if f.max is not None and value > f.max:
            raise ValueError(f"不能大于 {f.max} must be ≤ {f.max}")
        return value
    if f.type == "boolean":
        if not isinstance(value, bool):
            raise ValueError("应为是/否 must be true or false")
        return value
    if f.type == "date":
        return parse_date(value).isoformat()
    if f.type == "decimal":
        return format_decimal(parse_decimal(value))
    raise ValueError(f"unknown field type {f.type}")


def parse_date(value: Any) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError("日期格式应为 YYYY-MM-DD date must be YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("不是有效日期 not a valid date") from None


def parse_decimal(value: Any) -> Decimal:
    """A decimal string with at most 2 places (never a float: money is exact)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _DECIMAL_RE.fullmatch(value.strip()):
        raise ValueError('应为最多两位小数的数，如 "5000.00" must be a number like "5000.00"')
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        raise ValueError("不是有效的数 not a valid number") from None


def format_decimal(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def clean(
    form: Form,
    data: Any,
    instance_data: Mapping[str, Any],
    rules: Sequence[Callable[[dict[str, Any], Mapping[str, Any]], dict[str, str]]] = (),
) -> dict[str, Any]:
    """Validate submitted data against the form, then the plugin's rules; FormErrors if bad."""
    if not isinstance(data, Mapping):
        raise FormErrors({"data": "应为对象 must be an object"})
    known = {f.id for f in form.fields}
    errors = {k: "未知字段 unknown field" for k in data if k not in known}
    cleaned: dict[str, Any] = {}
    for f in form.fields:
        value = data.get(f.id)
        if value is None or (isinstance(value, str) and not value.strip()):
            if f.required:
                errors[f.id] = "必填 required"
            continue
        try:
            cleaned[f.id] = _clean_value(f, value)
        except ValueError as exc:
            errors[f.id] = str(exc)
    if not errors:
        for check in rules:
            errors.update(check(cleaned, instance_data))
    if errors:
        raise FormErrors(errors)
    return cleaned
