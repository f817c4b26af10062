"""Roles are data: admins add them; a membership must sit at an org unit of the role's kind."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from workflows import accounts, roles
from workflows.errors import Conflict, Invalid
from workflows.models import OrgUnit


def unit(session, code: str) -> OrgUnit:
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def test_a_role_is_added_and_held_at_its_kind_of_unit(db):
    with db.write() as session:
        roles.create_role(session, "grid_worker", "网格员", "Grid worker", "community", None)
        assert "grid_worker" in roles.role_keys(session)
        assert roles.scope_keys(session)["grid_worker"] == "community"
        assert roles.membership_problem(session, "grid_worker", unit(session, "TB-RG-01")) is None
        street = roles.membership_problem(session, "grid_worker", unit(session, "TB-RG"))
        assert street and "community" in street
        assert "unknown role" in roles.membership_problem(session, "mayor", unit(session, "TB"))
        with pytest.raises(ValueError, match="grid_worker"):
            accounts.create_user(
                session, "gw.x", "x", "a-long-password-1", [("grid_worker", "TB-RG")]
            )


def test_bad_roles_are_refused(db):
    with db.write() as session:
        with pytest.raises(Invalid) as err:
            roles.create_role(session, "Bad Key", "", "", "planet", None)
        assert set(err.value.fields) == {"key", "name_zh", "name_en", "unit_kind"}
        with pytest.raises(Conflict):
            roles.create_role(session, "committee", "居委会", "Committee", "community", None)
