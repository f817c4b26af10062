"""The negative-list screening by text (`handoff.screening`): normalisation, which term is
reported, what is masked, the terms an admin may enter; and the demo catalog's terms after a
seed or a migration, on both databases."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from handoff import catalog, demo, screening
from handoff.models import CatalogItem
from workflows.errors import Invalid, NotFound


def entry(code: str, name: str, terms: list[str]) -> SimpleNamespace:
    return SimpleNamespace(code=code, name=name, terms=terms)


LIST = screening.build(
    [
        entry("N01", "招商引资任务指标", ["招商引资", "招商"]),
        entry("N04", "以社区为责任主体的行政执法", ["执法", "行政执法", "罚款"]),
        entry("N09", "以社区为责任主体的城市管理", ["城市管理", "城管"]),
    ],
    org_names=["区城市管理综合执法局", "瑞光社区"],
)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("招 商 引 资", "招商引资"),
        ("招商·引资！", "招商引资"),
        ("招商\u3000引资", "招商引资"),  # ideographic space
        ("ＡＢＣ１２３", "abc123"),  # full-width forms
        ("《条例》第3条", "条例第3条"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_keeps_letters_and_digits_only(text, normalised):
    assert screening.normalise(text) == normalised


def test_the_longest_term_is_reported_title_first():
    hit = LIST.find({"title": "协助行政执法", "description": "处以罚款"})
    assert (hit.term, hit.item_code, hit.field) == ("行政执法", "N04", "title")
    hit = LIST.find({"title": "罚款", "description": "行政执法"})
    assert (hit.term, hit.field) == ("行政执法", "description")  # longer wins over the field
    hit = LIST.find({"legal_basis": "以社区为责任主体的城市管理"})
    assert (hit.term, hit.field) == ("以社区为责任主体的城市管理", "legal_basis")  # the name
    assert LIST.find({"title": "低保入户调查", "description": "", "legal_basis": ""}) is None


@pytest.mark.parametrize(
    "text",
    [
        "招商银行代发补贴",  # a bank
        "配合区城市管理综合执法局宣传垃圾分类",  # an org unit's name is not the work
        "瑞光社区",
    ],
)
def test_benign_words_and_org_names_are_masked(text):
    assert LIST.find({"title": text}) is None


def test_masking_never_joins_the_words_around_it():
    # "城" + masked + "管" must not read as 城管
    assert LIST.find({"title": "城招商银行管"}) is None
    hit = LIST.find({"title": "区城市管理综合执法局要求社区承担城管任务"})
    assert hit.term == "城管"


def test_short_terms_are_never_used():
    one = screening.build([entry("N05", "拆迁拆违", ["拆", "违", "拆迁"])])
    assert [t.key for t in one.terms] == ["拆迁拆违", "拆迁"]
    assert one.find({"title": "拆除围挡"}) is None


def test_the_page_gets_the_same_list():
    spec = LIST.as_json()
    assert spec["terms"][0][0] == screening.normalise("以社区为责任主体的行政执法")
    assert ["招商", "招商", "N01", "招商引资任务指标"] in spec["terms"]
    assert "区城市管理综合执法局" in spec["benign"] and "招商银行" in spec["benign"]


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [
        (["招商引资", " 招商 ", "招 商"], ["招商引资", "招商"]),  # one per normalised form
        ("招商引资\n招商，代征税款、协税护税；", ["招商引资", "招商", "代征税款", "协税护税"]),
        ([], []),
        (["  "], []),
    ],
)
def test_clean_terms(given, cleaned):
    assert screening.clean_terms(given) == cleaned


@pytest.mark.parametrize(
    "bad",
    [["拆"], ["·—"], ["x" * 51], [1], [None], {"a": 1}, [f"词{i:03d}" for i in range(51)]],
)
def test_clean_terms_refuses(bad):
    with pytest.raises(ValueError):
        screening.clean_terms(bad)


# --- with the database ------------------------------------------------------------------------


def test_the_seed_gives_the_negative_list_its_terms(db):
    with db.read() as s:
        items = {i.code: i for i in s.scalars(select(CatalogItem))}
    assert items["N01"].terms == ["招商引资", "招商"]
    assert items["N05"].terms == ["拆迁拆违", "拆迁", "违建拆除"]
    assert (items["N08"].category, items["N08"].terms[0]) == ("negative", "环境整治")
    assert (items["N09"].category, items["N09"].terms[0]) == ("negative", "城市管理")
    assert items["A01"].terms == ["低保", "低保调查"]  # a listed item's short names (for search)


def test_seeding_again_fills_missing_terms_and_keeps_an_admins(db):
    with db.write() as s:
        n01 = s.scalar(select(CatalogItem).where(CatalogItem.code == "N01"))
        n02 = s.scalar(select(CatalogItem).where(CatalogItem.code == "N02"))
        n01.terms, n02.terms = [], ["只有这个"]
    try:
        with db.write() as s:
            demo.seed(s)
        with db.read() as s:
            terms = dict(s.execute(select(CatalogItem.code, CatalogItem.terms)).all())
        assert terms["N01"] == ["招商引资", "招商"]
        assert terms["N02"] == ["只有这个"]
    finally:
        with db.write() as s:
            s.scalar(select(CatalogItem).where(CatalogItem.code == "N02")).terms = [
                "协税护税",
                "代征税款",
            ]


def test_an_admin_sets_an_items_terms(db):
    today = date(2026, 12, 1)
    with db.write() as s:
        item = catalog.set_terms(s, "N03", "经济创收\n创收指标", today, actor_id=None)
        assert item.terms == ["经济创收", "创收指标"]
    with db.read() as s:
        found = screening.screen(s, today, {"title": "完成创收指标"})
        assert (found.term, found.item_code) == ("创收指标", "N03")
    with db.write() as s, pytest.raises(Invalid) as err:
        catalog.set_terms(s, "N03", ["创"], today)
    assert "terms" in err.value.fields
    with db.write() as s, pytest.raises(NotFound):
        catalog.set_terms(s, "NOPE", ["创收"], today)
    with db.write() as s:
        catalog.set_terms(s, "N03", ["经济创收"], today)
