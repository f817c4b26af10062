"""负面清单 screening by what a request says, not only by the code it names.

Every negative-list entry of the catalog carries its terms and synonyms (`CatalogItem.terms`,
admin-edited); its name counts as one more. A request's title, description and legal basis are
checked against the entries in force on the request's date. The text is normalised first, so
that spacing, punctuation and full-width forms do not hide a term: 「招 商·引 资」, 「ＺＨＡＯ」
and 「招商引资」 read alike. Terms shorter than two characters are never used (one character is
inside too many unrelated words), and a few compounds that contain a short term without meaning
it (招商银行 is a bank), as well as the names of the district's own org units (a department
called 区城市管理局 is not city management handed down), are masked before matching.

The screening computes facts; the BPMN decides what they mean (`bpmn/handoff.bpmn`, gateway
`screen` and `needs_district_review`): an unlisted request that hits a term is blocked, a listed
one goes to district review, flagged with the term.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.models import OrgUnit

from .catalog import in_force_on
from .models import CatalogItem

FIELDS = ("title", "description", "legal_basis")  # in the order a hit is reported
MIN_TERM, MAX_TERM, MAX_TERMS = 2, 50, 50
# compounds that contain a term without meaning it
BENIGN = ("招商银行", "招商局", "招商证券")
MASK = "|"  # never part of a normalised text, so no term matches across a masked word
# the instance data the screening leaves (`_instance_data`): empty when nothing was found
NO_HIT = {"negative_term": "", "negative_item": "", "negative_item_name": "", "negative_field": ""}


def normalise(text: str | None) -> str:
    """Letters and digits only, compatibility forms folded (full-width → half-width), lower case."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


@dataclass(frozen=True)
class Term:
    text: str  # as the catalog writes it
    key: str  # normalised
    item_code: str
    item_name: str


@dataclass(frozen=True)
class Hit:
    term: str
    item_code: str
    item_name: str
    field: str  # title | description | legal_basis

    def as_data(self) -> dict[str, str]:
        return {
            "negative_term": self.term,
            "negative_item": self.item_code,
            "negative_item_name": self.item_name,
            "negative_field": self.field,
        }


@dataclass(frozen=True)
class Screen:
    """The negative list's terms of one day, longest first, and the words masked before."""

    terms: tuple[Term, ...]
    benign: tuple[str, ...] = ()

    def masked(self, text: str | None) -> str:
        out = normalise(text)
        for word in self.benign:
            out = out.replace(word, MASK)
        return out

    def find(self, fields: Mapping[str, Any]) -> Hit | None:
        """The longest term found in the fields (title first on a tie), or None."""
        texts = [(name, self.masked(str(fields.get(name) or ""))) for name in FIELDS]
        for term in self.terms:
            for name, text in texts:
                if term.key in text:
                    return Hit(term.text, term.item_code, term.item_name, name)
        return None

    def as_json(self) -> dict[str, Any]:
        """For the new-request page, which warns as one types (`server/static/app.js`)."""
        return {
            "terms": [[t.key, t.text, t.item_code, t.item_name] for t in self.terms],
            "benign": list(self.benign),
        }


def build(items: Iterable[CatalogItem], org_names: Iterable[str] = ()) -> Screen:
    terms: dict[str, Term] = {}
    for item in sorted(items, key=lambda i: i.code):
        for text in [*(item.terms or []), item.name]:
            key = normalise(text)
            if len(key) >= MIN_TERM and key not in terms:
                terms[key] = Term(str(text).strip(), key, item.code, item.name)
    benign = {normalise(w) for w in (*BENIGN, *org_names)}
    # a masked word that is itself a term would hide it: never mask those
    benign = {w for w in benign if len(w) >= MIN_TERM and w not in terms}
    ordered = sorted(terms.values(), key=lambda t: (-len(t.key), t.item_code, t.key))
    return Screen(tuple(ordered), tuple(sorted(benign, key=lambda w: (-len(w), w))))


def in_force(session: Session, day: date) -> Screen:
    """The negative list of `day`: its entries' terms and names."""
    items = session.scalars(
        select(CatalogItem).where(CatalogItem.category == "negative", *in_force_on(day))
    )
    names = session.scalars(select(OrgUnit.name))
    return build(list(items), list(names))


def screen(session: Session, day: date, fields: Mapping[str, Any]) -> Hit | None:
    return in_force(session, day).find(fields)


# --- the terms an admin enters ----------------------------------------------------------------

_SPLIT = re.compile(r"[\n\r,，、;；]+")


def parse_terms(text: str) -> list[str]:
    """Terms typed into one box: one per line, or separated by commas, 、 or semicolons."""
    return [part.strip() for part in _SPLIT.split(text or "") if part.strip()]


def clean_terms(values: Any) -> list[str]:
    """An item's terms as an admin gives them: strings of 2–50 characters that still have two
    letters or digits once normalised, each once (by its normalised form), at most 50.
    ValueError with a message in Chinese and English otherwise."""
    if isinstance(values, str):
        values = parse_terms(values)
    if not isinstance(values, list | tuple):
        raise ValueError("应为字符串列表 must be a list of strings")
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        if not isinstance(value, str):
            raise ValueError("应为字符串列表 must be a list of strings")
        term = " ".join(value.split())
        if not term:
            continue
        if len(term) > MAX_TERM:
            raise ValueError(
                f"「{term[:20]}…」过长，最多 {MAX_TERM} 字 at most {MAX_TERM} characters"
            )
        key = normalise(term)
        if len(key) < MIN_TERM:
            raise ValueError(
                f"「{term}」过短：至少 {MIN_TERM} 个字（不计空格标点） "
                f"too short, at least {MIN_TERM} characters besides spaces and punctuation"
            )
        if key not in seen:
            seen.add(key)
            out.append(term)
    if len(out) > MAX_TERMS:
        raise ValueError(f"最多 {MAX_TERMS} 个 at most {MAX_TERMS} terms")
    return out
