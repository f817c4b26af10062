"""The demo district (白城市洮北区), catalog and accounts shipped with the project."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import accounts, audit, definitions, roles
from workflows.models import OrgUnit, User

from .models import CatalogItem

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"


def load(name: str) -> dict:
    """One of the demo data files (org_units.json, catalog.json, users.json)."""
    return json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))


def demo_password() -> str:
    return load("users.json")["password"]


def deploy_bundled(session: Session) -> list[tuple[str, int, bool]]:
    """Deploy every BPMN file under bpmn/; unchanged files are not new versions."""
    out = []
    for path in sorted(BPMN_DIR.glob("*.bpmn")):
        definition, created = definitions.deploy(
            session, path.read_text(encoding="utf-8"), roles=roles.role_keys(session)
        )
        if created:
            audit.record(
                session, "definition.deployed", key=definition.key, version=definition.version
            )
        out.append((definition.key, definition.version, created))
    return out


def is_seeded(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(OrgUnit)))


def seed(session: Session) -> dict[str, int]:
    """Load org units, catalog and demo accounts (idempotent: existing codes are kept)."""
    units = {u.code: u for u in session.scalars(select(OrgUnit))}
    for row in load("org_units.json")["org_units"]:
        if row["code"] in units:
            unit = units[row["code"]]
            # the demo's own unit, seeded before units had legal names: give it its legal name
            # (a unit an admin renamed, or named legally, is theirs)
            if unit.legal_name is None and unit.name == row["name"]:
                unit.legal_name = row.get("legal_name")
            continue
        unit = OrgUnit(
            code=row["code"], name=row["name"], legal_name=row.get("legal_name"), kind=row["kind"]
        )
        if row["parent"]:
            unit.parent = units[row["parent"]]
        session.add(unit)
        units[row["code"]] = unit
    session.flush()

    existing_items: dict[str, list[CatalogItem]] = {}
    for item in session.scalars(select(CatalogItem)):
        existing_items.setdefault(item.code, []).append(item)
    for row in load("catalog.json")["items"]:
        terms = list(row.get("terms", []))
        if row["code"] not in existing_items:
            fields = {k: row[k] for k in ("code", "name", "category", "legal_basis")}
            session.add(CatalogItem(**fields, terms=terms))
            continue
        for item in existing_items[row["code"]]:
            # the demo's own entry, seeded before it had terms: give it its terms (an entry an
            # admin renamed, or gave terms of their own, is theirs)
            if terms and not item.terms and item.name == row["name"]:
                item.terms = terms

    users = load("users.json")
    existing_users = set(session.scalars(select(User.username)))
    for row in users["users"]:
        if row["username"] in existing_users:
            continue
        accounts.create_user(
            session,
            row["username"],
            row["display_name"],
            users["password"],
            [(m["role"], m["org_unit"]) for m in row["memberships"]],
        )
    session.flush()
    deploy_bundled(session)
    audit.record(session, "demo.seeded")
    return {
        "org_units": len(units),
        "catalog_items": session.scalar(select(func.count()).select_from(CatalogItem)),
        "users": session.scalar(select(func.count()).select_from(User)),
    }
