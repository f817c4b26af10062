"""The catalog is found the way people ask for it: short names, pinyin, initials."""

from __future__ import annotations

import pytest

from handoff.catalog_search import matches, search_keys
from handoff.models import CatalogItem

DIBAO = CatalogItem(code="A01", name="最低生活保障对象入户调查与动态管理", terms=["低保"])
CHECK = CatalogItem(code="A02", name="特困人员救助供养情况核查", terms=["特困"])


@pytest.mark.parametrize(
    "query", ["低保", "db", "DB", "dibao", "zdshbz", "最低生活", "a01", " d b "]
)
def test_the_short_name_pinyin_and_initials_find_the_item(query):
    assert matches(DIBAO, query)
    assert not matches(CHECK, query)


def test_an_empty_query_matches_everything_and_nonsense_nothing():
    assert matches(DIBAO, "") and matches(CHECK, "  ")
    assert not matches(DIBAO, "zzzz") and not matches(DIBAO, "招商")


def test_the_keys_the_browser_gets_are_the_same_words():
    keys = search_keys(DIBAO).split(" ")
    assert {"a01", "低保", "dibao", "db", "zdshbzdxrhdcydtgl"} <= set(keys)
    assert len(keys) == len(set(keys))
