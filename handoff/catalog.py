"""The 准入 catalog: which entry of an item code is in force on a date."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

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
