"""marshmallow schemas: what the API accepts (unknown fields refused) and what it answers.

Times are answered in Asia/Shanghai with their offset; money is a yuan string with 2 places.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from handoff import agreement_templates, agreement_terms, instalments
from handoff.catalog import ITEM_CODE_MAX
from handoff.models import CatalogItem, Request
from handoff.money import fen_to_yuan
from handoff.requests import MAX_CONDITIONS, MAX_DESCRIPTION
from handoff.screening import MAX_TERM
from workflows import clock, inputs
from workflows.admin import PASSWORD_LENGTH
from workflows.ending import REASON_MAX
from workflows.inputs import column_length
from workflows.models import (
    CalendarDay,
    CalendarYear,
    MessageSubscription,
    OrgUnit,
    ProcessInstance,
    Role,
    User,
)

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
# the lengths of the columns that codes and usernames end in
UNIT_CODE_MAX = column_length(OrgUnit.code)
USERNAME_MAX = column_length(User.username)


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


class Text(validate.Validator):
    """The field's rule of `workflows.inputs` (the services check the same one), documented as
    the minLength / maxLength it implies (apispec reads `min`, `max` and `equal`)."""

    def __init__(self, max_length: int, *, blank: bool = False, multiline: bool = False):
        self.min = None if blank else 1
        self.max = max_length
        self.equal = None
        self.blank = blank
        self.multiline = multiline

    def __call__(self, value):
        problem = inputs.text_problem(
            value, self.max, required=not self.blank, multiline=self.multiline
        )
        if problem is not None:
            raise ValidationError(problem.message)
        return value


def name_field(
    max_length: int, *, required: bool = False, blank: bool = False, metadata=None, **kw
):
    """One line of visible text (a title, a name) of at most `max_length` characters: the length
    of its column, `column_length(Model.attribute)`."""
    return fields.String(
        required=required,
        validate=Text(max_length, blank=blank),
        metadata={"pattern": inputs.ONE_LINE_PATTERN, **(metadata or {})},
        **kw,
    )


def text_field(max_length: int, **kw):
    """Several lines of text, empty allowed (a description, a reason)."""
    return fields.String(validate=Text(max_length, blank=True, multiline=True), **kw)


def code_field(max_length: int, *, required: bool = False, **kw):
    """A code or username naming a row: 1..`max_length` characters (the lookup decides the rest)."""
    return fields.String(required=required, validate=validate.Length(min=1, max=max_length), **kw)


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
    org_unit = code_field(UNIT_CODE_MAX, required=True)


class MembershipOut(Schema):
    role = fields.String()
    org_unit = computed(lambda m: m.org_unit.code)
    org_unit_name = computed(lambda m: m.org_unit.name)


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    email = fields.String(allow_none=True)
    is_active = fields.Boolean()
    memberships = fields.List(fields.Nested(MembershipOut))


class UserCreate(Strict):
    username = fields.String(
        required=True,
        validate=[
            validate.Length(min=2, max=USERNAME_MAX),
            validate.Regexp(r"^[A-Za-z0-9._-]+$"),
        ],
    )
    display_name = name_field(column_length(User.display_name), required=True)
    password = fields.String(
        required=True, validate=validate.Length(min=PASSWORD_LENGTH[0], max=PASSWORD_LENGTH[1])
    )
    memberships = fields.List(fields.Nested(MembershipIn), load_default=list)
    email = fields.String(allow_none=True, validate=validate.Length(max=254))


class UserPatch(Strict):
    display_name = name_field(column_length(User.display_name))
    password = fields.String(
        validate=validate.Length(min=PASSWORD_LENGTH[0], max=PASSWORD_LENGTH[1])
    )
    is_active = fields.Boolean()
    memberships = fields.List(fields.Nested(MembershipIn))
    email = fields.String(
        allow_none=True,
        validate=validate.Length(max=254),
        metadata={"description": "an address; null or empty for none"},
    )


class OrgUnitOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    legal_name = fields.String(
        allow_none=True,
        metadata={"description": "the full legal name documents use; null: the name is"},
    )
    kind = fields.String()
    parent = computed(lambda u: u.parent.code if u.parent else None, nullable=True)


class OrgUnitCreate(Strict):
    code = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=UNIT_CODE_MAX),
            validate.Regexp(r"^[A-Za-z0-9-]+$"),
        ],
    )
    name = name_field(column_length(OrgUnit.name), required=True)
    legal_name = name_field(column_length(OrgUnit.legal_name), blank=True, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    parent = fields.String(allow_none=True, validate=validate.Length(max=UNIT_CODE_MAX))


class OrgUnitPatch(Strict):
    name = name_field(column_length(OrgUnit.name))
    legal_name = name_field(
        column_length(OrgUnit.legal_name),
        blank=True,
        allow_none=True,
        metadata={"description": "null or empty: none (documents use the name)"},
    )
    parent = fields.String(allow_none=True, validate=validate.Length(max=UNIT_CODE_MAX))


class OrgUnitQuery(PageQuery):
    kind = fields.String(validate=validate.OneOf(ORG_KINDS))
    parent = fields.String(validate=validate.Length(max=UNIT_CODE_MAX))
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
        validate=[
            validate.Length(min=1, max=ITEM_CODE_MAX),
            validate.Regexp(r"^[A-Za-z0-9-]+$"),
        ],
    )
    name = name_field(column_length(CatalogItem.name), required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    legal_basis = text_field(column_length(CatalogItem.legal_basis), load_default="")
    active = fields.Boolean(load_default=True)


class CatalogItemPatch(Strict):
    name = name_field(column_length(CatalogItem.name))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    legal_basis = text_field(column_length(CatalogItem.legal_basis))
    active = fields.Boolean()
    terms = fields.List(
        fields.String(validate=validate.Length(min=1, max=MAX_TERM)),
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


class InstalmentIn(Strict):
    """One instalment of the payment plan: an amount or a share of the total, and when it is
    paid."""

    trigger = fields.String(
        required=True,
        validate=validate.OneOf(instalments.TRIGGERS),
        metadata={
            "description": "signing (预拨, first) | date (on `on`) | acceptance (尾款, last)"
        },
    )
    amount = fields.String(allow_none=True, validate=validate.Length(max=20))
    share = fields.String(
        allow_none=True,
        validate=validate.Length(max=10),
        metadata={"description": "percent of the total, at most 2 places"},
    )
    on = fields.String(allow_none=True, validate=validate.Length(max=10))

    @post_load
    def _instalment(self, data, **_kw):
        return instalments.InstalmentInput(**data)


class TermsIn(Strict):
    """The agreement's variable terms (`handoff.agreement_terms`, which checks them again)."""

    contact_name = name_field(
        agreement_terms.NAME_MAX, required=True, metadata={"description": "甲方联系人"}
    )
    contact_phone = name_field(
        agreement_terms.PHONE_MAX,
        required=True,
        metadata={"description": "甲方联系电话: a mobile, or a landline with its area code"},
    )
    committee_contact = name_field(
        agreement_terms.CONTACT_MAX,
        blank=True,
        load_default="",
        metadata={"description": "乙方联系人 (name and phone), when known"},
    )
    authority = fields.String(
        required=True,
        validate=Text(agreement_terms.TEXT_MAX, multiline=True),
        metadata={"description": "委托权限: the authority handed to the committee"},
    )
    acceptance_standard = fields.String(
        required=True,
        validate=Text(agreement_terms.TEXT_MAX, multiline=True),
        metadata={"description": "验收标准"},
    )
    permitted_use = text_field(
        agreement_terms.TEXT_MAX,
        load_default="",
        metadata={"description": "经费使用范围; required when the amount is not 0"},
    )
    start_date = fields.String(
        required=True,
        validate=validate.Length(max=10),
        metadata={"description": "YYYY-MM-DD, from today until the due date"},
    )


class TermsOut(Schema):
    contact_name = fields.String()
    contact_phone = fields.String()
    committee_contact = fields.String()
    authority = fields.String()
    acceptance_standard = fields.String()
    permitted_use = fields.String()
    start_date = fields.String(metadata={"format": "date"})  # as stored: YYYY-MM-DD


class RequestCreate(Strict):
    title = name_field(column_length(Request.title), required=True)
    item_code = fields.String(allow_none=True, validate=validate.Length(max=ITEM_CODE_MAX))
    description = text_field(MAX_DESCRIPTION, load_default="")
    legal_basis = text_field(column_length(Request.legal_basis), load_default="")
    community_codes = fields.List(
        code_field(UNIT_CODE_MAX),
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
    department_code = fields.String(allow_none=True, validate=validate.Length(max=UNIT_CODE_MAX))
    conditions = text_field(
        MAX_CONDITIONS,
        load_default="",
        metadata={"description": "工作条件: staff, training, equipment, premises provided"},
    )
    payment_plan = fields.List(
        fields.Nested(InstalmentIn),
        allow_none=True,
        validate=validate.Length(max=instalments.MAX_INSTALMENTS),
        metadata={"description": "empty or absent: everything paid on signing"},
    )
    terms = fields.Nested(
        TermsIn,
        allow_none=True,
        load_default=None,
        metadata={"description": "the agreement's terms; none: the agreement leaves them blank"},
    )


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
    conditions = fields.String()
    payment_plan = computed(
        lambda r: [
            {**{k: p[k] for k in ("seq", "trigger", "on")}, "amount": fen_to_yuan(p["amount_fen"])}
            for p in (r.payment_plan or [])
        ],
        "array",
        description="the instalments as requested (amounts in yuan)",
    )
    terms = fields.Nested(TermsOut, allow_none=True)
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
    username = code_field(USERNAME_MAX, required=True)


class CancelIn(Strict):
    reason = text_field(REASON_MAX, load_default="")


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


def _clause(required: bool) -> fields.String:
    limit = agreement_templates.CLAUSE_MAX
    if required:
        return fields.String(required=True, validate=Text(limit, multiline=True))
    return text_field(limit, load_default="")


class ClausesIn(Strict):
    """Every clause of a template (a PUT replaces them all)."""

    breach = _clause(True)
    variation = _clause(True)
    termination = _clause(True)
    dispute = _clause(True)
    other = _clause(False)


class ClausesOut(Schema):
    breach = fields.String(metadata={"description": "违约责任"})
    variation = fields.String(metadata={"description": "协议变更"})
    termination = fields.String(metadata={"description": "协议终止"})
    dispute = fields.String(metadata={"description": "争议解决"})
    other = fields.String(metadata={"description": "其他约定"})


class AgreementTemplateIn(Strict):
    clauses = fields.Nested(ClausesIn, required=True)


class AgreementTemplateOut(Schema):
    category = fields.String(metadata={"enum": list(agreement_templates.CATEGORIES)})
    clauses = fields.Nested(ClausesOut)
    updated_at = LocalDateTime(
        allow_none=True, metadata={"description": "null: the defaults, never edited"}
    )
    updated_by = fields.String(allow_none=True, metadata={"description": "username"})


class AgreementTemplates(Schema):
    items = fields.List(fields.Nested(AgreementTemplateOut))
    total = fields.Integer()


class AgreementPdfQuery(Strict):
    lang = fields.String(
        load_default="zh",
        validate=validate.OneOf(["zh", "en"]),
        metadata={"description": "the language of the document's own words (the data's stay)"},
    )


class LedgerEntryOut(Schema):
    kind = fields.String()
    amount = computed(lambda e: fen_to_yuan(e.amount_fen))
    instalment = fields.Integer(
        allow_none=True, metadata={"description": "the seq of the instalment a transfer pays"}
    )
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


class InstalmentOut(Schema):
    """One instalment of the payment plan in force, and how far it is paid."""

    seq = fields.Integer()
    trigger = fields.String(metadata={"enum": list(instalments.TRIGGERS)})
    on = fields.String(allow_none=True, metadata={"description": "YYYY-MM-DD, for `date`"})
    amount = computed(lambda p: fen_to_yuan(p["amount_fen"]))
    transferred = computed(lambda p: fen_to_yuan(p["transferred_fen"]))
    outstanding = computed(lambda p: fen_to_yuan(p["outstanding_fen"]))
    open = fields.Boolean(metadata={"description": "its funding task is open now"})
    overdue = fields.Boolean(metadata={"description": "its funding task is past its due date"})


class NegotiationRoundOut(Schema):
    """A move in the negotiation before signing (协商), oldest first."""

    round = fields.Integer()
    party = fields.String(metadata={"enum": ["committee", "department"]})
    action = fields.String(metadata={"enum": ["counter", "accept", "revise", "withdraw"]})
    amount = computed(
        lambda r: fen_to_yuan(r.amount_fen) if r.amount_fen is not None else None,
        nullable=True,
        description="the amount proposed (null: unchanged)",
    )
    amount_before = computed(lambda r: fen_to_yuan(r.before_amount_fen))
    due_date = fields.Date(allow_none=True)
    conditions = fields.String(allow_none=True)
    reason = fields.String()
    at = LocalDateTime()


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
    # why the instance is in state error (a step that failed in the timer worker or ran out of
    # time); null otherwise
    error = computed(lambda d: d["instance"].error, nullable=True)
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
    instalments = fields.List(fields.Nested(InstalmentOut))
    negotiation = fields.List(fields.Nested(NegotiationRoundOut))
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
    business_key = name_field(column_length(ProcessInstance.business_key))


class MessageIn(Strict):
    name = code_field(column_length(MessageSubscription.name), required=True)
    correlation = fields.Dict(load_default=dict)
    data = fields.Dict(load_default=dict)


class MessageOut(Schema):
    delivered = fields.Integer()


class RoleIn(Strict):
    key = code_field(column_length(Role.key), required=True)
    name_zh = name_field(column_length(Role.name_zh), required=True)
    name_en = name_field(column_length(Role.name_en), required=True)
    unit_kind = code_field(column_length(Role.unit_kind), required=True)


class RoleOut(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    unit_kind = fields.String()


class WithdrawIn(Strict):
    instance_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)),
        required=True,
        validate=validate.Length(min=1, max=2000),
    )
    reason = text_field(REASON_MAX, load_default="")


class WithdrawRefusal(Schema):
    instance_id = fields.Integer()
    reason = fields.String()


class WithdrawOut(Schema):
    withdrawn = fields.List(fields.Integer())
    refused = fields.List(fields.Nested(WithdrawRefusal))


class HolidayPeriod(Strict):
    name = name_field(column_length(CalendarDay.name), required=True)
    start = fields.String(required=True, metadata={"example": "2027-01-01"})
    end = fields.String(required=True, metadata={"example": "2027-01-03"})


class AdjustedWorkday(Strict):
    name = name_field(column_length(CalendarDay.name), required=True)
    day = fields.String(required=True, metadata={"example": "2027-02-07"})


class CalendarYearIn(Strict):
    notice = name_field(
        column_length(CalendarYear.notice),
        blank=True,
        load_default="",
        metadata={"example": "国办发明电〔2026〕7号"},
    )
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


# --- notifications --------------------------------------------------------------------------


class NotificationQuery(PageQuery):
    unread = fields.Boolean(metadata={"description": "true: only unread; false: only read"})


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String(
        metadata={
            "description": "task_opened, due_soon, overdue, escalated, "
            "request_decided, money_confirmed, test, or digest"
        }
    )
    items = fields.List(fields.Dict(), metadata={"description": "what the message lists"})
    created_at = LocalDateTime()
    read_at = LocalDateTime(allow_none=True)
    unread = computed(lambda n: n.read_at is None, "boolean")


class ReadAllOut(Schema):
    marked = fields.Integer()


class SettingsOut(Schema):
    email = fields.String(allow_none=True)
    email_enabled = fields.Boolean(metadata={"description": "the user's choice"})
    email_active = fields.Boolean(metadata={"description": "chosen and an address is set"})
    inapp_enabled = fields.Boolean(metadata={"description": "always true"})


class SettingsPatch(Strict):
    email = fields.String(allow_none=True, validate=validate.Length(max=254))
    email_enabled = fields.Boolean()


class WebhookOut(Schema):
    id = fields.Integer()
    org_unit = computed(lambda w: w.org_unit.code)
    org_unit_name = computed(lambda w: w.org_unit.name)
    url = fields.String()
    format = fields.String()
    has_secret = computed(lambda w: bool(w.secret), "boolean")
    created_at = LocalDateTime()


class WebhookCreated(WebhookOut):
    secret = fields.String(metadata={"description": "shown only in this answer"})


class WebhookCreate(Strict):
    org_unit = fields.String(required=True, validate=validate.Length(min=1, max=64))
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    format = fields.String(
        load_default="generic", validate=validate.OneOf(["generic", "wecom", "dingtalk"])
    )
    secret = fields.String(load_default="", validate=validate.Length(max=200))


class WebhookQuery(PageQuery):
    org_unit = fields.String(validate=validate.Length(min=1, max=64))


class OutboxQuery(PageQuery):
    status = fields.String(
        load_default="dead", validate=validate.OneOf(["pending", "sent", "dead"])
    )


class OutboxOut(Schema):
    id = fields.Integer()
    channel = fields.String()
    kind = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    address = fields.String(allow_none=True)
    username = computed(lambda n: n.user.username if n.user else None, nullable=True)
    webhook_id = fields.Integer(allow_none=True)
    org_unit = computed(lambda n: n.webhook.org_unit.code if n.webhook else None, nullable=True)
    items = fields.List(fields.Dict())
    created_at = LocalDateTime()
    next_attempt_at = LocalDateTime(allow_none=True)
    sent_at = LocalDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)


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
NotificationPage = page_schema(NotificationOut, "NotificationPage")
WebhookPage = page_schema(WebhookOut, "WebhookPage")
OutboxPage = page_schema(OutboxOut, "OutboxPage")
