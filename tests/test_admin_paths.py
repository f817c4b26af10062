"""One admin write path: the JSON API and the admin pages call the same service functions, so the
same input gets the same refusal (status, field) and the same audit trail both ways; the pages
word the refusal next to the field, in the page's language, from the catalogue. On SQLite and
PostgreSQL, through Flask's test client."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from handoff.models import CatalogItem
from server import create_app
from server.web import i18n
from workflows.models import AuditEvent, OrgUnit, User

from .test_web_pages import PASSWORD, signed_in, text
from .test_web_processes import _data_words, assert_one_language

NEW_PASSWORD = "a-long-enough-password"
ERROR_ID = re.compile(r'id="err-([a-z_]+)"')


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


class Api:
    """The JSON API in process, signed in with a bearer token."""

    def __init__(self, app, username: str, password: str = PASSWORD):
        self.client = app.test_client()
        r = self.client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert r.status_code == 200, r.get_json()
        self.token = r.get_json()["token"]

    def call(self, method: str, path: str, json=None):
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.client.open("/api/v1" + path, method=method, json=json, headers=headers)


def page_errors(response) -> dict[str, str]:
    """field -> the message shown next to it."""
    page = text(response)
    out = {}
    for field in ERROR_ID.findall(page):
        match = re.search(rf'id="err-{field}">(.*?)</p>', page, flags=re.S)
        out[field] = match.group(1).strip()
    return out


def data_words(db) -> list[str]:
    """The data's own words on the admin pages: people, units, usernames, catalog items."""
    with db.read() as s:
        names = [*s.scalars(select(User.username)), *s.scalars(select(CatalogItem.name))]
    return [*_data_words(db), *names]


def counts(db) -> tuple[int, int, int]:
    with db.read() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model))
            for model in (User, OrgUnit, CatalogItem)
        )


def actions(db, action: str) -> list[dict]:
    with db.read() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return [e.detail for e in rows]


# --- the old token after switching a user off and on ------------------------------------------


def test_a_user_switched_off_and_on_on_the_page_cannot_use_their_old_api_token(app, db):
    victim = Api(app, "committee.rg02")
    assert victim.call("GET", "/me").status_code == 200
    admin = signed_in(app, "admin")
    try:
        r = admin.post("/admin/users/committee.rg02/active", {"active": "0"})
        assert r.status_code == 302
        assert victim.call("GET", "/me").status_code == 401
        r = admin.post("/admin/users/committee.rg02/active", {"active": "1"})
        assert r.status_code == 302
        assert victim.call("GET", "/me").status_code == 401  # the old token stays ended
        assert Api(app, "committee.rg02").call("GET", "/me").status_code == 200
    finally:
        with db.write() as s:
            s.scalar(select(User).where(User.username == "committee.rg02")).is_active = True
    assert actions(db, "auth.tokens_revoked") == [{"username": "committee.rg02", "count": 1}]


def test_switching_off_through_the_api_and_the_page_leaves_the_same_trail(app, db):
    api, page = Api(app, "admin"), signed_in(app, "admin")
    Api(app, "committee.rg03"), Api(app, "committee.rg04")  # one token each
    try:
        r = api.call("PATCH", "/users/committee.rg03", {"is_active": False})
        assert r.status_code == 200
        r = page.post("/admin/users/committee.rg04/active", {"active": "0"})
        assert r.status_code == 302
    finally:
        with db.write() as s:
            for name in ("committee.rg03", "committee.rg04"):
                s.scalar(select(User).where(User.username == name)).is_active = True
    assert actions(db, "auth.tokens_revoked") == [
        {"username": "committee.rg03", "count": 1},
        {"username": "committee.rg04", "count": 1},
    ]
    updated = actions(db, "user.updated")
    assert updated == [
        {"username": "committee.rg03", "changed": ["is_active"]},
        {"username": "committee.rg04", "changed": ["is_active"]},
    ]


def test_nobody_switches_their_own_account_off_either_way(app, db):
    page = signed_in(app, "admin")
    try:
        r = Api(app, "admin").call("PATCH", "/users/admin", {"is_active": False})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
        r = page.post("/admin/users/admin/active", {"active": "0"})
        assert r.status_code == 403
        assert page_errors(r) == {"is_active": i18n.STRINGS["admin.error.self_deactivation"][0]}
        with db.read() as s:
            assert s.scalar(select(User.is_active).where(User.username == "admin"))
        assert actions(db, "user.updated") == []
    finally:  # the other tests need their administrator
        with db.write() as s:
            s.scalar(select(User).where(User.username == "admin")).is_active = True


# --- the same refusal both ways -------------------------------------------------------------


def _cases(tag: str):
    """(name, API call, page call, status, API fields, page fields): the same input both ways."""
    user = {"username": f"adm.{tag}", "display_name": "新同事", "password": NEW_PASSWORD}
    form = user | {"role": "", "org_unit": ""}
    unit = {"code": f"ADM-{tag.upper()}", "name": "新单位", "kind": "street", "parent": "TB"}
    item = {"code": f"ADM{tag.upper()}", "name": "新事项", "category": "assisted"}
    item_form = item | {"legal_basis": ""}
    return [
        (
            "duplicate_user",
            ("POST", "/users", user | {"username": "dept.mz"}),
            ("/admin/users", form | {"username": "dept.mz"}),
            409,
            set(),
            {"username": "user_exists"},
        ),
        (
            "role_at_the_wrong_kind_of_unit",
            ("POST", "/users", user | {"memberships": [{"role": "committee", "org_unit": "TB"}]}),
            ("/admin/users", form | {"role": "committee", "org_unit": "TB"}),
            422,
            {"memberships.0.role"},
            {"role": "role_unit_kind"},
        ),
        (
            "unknown_role",
            ("POST", "/users", user | {"memberships": [{"role": "wizard", "org_unit": "TB"}]}),
            ("/admin/users", form | {"role": "wizard", "org_unit": "TB"}),
            422,
            {"memberships.0.role"},
            {"role": "unknown_role"},
        ),
        (
            "unknown_org_unit",
            (
                "POST",
                "/users",
                user | {"memberships": [{"role": "committee", "org_unit": "NOPE"}]},
            ),
            ("/admin/users", form | {"role": "committee", "org_unit": "NOPE"}),
            422,
            {"memberships.0.org_unit"},
            {"org_unit": "unknown_org_unit"},
        ),
        (
            "short_password",
            ("POST", "/users", user | {"password": "short"}),
            ("/admin/users", form | {"password": "short"}),
            422,
            {"password"},
            {"password": "invalid_password"},
        ),
        (
            "bad_username",
            ("POST", "/users", user | {"username": "bad name!"}),
            ("/admin/users", form | {"username": "bad name!"}),
            422,
            {"username"},
            {"username": "invalid_username"},
        ),
        (
            "duplicate_unit",
            ("POST", "/org-units", unit | {"code": "TB-RG"}),
            ("/admin/org-units", unit | {"code": "TB-RG"}),
            409,
            set(),
            {"code": "code_exists"},
        ),
        (
            "unknown_parent",
            ("POST", "/org-units", unit | {"parent": "NOPE"}),
            ("/admin/org-units", unit | {"parent": "NOPE"}),
            422,
            {"parent"},
            {"parent": "unknown_parent"},
        ),
        (
            "bad_unit_code",
            ("POST", "/org-units", unit | {"code": "bad code!"}),
            ("/admin/org-units", unit | {"code": "bad code!"}),
            422,
            {"code"},
            {"code": "invalid_unit_code"},
        ),
        (
            "unit_its_own_ancestor",
            ("PATCH", "/org-units/TB", {"name": "洮北区", "parent": "TB-RG"}),
            ("/admin/org-units/TB", {"name": "洮北区", "parent": "TB-RG"}),
            422,
            {"parent"},
            {"parent": "cycle"},
        ),
        (
            "duplicate_item",
            ("POST", "/catalog/items", item | {"code": "A01"}),
            ("/admin/catalog", item_form | {"code": "A01"}),
            409,
            set(),
            {"code": "code_exists"},
        ),
        (
            "bad_item_category",
            ("POST", "/catalog/items", item | {"category": "planet"}),
            ("/admin/catalog", item_form | {"category": "planet"}),
            422,
            {"category"},
            {"category": "invalid_category"},
        ),
        (
            "item_without_a_name",
            ("PATCH", "/catalog/items/A01", {"name": ""}),
            (
                "/admin/catalog/A01",
                {"name": "", "category": "assisted", "legal_basis": "", "active": "1"},
            ),
            422,
            {"name"},
            {"name": "required"},
        ),
        (
            "membership_at_the_wrong_kind_of_unit",
            (
                "PATCH",
                "/users/street.hm",
                {"memberships": [{"role": "committee", "org_unit": "TB-RG"}]},
            ),
            ("/admin/users/street.hm/memberships", {"role": "committee", "org_unit": "TB-RG"}),
            422,
            {"memberships.0.role"},
            {"role": "role_unit_kind"},
        ),
    ]


CASES = [c[0] for c in _cases("x")]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", CASES)
def test_the_same_input_is_refused_the_same_way_by_the_api_and_the_pages(app, db, tag, case, lang):
    _, (method, path, body), (page_path, form), status, api_fields, page_reasons = next(
        c for c in _cases(tag) if c[0] == case
    )
    before = counts(db)
    r = Api(app, "admin").call(method, path, body)
    assert r.status_code == status, r.get_json()
    assert set(r.get_json()["error"].get("fields", {})) == api_fields
    page = signed_in(app, "admin")
    page.get("/inbox?lang=" + lang)
    r = page.post(page_path, form)
    assert r.status_code == status, text(r)[:2000]
    expected = {
        field: i18n.STRINGS[f"admin.error.{reason}"][i18n.LANGS.index(lang)]
        for field, reason in page_reasons.items()
    }
    assert page_errors(r) == expected
    assert_one_language(r, lang, [*data_words(db), *form.values()])
    # refused both ways: nothing made, nothing changed, nothing audited
    assert counts(db) == before
    with db.read() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action.notlike("auth.%"))
            )
            == 0
        )


# --- what is made is the same both ways -----------------------------------------------------


def test_a_user_made_on_the_page_is_checked_and_audited_as_through_the_api(app, db, tag):
    page = signed_in(app, "admin")
    form = {
        "username": f"adm.p{tag}",
        "display_name": "页面新人",
        "password": NEW_PASSWORD,
        "role": "committee",
        "org_unit": "TB-RG-01",
    }
    r = page.post("/admin/users", form)
    assert r.status_code == 302
    r = page.post("/admin/users", form)  # twice: the field error, nothing more made
    assert r.status_code == 409
    assert page_errors(r) == {"username": i18n.STRINGS["admin.error.user_exists"][0]}
    r = Api(app, "admin").call(
        "POST",
        "/users",
        {
            "username": f"adm.a{tag}",
            "display_name": "接口新人",
            "password": NEW_PASSWORD,
            "memberships": [{"role": "committee", "org_unit": "TB-RG-01"}],
        },
    )
    assert r.status_code == 201
    for name in (f"adm.p{tag}", f"adm.a{tag}"):
        me = Api(app, name, NEW_PASSWORD).call("GET", "/me").get_json()
        assert [(m["role"], m["org_unit"]) for m in me["memberships"]] == [
            ("committee", "TB-RG-01")
        ]
    assert actions(db, "user.created") == [
        {"username": f"adm.p{tag}"},
        {"username": f"adm.a{tag}"},
    ]


def test_units_and_items_made_twice_on_the_page_are_made_once(app, db, tag):
    page = signed_in(app, "admin")
    unit = {"code": f"ADM-{tag.upper()}", "name": "新街道", "kind": "street", "parent": "TB"}
    assert page.post("/admin/org-units", unit).status_code == 302
    before = counts(db)
    r = page.post("/admin/org-units", unit | {"name": "又一个"})
    assert r.status_code == 409
    assert page_errors(r) == {"code": i18n.STRINGS["admin.error.code_exists"][0]}
    item = {
        "code": f"ADM{tag.upper()}",
        "name": "新事项",
        "category": "assisted",
        "legal_basis": "",
    }
    assert page.post("/admin/catalog", item).status_code == 302
    r = page.post("/admin/catalog", item | {"name": "又一个"})
    assert r.status_code == 409
    assert page_errors(r) == {"code": i18n.STRINGS["admin.error.code_exists"][0]}
    assert counts(db) == (before[0], before[1], before[2] + 1)
    assert actions(db, "org_unit.created") == [{"code": unit["code"]}]
    assert actions(db, "catalog.created") == [{"code": item["code"]}]


def test_an_org_unit_is_renamed_and_moved_on_its_page(app, db, tag):
    code = f"ADM-{tag.upper()}"
    api = Api(app, "admin")
    r = api.call("POST", "/org-units", {"code": code, "name": "临时社区", "kind": "community"})
    assert r.status_code == 201
    page = signed_in(app, "admin")
    assert f'href="/admin/org-units/{code}"' in text(page.get("/admin/org-units"))
    r = page.get(f"/admin/org-units/{code}?lang=en")
    assert r.status_code == 200 and "Edit org unit" in text(r)
    assert_one_language(r, "en", data_words(db))
    r = page.post(f"/admin/org-units/{code}", {"name": "", "parent": "TB-RG"})
    assert r.status_code == 422
    assert page_errors(r) == {"name": i18n.STRINGS["admin.error.required"][1]}
    r = page.post(
        f"/admin/org-units/{code}",
        {"name": "改名社区", "legal_name": "甲" * 201, "parent": "TB-RG"},
    )
    assert r.status_code == 422
    assert page_errors(r) == {"legal_name": "at most 200 characters"}  # (English, as chosen)
    legal = "改名社区居民委员会"
    r = page.post(
        f"/admin/org-units/{code}", {"name": "改名社区", "legal_name": legal, "parent": "TB-RG"}
    )
    assert r.status_code == 302
    assert f'value="{legal}"' in text(page.get(f"/admin/org-units/{code}"))
    r = api.call("GET", "/org-units?parent=TB-RG&per_page=500")
    (renamed,) = [u for u in r.get_json()["items"] if u["code"] == code]
    assert (renamed["name"], renamed["legal_name"], renamed["parent"]) == (
        "改名社区",
        legal,
        "TB-RG",
    )
    assert page.get("/admin/org-units/NOPE").status_code == 404
    assert actions(db, "org_unit.updated") == [
        {"code": code, "name": "改名社区", "legal_name": legal, "parent": "TB-RG"}
    ]
    # an empty legal name is none: documents use the name again
    r = api.call("PATCH", f"/org-units/{code}", {"legal_name": ""})
    assert r.status_code == 200 and r.get_json()["legal_name"] is None


def test_memberships_added_and_removed_on_the_page_are_audited(app, db):
    page = signed_in(app, "admin")
    r = page.post(
        "/admin/users/street.hm/memberships", {"role": "street_office", "org_unit": "TB-RG"}
    )
    assert r.status_code == 302
    try:
        r = page.post(
            "/admin/users/street.hm/memberships", {"role": "street_office", "org_unit": "TB-RG"}
        )
        assert r.status_code == 409
        assert page_errors(r) == {"role": i18n.STRINGS["admin.error.membership_exists"][0]}
    finally:
        with db.read() as s:
            user = s.scalar(select(User).where(User.username == "street.hm"))
            (added,) = [m.id for m in user.memberships if m.org_unit.code == "TB-RG"]
        r = page.post(f"/admin/users/street.hm/memberships/{added}/delete")
        assert r.status_code == 302
    assert page.post(f"/admin/users/street.hm/memberships/{added}/delete").status_code == 404
    assert [d.get("added") or d.get("removed") for d in actions(db, "user.updated")] == [
        {"role": "street_office", "org_unit": "TB-RG"},
        {"role": "street_office", "org_unit": "TB-RG"},
    ]


def test_an_admin_sets_an_items_terms_and_requests_are_screened_by_them(app, db):
    admin, dept = Api(app, "admin"), Api(app, "dept.mz")
    with db.read() as s:
        before = s.scalars(select(CatalogItem.terms).where(CatalogItem.code == "N03")).first()
    try:
        r = admin.call("PATCH", "/catalog/items/N03", {"terms": ["经济创收", "创收指标"]})
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["terms"] == ["经济创收", "创收指标"]
        assert admin.call("PATCH", "/catalog/items/N03", {"terms": ["创"]}).status_code == 422
        assert dept.call("PATCH", "/catalog/items/N03", {"terms": []}).status_code == 403
        body = {
            "title": "落实社区创收指标",
            "community_codes": ["TB-RG-01"],
            "amount": "100.00",
            "due_date": "2099-12-31",
        }
        made = dept.call("POST", "/requests", body)
        assert made.status_code == 201, made.get_json()
        assert made.get_json()["instances"][0]["outcome"] == "blocked_negative_list"
    finally:
        with db.write() as s:
            item = s.scalars(select(CatalogItem).where(CatalogItem.code == "N03")).first()
            item.terms = before
