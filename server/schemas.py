"""marshmallow schemas: what the API accepts (unknown fields refused) and what it answers.

Times are answered in Asia/Shanghai with their offset; money is a yuan string with 2 places.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from handoff.money import fen_to_yuan
from workflows import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Every id is a 32-bit integer column on both databases: larger ids cannot exist.
MAX_ID = 2**31 - 1
ORG_KINDS = ("district", "street", "community", "department", "finance", "access_office")
CATEGORIES = (
    "assisted",
    "self_governance",
    "negative",
    "certificate_allowed",
    "certificate_forbidden",
)


class LocalDateTime(fields.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(SHANGHAI).isoformat()


def computed(fn, type_: str = "string", *, nullable: bool = False, **metadata) -> fields.Function:
    """A read-only field computed from the object, documented with its JSON type."""
    return fields.Function(fn, allow_none=nullable, metadata={"type": type_, **metadata})


def _storable_instant(value: datetime) -> None:
    """Refuse aware datetimes that have no UTC equivalent (year 1 minus an offset, 9999 plus)."""
    try:
        instant = value.astimezone(UTC)
    except (OverflowError, ValueError):
        instant = None
    if instant is None or not 1 < instant.year < 9999:
        raise ValidationError("日期时间超出范围 date-time out of range")


class Strict(Schema):
    class Meta:
        unknown = RAISE


# names and titles are one line of text: no control characters (they break exports and logs)
ONE_LINE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="不能包含控制字符 no control characters")


def name_field(*, required: bool = False, max_length: int = 200) -> fields.String:
    return fields.String(
        required=required, validate=[validate.Length(min=1, max=max_length), ONE_LINE]
    )


# --- errors ---------------------------------------------------------------------------------


class ProblemOut(Strict):
    element = fields.String(allow_none=True)
    message = fields.String(metadata={"description": "中文"})
    message_en = fields.String()


class ErrorBody(Strict):
    code = fields.String(
        required=True, metadata={"description": "machine-readable: invalid, not_found, conflict…"}
    )
    message = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "field name (dotted for nested fields) -> what is wrong"},
    )
    problems = fields.List(
        fields.Nested(ProblemOut),
        metadata={"description": "invalid_bpmn: every problem of the file, each on its element"},
    )
    request_id = fields.String(
        required=True, metadata={"description": "this request's id, as in the X-Request-Id header"}
    )


class ErrorSchema(Strict):
    """Every error answer: {"error": {"code", "message", "fields"?}}."""

    error = fields.Nested(ErrorBody, required=True)


# --- query strings --------------------------------------------------------------------------


class PageQuery(Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))
    order = fields.String(load_default="desc", validate=validate.OneOf(["asc", "desc"]))


class InboxQuery(PageQuery):
    sort = fields.String(
        load_default="created_at",
        validate=validate.OneOf(["created_at", "due_at", "name", "title", "id"]),
    )
    role = fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,31}$"))
    process = fields.String(validate=validate.Length(max=100))
    key = fields.String(validate=validate.Length(max=100))
    request_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    business_key = fields.String(validate=validate.Length(min=1, max=100))
    due_before = fields.AwareDateTime(default_timezone=SHANGHAI, validate=_storable_instant)
    due_after = fields.AwareDateTime(default_timezone=SHANGHAI, validate=_storable_instant)
    overdue = fields.Boolean()
    claimed = fields.Boolean()
    q = fields.String(validate=validate.Length(max=200))


class ListQuery(PageQuery):
    sort = fields.String(
        load_default="created_at", validate=validate.OneOf(["created_at", "id", "title"])
    )
    q = fields.String(validate=validate.Length(max=200))


# --- accounts and org units -----------------------------------------------------------------


class TokenRequest(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenResponse(Schema):
    token = fields.String()
    token_type = fields.String()
    expires_at = LocalDateTime()


class MembershipIn(Strict):
    role = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,31}$"))
    org_unit = fields.String(required=True, validate=validate.Length(min=1, max=64))


class MembershipOut(Schema):
    role = fields.String()
    org_unit = computed(lambda m: m.org_unit.code)
    org_unit_name = computed(lambda m: m.org_unit.name)


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    is_active = fields.Boolean()
    memberships = fields.List(fields.Nested(MembershipOut))


class UserCreate(Strict):
    username = fields.String(
        required=True,
        validate=[validate.Length(min=2, max=64), validate.Regexp(r"^[A-Za-z0-9._-]+$")],
    )
    display_name = name_field(required=True)
    password = fields.String(required=True, validate=validate.Length(min=10, max=200))
    memberships = fields.List(fields.Nested(MembershipIn), load_default=list)


class UserPatch(Strict):
    display_name = name_field()
    password = fields.String(validate=validate.Length(min=10, max=200))
    is_active = fields.Boolean()
    memberships = fields.List(fields.Nested(MembershipIn))


class OrgUnitOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    parent = computed(lambda u: u.parent.code if u.parent else None, nullable=True)


class OrgUnitCreate(Strict):
    code = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=64), validate.Regexp(r"^[A-Za-z0-9-]+$")],
    )
    name = name_field(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    parent = fields.String(allow_none=True, validate=validate.Length(max=64))


class OrgUnitPatch(Strict):
    name = name_field()
    parent = fields.String(allow_none=True, validate=validate.Length(max=64))


class OrgUnitQuery(PageQuery):
    kind = fields.String(validate=validate.OneOf(ORG_KINDS))
    parent = fields.String(validate=validate.Length(max=64))
    per_page = fields.Integer(load_default=200, validate=validate.Range(min=1, max=500))
    order = fields.String(load_default="asc", validate=validate.OneOf(["asc", "desc"]))


class CatalogItemOut(Schema):
    code = fields.String()
    name = fields.String()
    category = fields.String()
    legal_basis = fields.String()
    active = fields.Boolean()
    effective_from = fields.Date(allow_none=True)
    effective_to = fields.Date(allow_none=True, metadata={"description": "exclusive"})
    funding_standard = computed(
        lambda i: fen_to_yuan(i.funding_standard_fen or 0), description="yuan per community"
    )
    responsible_department = fields.String()
    terms = fields.List(
        fields.String(),
        metadata={
            "description": "words and synonyms that name the item in a request's text (the "
            "negative list's are screened against every request)"
        },
    )


class CatalogItemCreate(Strict):
    code = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=32), validate.Regexp(r"^[A-Za-z0-9-]+$")],
    )
    name = name_field(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    legal_basis = fields.String(load_default="", validate=validate.Length(max=500))
    active = fields.Boolean(load_default=True)


class CatalogItemPatch(Strict):
    name = name_field()
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    legal_basis = fields.String(validate=validate.Length(max=500))
    active = fields.Boolean()
    terms = fields.List(
        fields.String(validate=validate.Length(min=1, max=50)),
        validate=validate.Length(max=100),
        metadata={"description": "negative-list terms and synonyms screened in request texts"},
    )


class CatalogQuery(PageQuery):
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    on = fields.Date(metadata={"description": "the catalog in force on this day (default today)"})
    history = fields.Boolean(load_default=False)
    q = fields.String(validate=validate.Length(max=200))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    order = fields.String(load_default="asc", validate=validate.OneOf(["asc", "desc"]))


# --- requests, instances, tasks -------------------------------------------------------------


class RequestCreate(Strict):
    title = name_field(required=True)
    item_code = fields.String(allow_none=True, validate=validate.Length(max=32))
    description = fields.String(load_default="", validate=validate.Length(max=20_000))
    legal_basis = fields.String(load_default="", validate=validate.Length(max=500))
    community_codes = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=2000),
    )
    amount = fields.String(required=True, validate=validate.Length(min=1, max=20))
    due_date = fields.String(
        allow_none=True,
        validate=validate.Length(max=10),
        metadata={
            "description": "YYYY-MM-DD; required in effect: a missing or too early date is a "
            "422 naming the earliest allowed (15 working days of street review, plus 10 of "
            "funding when there is money)"
        },
    )
    department_code = fields.String(allow_none=True, validate=validate.Length(max=64))


class InstanceSummary(Schema):
    """An instance of a request, with its community (`communities`: instance id -> unit)."""

    id = fields.Integer()
    community_code = fields.String(allow_none=True)
    community_name = fields.String(allow_none=True)
    state = fields.String(attribute="status")
    outcome = fields.String(allow_none=True)
    title = fields.String()
    created_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)


class RequestOut(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    item_code = fields.String(allow_none=True)
    item_name = fields.String()
    item_category = fields.String()
    description = fields.String()
    legal_basis = fields.String()
    department = computed(lambda r: r.department.code)
    department_name = computed(lambda r: r.department.name)
    amount = computed(lambda r: fen_to_yuan(r.amount_fen), description="yuan, 2 places")
    due_date = fields.Date(allow_none=True)
    created_at = LocalDateTime()
    instances = fields.List(fields.Nested(InstanceSummary))


class TaskOut(Schema):
    id = fields.Integer()
    key = fields.String()
    name = fields.String()
    title = fields.String()
    role = fields.String()
    org_unit = computed(lambda t: t.org_unit.code)
    org_unit_name = computed(lambda t: t.org_unit.name)
    instance_id = fields.Integer()
    business_key = fields.String(allow_none=True)
    request_id = fields.Integer(allow_none=True)
    process = fields.String(attribute="process_key")
    status = fields.String()
    assignee = computed(lambda t: t.assignee.username if t.assignee else None, nullable=True)
    created_at = LocalDateTime()
    due_at = LocalDateTime(allow_none=True)
    # due_at counted through a year whose holidays are not entered yet (weekends only)
    due_provisional = fields.Boolean()
    overdue = computed(
        lambda t: bool(t.status == "open" and t.due_at is not None and t.due_at < clock.now()),
        "boolean",
    )
    escalated = computed(lambda t: t.escalated_at is not None, "boolean")
    completed_at = LocalDateTime(allow_none=True)


class FormOption(Schema):
    value = fields.String()
    label = fields.String()


class FormFieldOut(Schema):
    name = fields.String()
    type = fields.String()
    label = fields.String()
    label_en = fields.String()
    required = fields.Boolean()
    options = fields.List(fields.Nested(FormOption))
    min = fields.Integer()
    max = fields.Integer()
    maxlength = fields.Integer()


class TaskDetailOut(TaskOut):
    form = fields.List(fields.Nested(FormFieldOut))
    data = fields.Dict()
    submitted = fields.Dict(attribute="submitted", allow_none=True)


class CompleteIn(Strict):
    data = fields.Dict(required=True)


class DelegateIn(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))


class CancelIn(Strict):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class CompleteOut(Schema):
    task_id = fields.Integer()
    instance_id = fields.Integer()
    instance_state = fields.String()
    outcome = fields.String(allow_none=True)
    opened = fields.List(fields.Integer())


class EventOut(Schema):
    id = fields.Integer()
    at = LocalDateTime()
    action = fields.String()
    actor = computed(lambda e: e.actor.username if e.actor else None, nullable=True)
    actor_name = computed(lambda e: e.actor.display_name if e.actor else "系统 system")
    task_id = fields.Integer(allow_none=True)
    detail = fields.Dict()


class SignatureOut(Schema):
    party = fields.String()
    org_unit = computed(lambda s: s.org_unit.code)
    org_unit_name = computed(lambda s: s.org_unit.name)
    user = computed(lambda s: s.user.username)
    decision = fields.String()
    comment = fields.String(allow_none=True)
    signed_at = LocalDateTime()


class AgreementOut(Schema):
    number = fields.String()
    status = fields.String()
    content = fields.Dict()
    amount = computed(lambda a: fen_to_yuan(a.amount_fen))
    created_at = LocalDateTime()
    signed_at = LocalDateTime(allow_none=True)
    terminated_at = LocalDateTime(allow_none=True)
    termination_reason = fields.String(allow_none=True)
    signatures = fields.List(fields.Nested(SignatureOut))


class LedgerEntryOut(Schema):
    kind = fields.String()
    amount = computed(lambda e: fen_to_yuan(e.amount_fen))
    voucher_no = fields.String(allow_none=True)
    transferred_on = fields.Date(allow_none=True)
    at = LocalDateTime()


class LedgerOut(Schema):
    entries = fields.List(fields.Nested(LedgerEntryOut))
    agreed = computed(lambda d: fen_to_yuan(d["agreed_fen"]))
    transferred = computed(lambda d: fen_to_yuan(d["transferred_fen"]))
    outstanding = computed(lambda d: fen_to_yuan(d["outstanding_fen"]))
    refunded = computed(lambda d: fen_to_yuan(d["refunded_fen"]))
    kept = computed(lambda d: fen_to_yuan(d["kept_fen"]))


class InstanceOut(Schema):
    id = computed(lambda d: d["instance"].id, "integer")
    request_id = fields.Integer(allow_none=True)
    business_key = computed(lambda d: d["instance"].business_key, nullable=True)
    process = computed(lambda d: d["instance"].definition.key)
    version = computed(lambda d: d["instance"].definition.version, "integer")
    state = computed(
        lambda d: d["instance"].status, enum=["running", "completed", "cancelled", "error"]
    )
    outcome = computed(lambda d: d["instance"].outcome, nullable=True)
    title = computed(lambda d: d["instance"].title)
    community_code = fields.String(allow_none=True)
    created_at = computed(
        lambda d: d["instance"].created_at.astimezone(SHANGHAI).isoformat(), format="date-time"
    )
    data = fields.Dict()
    open_tasks = fields.List(fields.Nested(TaskOut))
    history = fields.List(fields.Nested(EventOut))
    agreement = fields.Nested(AgreementOut, allow_none=True)
    ledger = fields.Nested(LedgerOut)
    termination = fields.Dict(allow_none=True)  # a handoff's newest termination, or its handoff


class InstanceListQuery(PageQuery):
    sort = fields.String(
        load_default="created_at",
        validate=validate.OneOf(["created_at", "updated_at", "id", "title"]),
    )
    process = fields.String(validate=validate.Length(min=1, max=100))
    state = fields.String(validate=validate.OneOf(["running", "completed", "cancelled", "error"]))
    outcome = fields.String(validate=validate.Length(min=1, max=40))
    started_by_me = fields.Boolean()
    org_unit = fields.String(validate=validate.Length(min=1, max=64))
    business_key = fields.String(validate=validate.Length(min=1, max=100))
    q = fields.String(validate=validate.Length(max=200))


class InstanceListItem(Schema):
    id = fields.Integer()
    process = computed(lambda i: i.definition.key)
    version = computed(lambda i: i.definition.version, "integer")
    state = fields.String(attribute="status")
    outcome = fields.String(allow_none=True)
    title = fields.String()
    business_key = fields.String(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)
    error = fields.String(allow_none=True)


class StartIn(Strict):
    data = fields.Dict(load_default=dict)
    business_key = fields.String(validate=validate.Length(min=1, max=100))


class MessageIn(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    correlation = fields.Dict(load_default=dict)
    data = fields.Dict(load_default=dict)


class MessageOut(Schema):
    delivered = fields.Integer()


class RoleIn(Strict):
    key = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=100))
    unit_kind = fields.String(required=True, validate=validate.Length(min=1, max=32))


class RoleOut(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    unit_kind = fields.String()


class HolidayPeriod(Strict):
    name = fields.String(required=True)
    start = fields.String(required=True, metadata={"example": "2027-01-01"})
    end = fields.String(required=True, metadata={"example": "2027-01-03"})


class AdjustedWorkday(Strict):
    name = fields.String(required=True)
    day = fields.String(required=True, metadata={"example": "2027-02-07"})


class CalendarYearIn(Strict):
    notice = fields.String(load_default="", metadata={"example": "国办发明电〔2026〕7号"})
    holidays = fields.List(fields.Nested(HolidayPeriod), required=True)
    workdays = fields.List(fields.Nested(AdjustedWorkday), load_default=list)


class CalendarYearSummary(Schema):
    year = fields.Integer()
    source = fields.String(metadata={"description": "library (chinesecalendar) | admin"})
    notice = fields.String()
    entered_at = LocalDateTime()
    holidays = fields.Integer(metadata={"description": "days off, weekends in holidays included"})
    workdays = fields.Integer(metadata={"description": "adjusted working (weekend) days"})


class CalendarYearOut(Schema):
    year = fields.Integer()
    source = fields.String()
    notice = fields.String()
    entered_at = LocalDateTime()
    holidays = fields.List(fields.Nested(HolidayPeriod))
    workdays = fields.List(fields.Nested(AdjustedWorkday))
    recounted = fields.Integer(
        metadata={"description": "provisional timers counted again (answer to PUT only)"}
    )


class CalendarYears(Schema):
    items = fields.List(fields.Nested(CalendarYearSummary))
    total = fields.Integer()
    first_unknown_year = fields.Integer(
        allow_none=True,
        metadata={"description": "the first year from today's with no calendar entered"},
    )


class DefinitionOut(Schema):
    id = fields.Integer()
    key = fields.String()
    name = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    deployed_at = LocalDateTime()
    suspended = fields.Boolean()
    in_force = fields.Boolean(dump_default=False)


class DefinitionDetailOut(DefinitionOut):
    documentation = fields.String()
    start_form = fields.List(fields.Nested(FormFieldOut))
    starter_roles = fields.List(fields.String())
    may_start = fields.Boolean()
    user_tasks = fields.List(fields.Dict())
    instances = fields.Dict(keys=fields.String(), values=fields.Integer())


class DeployOut(DefinitionOut):
    created = fields.Boolean()


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "total": fields.Integer(),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
        },
        name=name,
    )


TaskPage = page_schema(TaskOut, "TaskPage")
RequestPage = page_schema(RequestOut, "RequestPage")
UserPage = page_schema(UserOut, "UserPage")
OrgUnitPage = page_schema(OrgUnitOut, "OrgUnitPage")
CatalogPage = page_schema(CatalogItemOut, "CatalogPage")
DefinitionPage = page_schema(DefinitionOut, "DefinitionPage")
InstancePage = page_schema(InstanceListItem, "InstancePage")
RolePage = page_schema(RoleOut, "RolePage")
