"""The 准入 catalog: which entry of an item code is in force on a date."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

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
