"""The 准入 catalog: which entry of an item code is in force on a date; an item's terms."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from workflows import admin, audit
from workflows.errors import NotFound
from workflows.inputs import column_length
from workflows.queries import like_pattern

from .models import CatalogItem


def in_force_on(day: date):
    """The condition 'this catalog entry is in force on `day`'."""
    return (
        CatalogItem.active.is_(True),
        or_(CatalogItem.effective_from.is_(None), CatalogItem.effective_from <= day),
        or_(CatalogItem.effective_to.is_(None), CatalogItem.effective_to > day),
    )


def item_in_force(session: Session, code: str, day: date) -> CatalogItem | None:
    return session.scalar(
        select(CatalogItem)
        .where(CatalogItem.code == code, *in_force_on(day))
        .order_by(CatalogItem.effective_from.desc().nulls_last())
        .limit(1)
    )


def listing(day: date | None, category: str | None = None, q: str | None = None) -> Select:
    """The catalog as of `day` (None: every entry, past and future), filtered, by code."""
    stmt = select(CatalogItem)
    if day is not None:
        stmt = stmt.where(*in_force_on(day)[1:])  # inactive entries stay listed, marked
    if category:
        stmt = stmt.where(CatalogItem.category == category)
    if q:
        like = like_pattern(q)
        stmt = stmt.where(
            or_(
                CatalogItem.name.ilike(like, escape="\\"), CatalogItem.code.ilike(like, escape="\\")
            )
        )
    return stmt.order_by(CatalogItem.code, CatalogItem.effective_from.desc().nulls_last())


def current(session: Session, code: str, day: date) -> CatalogItem | None:
    """The entry of `code` an admin edits: the one in force on `day`, else the newest."""
    entry = session.scalar(
        select(CatalogItem)
        .where(CatalogItem.code == code, *in_force_on(day)[1:])
        .order_by(CatalogItem.effective_from.desc().nulls_last())
        .limit(1)
    )
    if entry is not None:
        return entry
    return session.scalar(
        select(CatalogItem)
        .where(CatalogItem.code == code)
        .order_by(CatalogItem.effective_from.desc().nulls_first())
        .limit(1)
    )


def offered(session: Session, day: date) -> list[CatalogItem]:
    """What a department may name in a request on `day`."""
    return list(
        session.scalars(select(CatalogItem).where(*in_force_on(day)).order_by(CatalogItem.code))
    )


# --- admin writes: one function per action, called by the API and by the pages ------------------
# (validated, audited and refused like the user and org unit actions of `workflows.admin`)

CATEGORIES = (
    "assisted",
    "self_governance",
    "negative",
    "certificate_allowed",
    "certificate_forbidden",
)
ITEM_FIELDS = ("name", "category", "legal_basis", "active")  # what an admin sets on an entry
ITEM_CODE_MAX = column_length(CatalogItem.code)
NAME_MAX = column_length(CatalogItem.name)
LEGAL_BASIS_MAX = column_length(CatalogItem.legal_basis)


def _code_ok(code) -> bool:
    return (
        isinstance(code, str)
        and 0 < len(code) <= ITEM_CODE_MAX
        and code.isascii()
        and all(c.isalnum() or c == "-" for c in code)
    )


def _check_item(problems: admin.Problems, values, *, creating: bool) -> None:
    problems.unknown(values, ITEM_FIELDS)
    if creating or "name" in values:
        problems.text("name", values.get("name"), NAME_MAX)
    if (creating or "category" in values) and values.get("category") not in CATEGORIES:
        problems.add("category", "invalid_category", "类别应为 one of: " + ", ".join(CATEGORIES))
    basis = values.get("legal_basis", "")
    problems.text("legal_basis", basis, LEGAL_BASIS_MAX, required=False, multiline=True)
    if "active" in values and not isinstance(values["active"], bool):
        problems.add("active", "invalid_flag", "应为 true 或 false must be true or false")


def _trimmed(values) -> dict:
    """The texts as stored: without the white space around them (checked as sent)."""
    return {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}


def create_item(session: Session, code: str, values, *, actor_id: int | None) -> CatalogItem:
    """A new catalog item `code` with `values` (name, category; legal_basis, active); a code
    any entry has, past or future, is taken. Audited as `catalog.created`."""
    problems = admin.Problems()
    if not _code_ok(code):
        problems.add(
            "code",
            "invalid_item_code",
            f"编码为 1–{ITEM_CODE_MAX} 位英文字母、数字或连字符"
            f" 1-{ITEM_CODE_MAX} letters, digits or hyphens",
        )
    _check_item(problems, values, creating=True)
    problems.refuse()
    taken = admin.Taken("catalog item code already exists", "code", "code_exists")
    if session.scalar(select(CatalogItem.id).where(CatalogItem.code == code)):
        raise taken
    item = CatalogItem(code=code, **_trimmed(values))
    session.add(item)
    admin.flush_or(session, taken)  # the column defaults (effective period, funding) are set
    audit.record(session, "catalog.created", actor_id=actor_id, code=item.code)
    return item


def update_item(
    session: Session, code: str, changes, day: date, *, actor_id: int | None
) -> CatalogItem:
    """Change the entry of `code` an admin edits on `day` (see `current`). Audited as
    `catalog.updated` with the changes."""
    item = current(session, code, day)
    if item is None:
        raise NotFound("catalog item not found")
    problems = admin.Problems()
    _check_item(problems, changes, creating=False)
    problems.refuse()
    for key, value in _trimmed(changes).items():
        setattr(item, key, value)
    audit.record(session, "catalog.updated", actor_id=actor_id, code=code, **changes)
    return item


def set_terms(
    session: Session, code: str, terms: object, day: date, actor_id: int | None = None
) -> CatalogItem:
    """An admin sets the terms and synonyms of an item (the entry an admin edits on `day`, see
    `current`), a list of strings or one text (a term per line, or separated by commas, 、 or
    semicolons): validated and de-duplicated by `screening.clean_terms`; Invalid naming `terms`
    when they are not acceptable, NotFound for an unknown code. Audited as `catalog.terms_set`.
    Returns the entry."""
    from workflows.errors import Invalid

    from .screening import clean_terms

    entry = current(session, code, day)
    if entry is None:
        raise NotFound("catalog item not found")
    try:
        cleaned = clean_terms(terms)
    except ValueError as exc:
        raise Invalid("bad terms", {"terms": str(exc)}) from None
    if cleaned != list(entry.terms or []):
        entry.terms = cleaned
        audit.record(session, "catalog.terms_set", actor_id=actor_id, code=code, terms=cleaned)
    return entry
