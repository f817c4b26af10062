"""Finding a catalog item the way people ask for it: by its code, its name, its short names
(the item's terms: 低保 for 最低生活保障…), and by the pinyin of any of those, whole or by
initials (`dibao`, `db`, `zdshbz`). One matcher for the page's list as you type (the keys go to
the browser in `data-search`) and for the search without script (`matches`)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .models import CatalogItem

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text or "")).lower()


@lru_cache(maxsize=4096)
def _pinyin(text: str) -> tuple[str, str]:
    """The whole pinyin and the initials of `text` (letters and digits other than Chinese are
    kept as they are). pypinyin is imported at the first search, not with the app: its
    dictionaries are ~55 MB of a worker's memory that a worker which never searches the
    catalog does not need."""
    from pypinyin import Style, lazy_pinyin

    whole = "".join(lazy_pinyin(text, errors="default"))
    initials = "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default"))
    return normalise(whole), normalise(initials)


def search_keys(item: CatalogItem) -> str:
    """What a query is looked for in, as one string of words (the browser's copy of `matches`)."""
    names = [item.name, *(item.terms or [])]
    keys = [normalise(item.code)]
    for name in names:
        keys.append(normalise(name))
        keys.extend(_pinyin(name))
    return " ".join(dict.fromkeys(k for k in keys if k))


def matches(item: CatalogItem, query: str) -> bool:
    q = normalise(query)
    return not q or any(q in key for key in search_keys(item).split(" "))
