"""The admin actions of the service layer (workflows.admin, handoff.catalog), on both databases:
each validates, audits, and refuses with `workflows.errors` carrying the field and its reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from handoff import catalog
from handoff import requests as handoff
from handoff.models import CatalogItem
from server import schemas
from server.web import i18n
from workflows import accounts, admin, roles
from workflows.errors import Conflict, Forbidden, Invalid, NotFound
from workflows.models import AuditEvent, OrgUnit, User

PASSWORD = "a-long-password-1"


def events(db, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def admin_id(db) -> int:
    with db.read() as s:
        return s.scalar(select(User.id).where(User.username == "admin"))


def refusal(fn, *args, **kwargs):
    with pytest.raises((Invalid, Conflict, NotFound, Forbidden)) as err:
        fn(*args, **kwargs)
    return err.value


# --- the rules are the API's ----------------------------------------------------------------


def test_the_service_knows_the_same_kinds_and_categories_as_the_api():
    assert set(admin.UNIT_KINDS) == set(schemas.ORG_KINDS)
    assert catalog.CATEGORIES == schemas.CATEGORIES


def test_every_reason_has_a_message_in_both_languages():
    for reason in admin.REASONS:
        zh, en = i18n.STRINGS[f"admin.error.{reason}"]
        assert zh and en, reason
    assert i18n.STRINGS["admin.error.invalid"]


# --- users ----------------------------------------------------------------------------------


def test_a_user_is_created_with_checked_memberships_and_audited(db, tag):
    me = admin_id(db)
    with db.write() as s:
        user = admin.create_user(
            s,
            username=f"adm.{tag}",
            display_name="新同事",
            password=PASSWORD,
            memberships=[("committee", "TB-RG-01")],
            actor_id=me,
        )
        assert [(m.role, m.org_unit.code) for m in user.memberships] == [("committee", "TB-RG-01")]
    with db.read() as s:
        stored = s.scalar(select(User).where(User.username == f"adm.{tag}"))
        assert accounts.verify_password(stored.password_hash, PASSWORD)
    (event,) = events(db, "user.created")
    assert (event.actor_id, event.detail) == (me, {"username": f"adm.{tag}"})


@pytest.mark.parametrize(
    ("memberships", "field", "reason"),
    [
        ([("committee", "TB")], "memberships.0.role", "role_unit_kind"),  # a district
        ([("wizard", "TB")], "memberships.0.role", "unknown_role"),
        ([("committee", "NOPE")], "memberships.0.org_unit", "unknown_org_unit"),
        ([("committee", "")], "memberships.0.org_unit", "required"),
        ([("", "TB-RG-01")], "memberships.0.role", "required"),
        ([("committee", "TB-RG-01")] * 2, "memberships", "duplicate_membership"),
    ],
)
def test_a_membership_is_checked_by_the_role_table(db, tag, memberships, field, reason):
    with db.write() as s:
        err = refusal(
            admin.create_user,
            s,
            username=f"adm.{tag}",
            display_name="x",
            password=PASSWORD,
            memberships=memberships,
            actor_id=None,
        )
    assert isinstance(err, Invalid) and admin.reasons_of(err) == {field: reason}
    assert field in err.fields
    if reason == "role_unit_kind":  # worded by workflows.roles.membership_problem
        with db.read() as s:
            unit = admin.unit_by_code(s, "TB")
            assert err.fields[field] == roles.membership_problem(s, "committee", unit)
    with db.read() as s:
        assert not s.scalar(select(User.id).where(User.username == f"adm.{tag}"))
    assert events(db, "user.created") == []


def test_a_role_an_admin_added_is_held_at_its_kind_of_unit(db, tag):
    with db.write() as s:
        roles.create_role(s, "grid_worker", "网格员", "Grid worker", "community", None)
    with db.write() as s:
        err = refusal(admin.add_membership, s, "committee.hm01", "grid_worker", "TB-HM", actor_id=1)
        assert admin.reasons_of(err) == {"role": "role_unit_kind"}
    with db.write() as s:
        admin.add_membership(s, "committee.hm01", "grid_worker", "TB-HM-01", actor_id=None)


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"username": "a"}, {"username"}),
        ({"username": "bad name!"}, {"username"}),
        ({"username": "bob\n"}, {"username"}),
        ({"display_name": ""}, {"display_name"}),
        ({"display_name": "两行\n名字"}, {"display_name"}),
        ({"display_name": "x" * 201}, {"display_name"}),
        ({"password": "short"}, {"password"}),
        (
            {"username": "", "display_name": "", "password": ""},
            {"username", "display_name", "password"},
        ),
    ],
)
def test_bad_user_input_is_refused_field_by_field(db, tag, values, fields):
    body = {"username": f"adm.{tag}", "display_name": "x", "password": PASSWORD} | values
    with db.write() as s:
        err = refusal(admin.create_user, s, **body, actor_id=None)
    assert isinstance(err, Invalid) and set(err.fields) == fields == set(admin.reasons_of(err))


def test_a_taken_username_is_a_conflict_on_the_username(db):
    with db.write() as s:
        err = refusal(
            admin.create_user,
            s,
            username="dept.mz",
            display_name="x",
            password=PASSWORD,
            actor_id=None,
        )
    assert isinstance(err, Conflict) and err.fields is None
    assert admin.reasons_of(err) == {"username": "user_exists"}


def _token(db, username: str) -> str:
    with db.write() as s:
        user = s.scalar(select(User).where(User.username == username))
        token, _ = accounts.issue_token(s, user, timedelta(hours=1))
    return token


def _valid(db, token: str) -> bool:
    with db.read() as s:
        return accounts.holder_of_token(s, token) is not None


def test_switching_a_user_off_and_on_again_does_not_bring_back_their_tokens(db):
    token = _token(db, "committee.rg02")
    me = admin_id(db)
    try:
        with db.write() as s:
            admin.update_user(s, "committee.rg02", {"is_active": False}, actor_id=me)
        assert not _valid(db, token)
        with db.write() as s:
            admin.update_user(s, "committee.rg02", {"is_active": True}, actor_id=me)
        assert not _valid(db, token)
        assert _valid(db, _token(db, "committee.rg02"))  # a fresh sign-in works
    finally:
        with db.write() as s:
            s.scalar(select(User).where(User.username == "committee.rg02")).is_active = True
    (revoked,) = events(db, "auth.tokens_revoked")
    assert revoked.detail == {"username": "committee.rg02", "count": 1}
    changed = [e.detail["changed"] for e in events(db, "user.updated")]
    assert changed == [["is_active"], ["is_active"]]


def test_a_new_password_ends_every_token_and_is_audited_without_the_password(db):
    token = _token(db, "committee.rg03")
    with db.read() as s:
        user = s.scalar(select(User).where(User.username == "committee.rg03"))
        old = (user.password_hash, user.display_name)
    try:
        with db.write() as s:
            admin.update_user(
                s,
                "committee.rg03",
                {"password": "another-password", "display_name": "新名字"},
                actor_id=None,
            )
        assert not _valid(db, token)
        (event,) = events(db, "user.updated")
        assert event.detail["changed"] == ["display_name", "password"]
        assert "another-password" not in str(event.detail)
    finally:
        with db.write() as s:
            user = s.scalar(select(User).where(User.username == "committee.rg03"))
            user.password_hash, user.display_name = old


def test_nobody_deactivates_their_own_account(db):
    with db.write() as s:
        err = refusal(admin.update_user, s, "admin", {"is_active": False}, actor_id=admin_id(db))
    assert isinstance(err, Forbidden) and admin.reasons_of(err) == {
        "is_active": "self_deactivation"
    }
    with db.read() as s:
        assert s.scalar(select(User.is_active).where(User.username == "admin"))


def test_updates_refuse_unknown_users_and_fields(db):
    with db.write() as s:
        assert isinstance(refusal(admin.update_user, s, "nobody", {}, actor_id=None), NotFound)
        err = refusal(admin.update_user, s, "dept.mz", {"username": "x"}, actor_id=None)
        assert admin.reasons_of(err) == {"username": "unknown_field"}
        err = refusal(admin.update_user, s, "dept.mz", {"is_active": "yes"}, actor_id=None)
        assert admin.reasons_of(err) == {"is_active": "invalid_flag"}


def test_memberships_are_added_once_and_removed(db):
    me = admin_id(db)
    with db.write() as s:
        added = admin.add_membership(s, "street.hm", "street_office", "TB-RG", actor_id=me)
        membership_id = added.id
    with db.write() as s:
        err = refusal(admin.add_membership, s, "street.hm", "street_office", "TB-RG", actor_id=me)
        assert isinstance(err, Conflict)
        assert admin.reasons_of(err) == {"role": "membership_exists"}
    with db.write() as s:
        admin.remove_membership(s, "street.hm", membership_id, actor_id=me)
    with db.write() as s:
        err = refusal(admin.remove_membership, s, "street.hm", membership_id, actor_id=me)
        assert isinstance(err, NotFound)
    details = [e.detail for e in events(db, "user.updated")]
    assert details == [
        {
            "username": "street.hm",
            "changed": ["memberships"],
            "added": {"role": "street_office", "org_unit": "TB-RG"},
        },
        {
            "username": "street.hm",
            "changed": ["memberships"],
            "removed": {"role": "street_office", "org_unit": "TB-RG"},
        },
    ]


# --- org units ------------------------------------------------------------------------------


def test_org_units_are_created_moved_and_never_their_own_ancestor(db, tag):
    code = f"TB-RG-{tag.upper()}"
    with db.write() as s:
        unit = admin.create_org_unit(
            s, code=code, name="新社区", kind="community", parent="TB-RG", actor_id=None
        )
        assert unit.parent.code == "TB-RG"
    with db.write() as s:
        err = refusal(
            admin.create_org_unit, s, code=code, name="x", kind="community", actor_id=None
        )
        assert isinstance(err, Conflict) and admin.reasons_of(err) == {"code": "code_exists"}
    with db.write() as s:
        err = refusal(admin.update_org_unit, s, "TB-RG", {"parent": code}, actor_id=None)
        assert admin.reasons_of(err) == {"parent": "cycle"} and "parent" in err.fields
        err = refusal(admin.update_org_unit, s, code, {"parent": "NOPE"}, actor_id=None)
        assert admin.reasons_of(err) == {"parent": "unknown_parent"}
        assert isinstance(refusal(admin.update_org_unit, s, "NOPE", {}, actor_id=None), NotFound)
    with db.write() as s:
        moved = admin.update_org_unit(
            s, code, {"name": "改名社区", "parent": "TB-HM"}, actor_id=None
        )
        assert (moved.name, moved.parent.code) == ("改名社区", "TB-HM")
    assert [e.detail for e in events(db, "org_unit.updated")] == [
        {"code": code, "name": "改名社区", "parent": "TB-HM"}
    ]
    assert [e.detail for e in events(db, "org_unit.created")] == [{"code": code}]


@pytest.mark.parametrize(
    ("values", "reasons"),
    [
        ({"code": "bad code!"}, {"code": "invalid_unit_code"}),
        ({"code": "X" * 65}, {"code": "invalid_unit_code"}),
        ({"name": ""}, {"name": "required"}),
        ({"kind": "planet"}, {"kind": "invalid_kind"}),
        ({"parent": "NOPE"}, {"parent": "unknown_parent"}),
    ],
)
def test_bad_org_units_are_refused_and_nothing_is_made(db, tag, values, reasons):
    body = {"code": f"ADM-{tag.upper()}", "name": "x", "kind": "street", "parent": "TB"} | values
    with db.read() as s:
        before = s.scalar(select(func.count()).select_from(OrgUnit))
    with db.write() as s:
        err = refusal(admin.create_org_unit, s, **body, actor_id=None)
    assert isinstance(err, Invalid) and admin.reasons_of(err) == reasons
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(OrgUnit)) == before


# --- catalog --------------------------------------------------------------------------------


def test_catalog_items_are_created_and_updated_once_per_code(db, tag):
    code = f"ADM{tag.upper()}"
    with db.write() as s:
        item = catalog.create_item(
            s, code, {"name": "测试事项", "category": "assisted"}, actor_id=None
        )
        assert (item.active, item.legal_basis, item.funding_standard_fen) == (True, "", 0)
    with db.write() as s:
        err = refusal(
            catalog.create_item, s, code, {"name": "x", "category": "assisted"}, actor_id=None
        )
        assert isinstance(err, Conflict) and admin.reasons_of(err) == {"code": "code_exists"}
    with db.write() as s:
        item = catalog.update_item(
            s, code, {"category": "negative", "active": False}, handoff.today(), actor_id=None
        )
        assert (item.category, item.active) == ("negative", False)
        err = refusal(
            catalog.update_item, s, code, {"category": "x"}, handoff.today(), actor_id=None
        )
        assert admin.reasons_of(err) == {"category": "invalid_category"}
        err = refusal(catalog.update_item, s, "NOPE", {}, handoff.today(), actor_id=None)
        assert isinstance(err, NotFound)
    assert [e.detail for e in events(db, "catalog.created")] == [{"code": code}]
    assert [e.detail for e in events(db, "catalog.updated")] == [
        {"code": code, "category": "negative", "active": False}
    ]


@pytest.mark.parametrize(
    ("code", "values", "reasons"),
    [
        ("bad code", {}, {"code": "invalid_item_code"}),
        ("X" * 33, {}, {"code": "invalid_item_code"}),
        ("ADM", {"category": "planet"}, {"category": "invalid_category"}),
        ("ADM", {"name": ""}, {"name": "required"}),
        ("ADM", {"legal_basis": "x" * 501}, {"legal_basis": "too_long"}),
        ("ADM", {"active": "yes"}, {"active": "invalid_flag"}),
        ("ADM", {"effective_to": "2030-01-01"}, {"effective_to": "unknown_field"}),
    ],
)
def test_bad_catalog_items_are_refused(db, tag, code, values, reasons):
    code = code + tag.upper() if code == "ADM" else code
    with db.write() as s:
        err = refusal(
            catalog.create_item,
            s,
            code,
            {"name": "x", "category": "assisted"} | values,
            actor_id=None,
        )
    assert isinstance(err, Invalid) and admin.reasons_of(err) == reasons
    with db.read() as s:
        assert not s.scalar(select(CatalogItem.id).where(CatalogItem.code == code))
