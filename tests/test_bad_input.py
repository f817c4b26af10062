"""No 500 for bad input (issue 14, items 7 and 8), on SQLite and PostgreSQL through Flask's test
client: the API and the pages refuse the same input the same way (one rule per field,
`workflows.inputs`), and what they refuse changes nothing.

- Length limits are the columns' (`column_length`): a title at its limit is stored whole, one
  character more is a 422 naming the field; an instance's title (request title plus community)
  is shortened deliberately so that the community always shows.
- Report periods from 0001-01-01 to 9999-12-31 answer, in the API (JSON, CSV, Excel, drill-down)
  and on the pages.
- JSON numbers no column can hold (a 100,000-digit integer, 2**63, 1e309, NaN, Infinity) are a
  400 JSON error.
- NUL characters in a page's form are a 400, urlencoded or multipart; control characters and
  text with nothing visible (zero-width spaces) are refused by the API and the pages alike.
- (slow) every field of every POST form the pages show, found by reading the pages, posted
  urlencoded and multipart with hostile values: never a 500.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from handoff import demo, residents
from handoff import requests as handoff
from handoff.models import CatalogItem, Request
from notifications import webhooks
from notifications.models import Notification
from server import create_app
from server.web import i18n
from workflows import definitions, inputs, migrate, service
from workflows.db import Database
from workflows.inputs import column_length
from workflows.models import AuditEvent, OrgUnit, ProcessInstance, Role, Task, User
from workflows.service import Actor

from .conftest import BACKENDS, _fresh_postgres_database, _postgres_url
from .test_admin_paths import Api, page_errors
from .test_engine import MINI, deploy_mini
from .test_handoff import start_at
from .test_web_pages import Browser, signed_in, text

TITLE_MAX = column_length(Request.title)
REQUEST = {
    "item_code": "A01",
    "community_codes": ["TB-RG-01", "TB-RG-02"],
    "amount": "5000.00",
    "due_date": "2099-12-31",
}
# what the new-request page posts for REQUEST
FORM = {
    "item_code": "A01",
    "community_codes": ["TB-RG-01", "TB-RG-02"],
    "amount": "5000.00",
    "due_date": "2099-12-31",
    "action": "submit",
}
CONTROL = "申请\x1b[31m标题"
INVISIBLE = "\u200b\u200b"


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def changes(db) -> tuple[int, ...]:
    """What a refused input must leave as it was: requests, instances, audit events, users, org
    units, catalog entries and roles."""
    with db.read() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model))
            for model in (Request, ProcessInstance, AuditEvent, User, OrgUnit, CatalogItem, Role)
        )


def community_names(db, codes) -> list[str]:
    with db.read() as s:
        rows = s.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(codes)))
        names = dict(rows.all())
    return [names[c] for c in codes]


# --- 7. lengths are the columns' -------------------------------------------------------------


def _instance_titles(db, request_id: int) -> list[str]:
    with db.read() as s:
        number = s.scalar(select(Request.number).where(Request.id == request_id))
        rows = s.scalars(
            select(ProcessInstance.title)
            .where(ProcessInstance.business_key == number)
            .order_by(ProcessInstance.id)
        )
        tasks = s.scalars(select(Task.title).where(Task.business_key == number))
        return [*rows, *tasks]


def _assert_titled(db, request_id: int, title: str) -> None:
    """Every instance (and task) of the request names its community after the title, shortened
    with an ellipsis to fit its column; the request keeps the title whole."""
    with db.read() as s:
        assert s.get(Request, request_id).title == title
    names = community_names(db, REQUEST["community_codes"])
    titles = _instance_titles(db, request_id)
    assert len(titles) == 4  # two instances, two street reviews
    for shown in titles:
        assert len(shown) <= column_length(ProcessInstance.title)
        community = next(n for n in names if shown.endswith(f"（{n}）"))
        head = shown.removesuffix(f"（{community}）")
        assert head.endswith("…") and title.startswith(head.removesuffix("…"))


def test_a_title_at_its_limit_is_kept_and_every_community_still_shows(app, db):
    title = "甲" * TITLE_MAX
    r = Api(app, "dept.mz").call("POST", "/requests", {**REQUEST, "title": title})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["title"] == title
    _assert_titled(db, r.get_json()["id"], title)
    page = signed_in(app, "dept.mz").post("/requests/new", {**FORM, "title": "乙" * TITLE_MAX})
    assert page.status_code == 302, text(page)[:2000]
    request_id = int(page.headers["Location"].rsplit("/", 1)[-1])
    _assert_titled(db, request_id, "乙" * TITLE_MAX)


def test_a_short_title_is_the_whole_label():
    assert handoff.instance_title("低保调查", "瑞光社区") == "低保调查（瑞光社区）"
    long = handoff.instance_title("甲" * 195, "瑞光社区")
    assert len(long) == 200 and long.endswith("…（瑞光社区）")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_one_character_past_the_limit_is_refused_by_the_api_and_the_page(app, db, lang):
    api, browser = Api(app, "dept.mz"), signed_in(app, "dept.mz")
    browser.get("/inbox?lang=" + lang)
    before = changes(db)
    r = api.call("POST", "/requests", {**REQUEST, "title": "甲" * 201})
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"] == {"title": "最多 200 个字符 at most 200 characters"}
    page = browser.post("/requests/new", {**FORM, "title": "甲" * 201})
    assert page.status_code == 422
    expected = {"zh": "最多 200 个字符", "en": "at most 200 characters"}[lang]
    assert page_errors(page)["title"] == expected
    assert changes(db) == before


# Each text field of a JSON body that ends in a column, with that column: at its limit it is
# stored whole, one character more is a 422 naming the field (the schema's maxLength and the
# service's rule are both the column's).
USER = {"username": "limit.{tag}", "password": "p" * 12}
UNIT = {"code": "LIM-{TAG}", "kind": "community", "parent": "TB-RG"}
ITEM = {"code": "LIM-{TAG}", "name": "n", "category": "assisted"}
ROLE = {"key": "limit_{tag}", "name_zh": "限", "name_en": "Limit", "unit_kind": "community"}
LIMITS = [
    ("/users", "display_name", User.display_name, USER),
    ("/org-units", "name", OrgUnit.name, UNIT),
    ("/catalog/items", "name", CatalogItem.name, ITEM),
    ("/catalog/items", "legal_basis", CatalogItem.legal_basis, ITEM),
    ("/roles", "name_zh", Role.name_zh, ROLE),
    ("/roles", "name_en", Role.name_en, ROLE),
    ("/requests", "legal_basis", Request.legal_basis, {**REQUEST, "title": "依据"}),
]


@pytest.mark.parametrize("case", LIMITS, ids=lambda c: f"{c[0]}.{c[1]}")
def test_every_text_is_stored_whole_at_its_column_limit_and_refused_past_it(app, db, tag, case):
    path, field, column, body = case
    body = {
        k: v.format(tag=tag, TAG=tag.upper()) if isinstance(v, str) else v for k, v in body.items()
    }
    limit = column_length(column)
    api = Api(app, "admin" if path != "/requests" else "dept.mz")
    before = changes(db)
    r = api.call("POST", path, {**body, field: "丙" * (limit + 1)})
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["fields"] == {field: inputs.too_long(limit)}
    assert changes(db) == before
    r = api.call("POST", path, {**body, field: "丙" * limit})
    assert r.status_code == 201, r.get_json()
    with db.read() as s:
        assert s.scalar(select(column).where(column == "丙" * limit)) == "丙" * limit


def test_the_schemas_limits_are_the_columns(app):
    """The OpenAPI description's maxLength of each text that ends in a column is the column's
    length (both read it from the models, so they cannot drift)."""
    spec = app.extensions["api"].spec.to_dict()["components"]["schemas"]
    ends_in = {
        ("RequestCreate", "title"): Request.title,
        ("RequestCreate", "legal_basis"): Request.legal_basis,
        ("RequestCreate", "item_code"): Request.item_code,
        ("RequestCreate", "department_code"): OrgUnit.code,
        ("UserCreate", "username"): User.username,
        ("UserCreate", "display_name"): User.display_name,
        ("UserPatch", "display_name"): User.display_name,
        ("OrgUnitCreate", "code"): OrgUnit.code,
        ("OrgUnitCreate", "name"): OrgUnit.name,
        ("OrgUnitCreate", "parent"): OrgUnit.code,
        ("OrgUnitPatch", "name"): OrgUnit.name,
        ("CatalogItemCreate", "code"): CatalogItem.code,
        ("CatalogItemCreate", "name"): CatalogItem.name,
        ("CatalogItemCreate", "legal_basis"): CatalogItem.legal_basis,
        ("CatalogItemPatch", "name"): CatalogItem.name,
        ("CatalogItemPatch", "legal_basis"): CatalogItem.legal_basis,
        ("Membership", "org_unit"): OrgUnit.code,
        ("Delegate", "username"): User.username,
        ("Start", "business_key"): ProcessInstance.business_key,
        ("Role", "key"): Role.key,
        ("Role", "name_zh"): Role.name_zh,
        ("Role", "name_en"): Role.name_en,
        ("Role", "unit_kind"): Role.unit_kind,
        ("HolidayPeriod", "name"): "calendar_day.name",
        ("AdjustedWorkday", "name"): "calendar_day.name",
        ("CalendarYear", "notice"): "calendar_year.notice",
    }
    from workflows.models import CalendarDay, CalendarYear

    named = {"calendar_day.name": CalendarDay.name, "calendar_year.notice": CalendarYear.notice}
    for (schema, field), column in ends_in.items():
        column = named.get(column, column) if isinstance(column, str) else column
        found = spec.get(schema) or spec[schema + "In"]
        assert found["properties"][field]["maxLength"] == column_length(column), (schema, field)
    items = spec["RequestCreate"]["properties"]["community_codes"]["items"]
    assert items["maxLength"] == column_length(OrgUnit.code)


# --- 8. extreme dates in the reports ----------------------------------------------------------

REPORTS_API = [
    "/reports/summary",
    "/reports/summary.csv",
    "/reports/summary.xlsx",
    "/reports/requests",
]
REPORTS_PAGES = ["/reports", "/reports/requests", "/reports/summary.csv", "/reports/summary.xlsx"]
EXTREMES = [
    {"from": "0001-01-01"},
    {"to": "0001-01-01"},
    {"from": "0001-01-01", "to": "9999-12-31"},
    {"from": "9999-12-30", "to": "9999-12-31"},
]  # fmt: skip


@pytest.mark.parametrize(
    "period", EXTREMES, ids=lambda p: "_".join(f"{k}{v}" for k, v in p.items())
)
def test_report_periods_from_the_first_day_to_the_last_answer(app, db, actor, period):
    handoff.create_request(
        db,
        actor("dept.mz"),
        handoff.RequestInput(title="报表", **{**REQUEST, "community_codes": ["TB-RG-01"]}),
    )
    everything = (
        period.get("from") == "0001-01-01" and period.get("to", "9999-12-31") == "9999-12-31"
    )
    api = Api(app, "dept.mz")
    for path in REPORTS_API:
        r = api.client.get(
            "/api/v1" + path, query_string=period, headers={"Authorization": f"Bearer {api.token}"}
        )
        assert r.status_code == 200, (path, r.get_data(as_text=True)[:500])
        if path == "/reports/summary":
            assert r.get_json()["period"]["from"] == period.get("from")
            assert r.get_json()["totals"]["requests"] == (1 if everything else 0)
        if path == "/reports/requests":
            assert r.get_json()["total"] == (1 if everything else 0)
    browser = signed_in(app, "dept.mz")
    for path in REPORTS_PAGES:
        r = browser.get(path, query_string=period)
        assert r.status_code == 200, (path, text(r)[:500])


# --- 8. numbers no column can hold ------------------------------------------------------------

NUMBERS = {
    "100000_digits": "1" * 100_000,
    "minus_100000_digits": "-" + "9" * 100_000,
    "two_to_the_63": str(2**63),
    "overflowing_float": "1e309",
    "nan": "NaN",
    "infinity": "-Infinity",
}


@pytest.mark.parametrize("name", sorted(NUMBERS))
def test_json_numbers_out_of_range_are_a_400_and_change_nothing(app, db, name):
    number = NUMBERS[name]
    api = Api(app, "dept.mz")
    before = changes(db)
    bodies = [
        ("/requests", '{"title": "x", "community_codes": ["TB-RG-01"], "amount": NUMBER}'),
        ("/requests", '{"title": NUMBER, "community_codes": ["TB-RG-01"], "amount": "1.00"}'),
        ("/messages", '{"name": "catalog_objection", "correlation": {"item_code": NUMBER}}'),
        (
            "/process-definitions/catalog_review/start",
            '{"data": {"item_code": "A01", "n": NUMBER}}',
        ),
        ("/tasks/1/complete", '{"data": {"score": NUMBER}}'),
    ]
    for path, body in bodies:
        r = api.client.post(
            "/api/v1" + path,
            data=body.replace("NUMBER", number),
            headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
        )
        assert r.status_code == 400, (path, r.get_data(as_text=True)[:300])
        error = r.get_json()["error"]
        assert error["code"] == "bad_request" and "number out of range" in error["message"]
    assert changes(db) == before


def test_minus_zero_and_the_largest_integers_are_numbers(app, db):
    api = Api(app, "dept.mz")
    for number in ("-0", "-0.0", str(2**63 - 1), str(-(2**63 - 1)), "1e308"):
        r = api.client.post(
            "/api/v1/requests",
            data='{"title": "x", "community_codes": ["TB-RG-01"], "amount": NUMBER}'.replace(
                "NUMBER", number
            ),
            headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
        )
        # a number where a string belongs: the schema names the field
        assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"amount"}


# --- 8. NUL, control characters and invisible text --------------------------------------------


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_nul_in_any_page_form_is_a_400_and_changes_nothing(app, db, encoding):
    admin = signed_in(app, "admin")
    dept = signed_in(app, "dept.mz")
    kw = {"content_type": "multipart/form-data"} if encoding == "multipart" else {}
    before = changes(db)
    role = {"key": "nul_r", "name_en": "Role", "unit_kind": "community"}
    posts = [
        (dept, "/requests/new", {**FORM, "title": "申请\x00标题"}),
        (dept, "/requests/new", {**FORM, "community_codes": "TB-RG-01\x00"}),
        (admin, "/admin/users", {"username": "nul.user", "display_name": "名\x00字"}),
        (admin, "/admin/org-units", {"code": "NUL-U", "name": "单位\x00", "kind": "community"}),
        (admin, "/admin/catalog", {"code": "NUL-I", "name": "事项\x00", "category": "assisted"}),
        (admin, "/admin/roles", {**role, "name_zh": "角\x00色"}),
        (admin, "/admin/calendar/2031", {"notice": "\x00", "holidays": "元旦 2031-01-01"}),
        (admin, "/admin/users/committee.rg01/memberships", {"role": "committee\x00"}),
    ]
    for client, path, form in posts:
        r = client.post(path, form, **kw)
        assert r.status_code == 400, (path, text(r)[:1000])
    assert changes(db) == before


@pytest.mark.parametrize(
    "value", [CONTROL, INVISIBLE, "a\u202eb"], ids=["control", "invisible", "bidi"]
)
def test_a_title_the_api_refuses_is_refused_by_the_page(app, db, value):
    api, browser = Api(app, "dept.mz"), signed_in(app, "dept.mz")
    before = changes(db)
    r = api.call("POST", "/requests", {**REQUEST, "title": value})
    assert r.status_code == 422
    message = r.get_json()["error"]["fields"]["title"]
    assert message == inputs.text_problem(value, TITLE_MAX).message
    page = browser.post("/requests/new", {**FORM, "title": value})
    assert page.status_code == 422, text(page)[:1000]
    assert page_errors(page) == {"title": i18n.one_language(message)}  # its Chinese half
    assert changes(db) == before


TEXT_USER = {"username": "bad.text", "password": "p" * 12}
TEXT_UNIT = {"code": "BAD-TEXT", "kind": "community", "parent": "TB-RG"}
TEXT_ITEM = {"code": "BAD-TEXT", "category": "assisted"}
TEXT_ROLE = {"key": "bad_text", "name_en": "Bad", "unit_kind": "community"}
TEXTS = [  # (API call, page form, field): the same refusal both ways
    (("POST", "/users", TEXT_USER), ("/admin/users", TEXT_USER), "display_name"),
    (("POST", "/org-units", TEXT_UNIT), ("/admin/org-units", TEXT_UNIT), "name"),
    (("POST", "/catalog/items", TEXT_ITEM), ("/admin/catalog", TEXT_ITEM), "name"),
    (
        ("PATCH", "/org-units/TB-RG-01", {}),
        ("/admin/org-units/TB-RG-01", {"parent": "TB-RG"}),
        "name",
    ),
    (("POST", "/roles", TEXT_ROLE), ("/admin/roles", TEXT_ROLE), "name_zh"),
]


@pytest.mark.parametrize(
    "value", [CONTROL, INVISIBLE, " \u3000 "], ids=["control", "invisible", "blank"]
)
@pytest.mark.parametrize("case", TEXTS, ids=lambda c: f"{c[1][0]}.{c[2]}")
def test_names_the_api_refuses_are_refused_by_the_admin_pages(app, db, case, value):
    (method, path, body), (page_path, form), field = case
    api, browser = Api(app, "admin"), signed_in(app, "admin")
    before = changes(db)
    r = api.call(method, path, {**body, field: value})
    assert r.status_code == 422, r.get_json()
    assert set(r.get_json()["error"]["fields"]) == {field}
    page = browser.post(page_path, {**form, field: value})
    assert page.status_code == 422, text(page)[:1000]
    assert set(page_errors(page)) == {field}
    assert changes(db) == before


# --- every field of every page form, urlencoded and multipart ---------------------------------


class Forms(HTMLParser):
    """The POST forms of a page: action -> {field: the value the page would post}."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str], bool]] = []
        self._form: dict[str, str] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = {}
            multipart = a.get("enctype") == "multipart/form-data"
            self.forms.append((a.get("action", ""), self._form, multipart))
        if self._form is None or "name" not in a:
            return
        if tag == "input" and a.get("type") in ("radio", "checkbox"):
            if "checked" in a:
                self._form[a["name"]] = a.get("value", "on")
        elif tag == "input" and a.get("type") != "file":
            self._form[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            self._form.setdefault(a["name"], "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form[a["name"]] = ""
        elif tag == "option" and self._select and "selected" in a:
            self._form[self._select] = a.get("value", "")

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


@pytest.fixture(params=BACKENDS)
def private_app(request, database_url_factory, tmp_path):
    """An app on a database of its own: the sweep renames, deactivates and deletes."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/forms.sqlite3"
    else:
        database_url_factory("postgresql")  # skips or fails when there is no PostgreSQL
        url = _fresh_postgres_database(_postgres_url())
    migrate.upgrade(url)
    database = Database(url)
    with database.write() as session:
        demo.seed(session)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app, database
    app.extensions["db"].dispose()
    database.dispose()


def _crawl(app, database) -> list[tuple[str, str, dict[str, str], bool]]:
    """(user, action, fields, multipart) of every POST form on the pages each kind of user sees,
    with a handoff at review and one signed, so that task, cancel and termination forms show, and
    two whose work is reported, for the 居民评议 forms."""
    actor = _actor_of(database)
    request_id = handoff.create_request(
        database, actor("dept.mz"), handoff.RequestInput(title="表单", **REQUEST)
    )
    with database.read() as s:
        number = s.get(Request, request_id).number
        rows = select(ProcessInstance.id).where(ProcessInstance.business_key == number)
        reviewed, signed = s.scalars(rows.order_by(ProcessInstance.id)).all()
    steps = [
        ("street_review", "street.rg", {"decision": "approve"}),
        ("sign_committee", "committee.rg02", {"decision": "sign"}),
        ("sign_department", "dept.mz", {"decision": "sign"}),
        ("sign_street", "street.rg", {"decision": "sign"}),
    ]
    for key, username, data in steps:  # the second handoff signed: it may be terminated
        with database.read() as s:
            task_id = s.scalar(select(Task.id).where(Task.instance_id == signed, Task.key == key))
        service.complete_task(database, task_id, actor(username), data)
    with database.read() as s:
        tasks = s.scalars(select(Task.id).where(Task.instance_id == reviewed)).all()
    instance_id = reviewed
    service.claim_task(database, tasks[0], actor("street.rg"))  # its page offers to release it
    other = handoff.RequestInput(title="表单二", **{**REQUEST, "community_codes": ["TB-RG-03"]})
    other_id = handoff.create_request(database, actor("dept.mz"), other)
    with database.read() as s:  # an open review nobody claimed: its page offers to claim it
        number = s.get(Request, other_id).number
        tasks = [*tasks, *s.scalars(select(Task.id).where(Task.business_key == number))]
    # two versions of a process, the older suspended: activate, suspend and release forms
    first = deploy_mini(database)
    deploy_mini(database, MINI.replace('name="Mini review"', 'name="Mini review 2"'))
    with database.write() as s:
        definitions.set_suspended(s, s.merge(first), True)
    # a webhook and a dead letter, so the admin's delete, test and retry forms show
    with database.write() as s:
        hook = webhooks.create(s, org_unit="TB-RG", url="https://example.org/h", actor_id=None)
        s.add(Notification(channel="webhook", webhook_id=hook.id, kind="test", status="dead"))
    # 居民评议: a handoff whose work is reported (its committee's opening form) and one whose
    # survey is open (the residents' public form)
    ready = start_at(database, actor, "acceptance", title="评议")
    surveyed = start_at(database, actor, "acceptance", title="评议二")
    residents.open_survey(database, actor("committee.rg01"), surveyed)
    with database.read() as s:
        survey_token = residents.survey_of(s, surveyed).token
    pages = {
        "committee.rg01": [f"/instances/{ready}/resident-survey/new"],
        "dept.mz": ["/requests/new", f"/instances/{instance_id}", f"/requests/{request_id}",
                    "/processes/catalog_review/start", f"/instances/{signed}/terminate"],
        "street.rg": [f"/tasks/{t}" for t in tasks]
        + ["/processes/emergency/start", "/inbox", "/messages", "/settings"],
        "admin": ["/admin/users", "/admin/users/committee.rg05", "/admin/org-units",
                  "/admin/org-units/TB-RG-05", "/admin/catalog", "/admin/catalog/A02",
                  "/admin/processes", "/admin/roles", "/admin/calendar",
                  "/admin/agreement-templates", "/admin/agreement-templates/assisted",
                  "/processes/mini", "/processes/handoff", "/admin/webhooks", "/admin/outbox",
                  "/admin/evaluation-weights"],
        "anonymous": ["/login", f"/r/{survey_token}"],
    }  # fmt: skip
    found = []
    for user, paths in pages.items():
        browser = Browser(app) if user == "anonymous" else signed_in(app, user)
        for path in paths:
            page = browser.get(path)
            assert page.status_code == 200, (user, path, page.status_code)
            parser = Forms()
            parser.feed(page.get_data(as_text=True))
            for action, fields, multipart in parser.forms:
                if action != "/logout":
                    found.append((user, action, fields, multipart))
    return found


def _actor_of(database):
    def get(username):
        with database.read() as s:
            return Actor.of(s.scalar(select(User).where(User.username == username)))

    return get


HOSTILE = {
    "nul": "申请\x00标题",
    "control": CONTROL,
    "zero_width": INVISIBLE,
    "bidi": "a\u202eb",
    "long": "甲" * 25_000,
    "first_day": "0001-01-01",
    "last_day": "9999-12-31",
    "huge_number": "9" * 5000,
    "not_a_number": "NaN",
    "overflow": "1e309",
}


@pytest.mark.slow
def test_every_field_of_every_page_form_with_hostile_values(private_app):
    """Each field of each POST form the pages show (found on the pages themselves, so a new form
    is swept too), posted urlencoded and multipart with NUL, control, zero-width and bidi
    characters, 25,000 characters, extreme dates and numbers: never a 500; a NUL is a 400 that
    changes nothing."""
    app, database = private_app
    forms = _crawl(app, database)
    endpoints = {app.url_map.bind("localhost").match(a, method="POST")[0] for _, a, _, _ in forms}
    posted = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if "POST" in r.methods and r.endpoint.startswith("web.")
    }
    # every page form of the service is among those swept (logout only signs out)
    assert posted - endpoints == {"web.logout"}, posted - endpoints
    browsers: dict[str, tuple[Browser, str]] = {}
    swept = 0
    for user, action, fields, multipart in forms:
        if user not in browsers:
            anonymous = user == "anonymous"
            browser = Browser(app) if anonymous else signed_in(app, user)
            browsers[user] = browser, browser.token("/login" if anonymous else "/inbox")
        browser, token = browsers[user]
        for name in [n for n in fields if n != "csrf_token"]:
            for kind, value in HOSTILE.items():
                encodings = ["multipart"] if multipart else ["urlencoded", "multipart"]
                for encoding in encodings:
                    before = changes(database)
                    data = {**fields, name: value, "csrf_token": token}
                    kw = {"content_type": "multipart/form-data"} if encoding == "multipart" else {}
                    r = browser.client.post(action, data=data, **kw)
                    swept += 1
                    where = (user, action, name, kind, encoding)
                    assert r.status_code < 500, (*where, r.status_code, text(r)[:500])
                    if kind == "nul":
                        assert r.status_code == 400, where
                        assert changes(database) == before, where
    assert len(forms) >= 25 and swept >= 1000  # (31 forms, 1,240 posts when written)
