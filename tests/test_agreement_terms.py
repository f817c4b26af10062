"""Issue 16.2, the agreement's full terms, on SQLite and PostgreSQL through Flask's test client:

- a request's `terms` (API and new-request page alike) are checked field by field (a bad phone,
  a start after the due date, a text too long …: 422 naming `terms.<field>`, the page's message
  next to its field, nothing stored), and drafted into every community's agreement with the
  parties' full legal names and the fixed clauses of the item's category;
- the clauses are admin templates (page and API, validated); an agreement keeps the clauses it
  was drafted with when a template changes later;
- the agreement page is a formal document in Chinese and in English (numbered articles, money in
  figures and words, the payment plan, signature and seal lines, a print stylesheet), and its
  PDF (WeasyPrint) carries the number and the committee's legal name in an embedded CJK font,
  for the parties of the handoff only.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update

from handoff import agreement_templates, agreement_terms
from handoff import requests as handoff
from handoff.models import Agreement, AgreementTemplate, HandoffInstance, Request
from server import create_app
from workflows import service
from workflows.forms import FormErrors
from workflows.models import AuditEvent, OrgUnit, ProcessInstance, Task

from .test_admin_paths import Api, page_errors
from .test_web_languages import data_words
from .test_web_pages import open_task, signed_in, text
from .test_web_processes import assert_one_language

TERMS = {
    "contact_name": "张科长",
    "contact_phone": "0436-1234567",
    "committee_contact": "王主任 13800138000",
    "authority": "入户调查、信息采集、材料初审",
    "acceptance_standard": "完成辖区全部低保户入户调查\n提交入户调查表和汇总表",
    "permitted_use": "入户交通、资料印制",
    "start_date": "2099-01-01",
}
REQUEST = {
    "title": "低保对象入户调查",
    "item_code": "A01",
    "community_codes": ["TB-RG-01", "TB-RG-02"],
    "amount": "5000.00",
    "due_date": "2099-12-31",
}
# what the new-request page posts for REQUEST and TERMS
FORM = {
    "title": "低保对象入户调查",
    "item_code": "A01",
    "community_codes": ["TB-RG-01", "TB-RG-02"],
    "amount": "5000.00",
    "due_date": "2099-12-31",
    "action": "submit",
    **{f"terms_{k}": v for k, v in TERMS.items()},
}
LEGAL = {
    "TB-D-MZ": "白城市洮北区民政局",
    "TB-RG": "瑞光街道办事处",
    "TB-RG-01": "瑞光社区居民委员会",
}


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


@pytest.fixture
def templates(db):
    """The templates as seeded again after the test (the session's database is shared)."""
    yield
    with db.write() as s:
        for category, clauses in agreement_templates.DEFAULTS.items():
            s.execute(
                update(AgreementTemplate)
                .where(AgreementTemplate.category == category)
                .values(clauses=clauses, updated_by_id=None)
            )


def stored(db) -> tuple[int, ...]:
    with db.read() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model))
            for model in (Request, ProcessInstance, Agreement, AuditEvent)
        )


def instances_of(db, request_id: int) -> list[int]:
    with db.read() as s:
        rows = select(HandoffInstance.instance_id).where(HandoffInstance.request_id == request_id)
        return list(s.scalars(rows.order_by(HandoffInstance.instance_id)))


def approve(db, actor, request_id: int) -> None:
    """The street's review of every community: signing starts, the agreements are drafted."""
    with db.read() as s:
        reviews = s.scalars(
            select(Task.id)
            .join(HandoffInstance, HandoffInstance.instance_id == Task.instance_id)
            .where(HandoffInstance.request_id == request_id, Task.key == "street_review")
        ).all()
    for task_id in reviews:
        service.complete_task(db, task_id, actor("street.rg"), {"decision": "approve"})


def sign_all(db, actor, request_id: int, community: str = "瑞光社区") -> None:
    for key, who in (
        ("sign_committee", "committee.rg01"),  # the committee signs first
        ("sign_department", "dept.mz"),
        ("sign_street", "street.rg"),
    ):
        task = open_task(db, request_id, key, community)
        service.complete_task(db, task.id, actor(who), {"decision": "sign"})


def agreement_of(db, instance_id: int) -> Agreement:
    with db.read() as s:
        found = s.scalar(select(Agreement).where(Agreement.instance_id == instance_id))
        assert found is not None
        return found


# --- the terms: stored, drafted ----------------------------------------------------------------


def test_terms_sent_through_the_api_are_drafted_into_each_agreement(app, db, actor):
    api = Api(app, "dept.mz")
    r = api.call("POST", "/requests", {**REQUEST, "terms": TERMS})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["terms"] == TERMS
    approve(db, actor, body["id"])
    first, second = instances_of(db, body["id"])
    content = agreement_of(db, first).content
    parties = content["parties"]
    assert parties["department"]["legal_name"] == LEGAL["TB-D-MZ"]
    assert parties["department"]["contact"] == {"name": "张科长", "phone": "0436-1234567"}
    assert parties["street_office"]["legal_name"] == LEGAL["TB-RG"]
    assert parties["committee"]["legal_name"] == LEGAL["TB-RG-01"]
    assert parties["committee"]["contact"]["name"] == "王主任 13800138000"
    assert content["work"]["acceptance_standard"] == TERMS["acceptance_standard"]
    assert content["powers"] == TERMS["authority"]
    assert content["legal_basis"] == "《社会救助暂行办法》"  # the item's, as none was given
    assert content["period"] == {"start": "2099-01-01", "end": "2099-12-31"}
    assert content["permitted_use"] == TERMS["permitted_use"]
    assert content["amount_fen"] == 500000
    assert content["payment_plan"] == [  # none asked for: everything on signing
        {"seq": 1, "trigger": "signing", "on": None, "amount_fen": 500000}
    ]
    assert content["clauses"] == agreement_templates.DEFAULTS["assisted"]
    assert "终止委托" in content["clauses"]["termination"]
    # the second community's agreement names its own committee
    other = agreement_of(db, second).content["parties"]["committee"]
    assert other["legal_name"] == "中兴社区居民委员会"
    # the API shows the agreement drafted, as the page does
    shown = api.call("GET", f"/instances/{first}").get_json()["agreement"]["content"]
    assert shown["clauses"]["dispute"] == content["clauses"]["dispute"]


def test_terms_filled_in_on_the_page_are_the_same_terms(app, db, actor):
    dept = signed_in(app, "dept.mz")
    page = text(dept.get("/requests/new"))
    assert 'id="agreement-terms"' in page and 'name="terms_contact_phone"' in page
    r = dept.post("/requests/new", FORM, token_from="/requests/new")
    assert r.status_code == 302, text(r)[:3000]
    request_id = int(r.headers["Location"].rsplit("/", 1)[-1])
    with db.read() as s:
        assert s.get(Request, request_id).terms == TERMS
    approve(db, actor, request_id)
    content = agreement_of(db, instances_of(db, request_id)[0]).content
    assert content["work"]["acceptance_standard"] == TERMS["acceptance_standard"]
    assert content["parties"]["department"]["contact"]["phone"] == "0436-1234567"


def test_a_request_without_terms_drafts_an_agreement_with_blanks(app, db, actor):
    request_id = handoff.create_request(
        db, actor("dept.mz"), handoff.RequestInput(**{**REQUEST, "community_codes": ["TB-RG-01"]})
    )
    with db.read() as s:
        assert s.get(Request, request_id).terms is None
    approve(db, actor, request_id)
    (instance_id,) = instances_of(db, request_id)
    content = agreement_of(db, instance_id).content
    assert content["powers"] == "" and content["period"]["start"] == ""
    assert content["parties"]["committee"]["legal_name"] == LEGAL["TB-RG-01"]
    page = text(signed_in(app, "dept.mz").get(f"/instances/{instance_id}/agreement"))
    assert 'class="blank' in page  # lines to fill in by hand
    assert "自本协议生效之日起至 2099年12月31日 止" in page


TOO_LONG = "甲" * (agreement_terms.NAME_MAX + 1)
BAD_TERMS = [
    ("contact_phone", "12345", "电话号码有误"),
    ("contact_phone", "0436-12345678", "电话号码有误"),  # 白城's numbers have 7 digits
    ("start_date", "2100-01-01", "开始日期不能晚于完成期限 2099-12-31"),
    ("start_date", "2000-01-01", "不能早于今天"),
    ("start_date", "2099-02-30", "不是有效日期"),
    ("contact_name", TOO_LONG, f"最多 {agreement_terms.NAME_MAX} 个字符"),
    ("acceptance_standard", "  ", "必填"),
    ("permitted_use", "", "有经费时必填"),
    ("authority", "委托\x1b权限", "不能包含控制字符"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_TERMS, ids=lambda v: str(v)[:16])
def test_bad_terms_are_refused_by_the_api_and_the_page_alike(app, db, field, value, message):
    api, dept = Api(app, "dept.mz"), signed_in(app, "dept.mz")  # (signing in is audited)
    before = stored(db)
    r = api.call("POST", "/requests", {**REQUEST, "terms": {**TERMS, field: value}})
    assert r.status_code == 422, r.get_json()
    fields = r.get_json()["error"]["fields"]
    assert set(fields) == {f"terms.{field}"} and message in fields[f"terms.{field}"], fields
    page = dept.post("/requests/new", {**FORM, f"terms_{field}": value}, token_from="/requests/new")
    assert page.status_code == 422
    shown = page_errors(page)
    assert set(shown) == {f"terms_{field}"} and message in shown[f"terms_{field}"], shown
    assert "required" not in shown[f"terms_{field}"]  # Chinese only on a Chinese page
    assert f'value="{value}"' in text(page) or field in ("acceptance_standard", "authority")
    assert stored(db) == before


def test_the_api_refuses_unknown_and_missing_terms_and_money_needs_no_use_without_money(app, db):
    api = Api(app, "dept.mz")
    r = api.call("POST", "/requests", {**REQUEST, "terms": {**TERMS, "salary": "1"}})
    assert r.status_code == 422 and "terms.salary" in r.get_json()["error"]["fields"]
    missing = {k: v for k, v in TERMS.items() if k != "start_date"}
    r = api.call("POST", "/requests", {**REQUEST, "terms": missing})
    assert r.status_code == 422 and "terms.start_date" in r.get_json()["error"]["fields"]
    r = api.call("POST", "/requests", {**REQUEST, "terms": "张科长"})
    assert r.status_code == 422 and "terms" in str(r.get_json()["error"]["fields"])
    # a self-governance item with no money needs no permitted use
    free = {**REQUEST, "item_code": "S01", "amount": "0", "community_codes": ["TB-RG-03"]}
    r = api.call("POST", "/requests", {**free, "terms": {**TERMS, "permitted_use": ""}})
    assert r.status_code == 201, r.get_json()


def test_a_revised_due_date_may_not_end_before_the_agreed_start(app, db, actor):
    payload = handoff.RequestInput(
        **{**REQUEST, "community_codes": ["TB-RG-01"]}, terms={**TERMS, "start_date": "2099-06-01"}
    )
    request_id = handoff.create_request(db, actor("dept.mz"), payload)
    review = open_task(db, request_id, "street_review")
    service.complete_task(
        db, review.id, actor("street.rg"), {"decision": "revise", "comment": "期限请调整"}
    )
    revise = open_task(db, request_id, "revise")
    with pytest.raises(FormErrors) as refused:
        service.complete_task(
            db, revise.id, actor("dept.mz"), {"due_date": "2099-05-31", "comment": "提前"}
        )
    assert "2099-06-01" in refused.value.fields["due_date"]


# --- the templates ------------------------------------------------------------------------------


def test_every_category_has_a_template_and_only_admins_change_one(app, db, templates):
    api, admin = Api(app, "dept.mz"), Api(app, "admin")
    listed = api.call("GET", "/agreement-templates").get_json()
    assert [t["category"] for t in listed["items"]] == list(agreement_templates.CATEGORIES)
    assert listed["total"] == 6
    assert all(t["updated_by"] is None for t in listed["items"])  # the seeded defaults
    clauses = {**agreement_templates.DEFAULTS["assisted"], "other": ""}
    assert api.call("PUT", "/agreement-templates/assisted", {"clauses": clauses}).status_code == 403
    assert admin.call("GET", "/agreement-templates/nonsense").status_code == 404
    r = admin.call("PUT", "/agreement-templates/nonsense", {"clauses": clauses})
    assert r.status_code == 404
    r = admin.call("PUT", "/agreement-templates/assisted", {"clauses": clauses})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["updated_by"] == "admin" and r.get_json()["clauses"]["other"] == ""
    with db.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action.like("agreement_template%")))
        assert [e.detail for e in events] == [{"category": "assisted", "changed": ["other"]}]


@pytest.mark.parametrize(
    ("clauses", "field", "message"),
    [
        ({"breach": ""}, "clauses.breach", None),
        ({"dispute": "甲" * (agreement_templates.CLAUSE_MAX + 1)}, "clauses.dispute", "4000"),
        ({"termination": "\u200b"}, "clauses.termination", None),
        ({"penalty": "x"}, "clauses.penalty", None),
    ],
    ids=["required", "too_long", "invisible", "unknown"],
)
def test_a_template_the_api_refuses_is_refused_by_the_page(
    app, db, templates, clauses, field, message
):
    api, page = Api(app, "admin"), signed_in(app, "admin")  # (signing in is audited)
    before = stored(db)
    body = {**agreement_templates.DEFAULTS["self_governance"], **clauses}
    r = api.call("PUT", "/agreement-templates/self_governance", {"clauses": body})
    assert r.status_code == 422, r.get_json()
    fields = r.get_json()["error"]["fields"]
    assert field in fields and (message is None or message in fields[field]), fields
    key = field.removeprefix("clauses.")
    if key in agreement_templates.CLAUSES:
        path = "/admin/agreement-templates/self_governance"
        r = page.post(path, body, token_from=path)
        assert r.status_code == 422
        assert set(page_errors(r)) == {key}
    assert stored(db) == before
    with db.read() as s:
        assert s.get(AgreementTemplate, "self_governance").updated_by_id is None


def test_templates_are_edited_on_their_page_in_both_languages(app, db, templates):
    page = signed_in(app, "admin")
    words = data_words(db) + [c for t in agreement_templates.DEFAULTS.values() for c in t.values()]
    for lang in ("zh", "en"):
        listing = page.get(f"/admin/agreement-templates?lang={lang}")
        assert listing.status_code == 200
        assert_one_language(listing, lang, words)
        edit = page.get(f"/admin/agreement-templates/unlisted?lang={lang}")
        assert edit.status_code == 200 and 'name="breach"' in text(edit)
        assert_one_language(edit, lang, words)
    assert 'href="/admin/agreement-templates"' in text(page.get("/admin/users"))  # the tab
    assert page.get("/admin/agreement-templates/nonsense").status_code == 404
    assert signed_in(app, "dept.mz").get("/admin/agreement-templates").status_code == 403
    path = "/admin/agreement-templates/unlisted"
    new = {**agreement_templates.DEFAULTS["unlisted"], "dispute": "协商不成的，提请区准入办协调。"}
    r = page.post(path, new, token_from=path)
    assert r.status_code == 302
    assert "协商不成的，提请区准入办协调。" in text(page.get(path))
    with db.read() as s:
        assert s.get(AgreementTemplate, "unlisted").clauses == new


def test_an_agreement_keeps_the_clauses_it_was_drafted_with(app, db, actor, templates):
    first = handoff.create_request(
        db, actor("dept.mz"), handoff.RequestInput(**{**REQUEST, "community_codes": ["TB-RG-01"]})
    )
    approve(db, actor, first)
    (drafted,) = instances_of(db, first)
    sign_all(db, actor, first)
    before = agreement_of(db, drafted).content
    changed = {**agreement_templates.DEFAULTS["assisted"], "breach": "新的违约责任条款。"}
    r = Api(app, "admin").call("PUT", "/agreement-templates/assisted", {"clauses": changed})
    assert r.status_code == 200
    admin_api = Api(app, "admin")
    r = admin_api.call("PATCH", "/org-units/TB-RG-01", {"legal_name": "洮北区瑞光社区居民委员会"})
    assert r.status_code == 200
    try:
        signed = agreement_of(db, drafted)
        assert signed.status == "signed" and signed.content == before
    finally:
        admin_api.call("PATCH", "/org-units/TB-RG-01", {"legal_name": LEGAL["TB-RG-01"]})
    assert "新的违约责任条款" not in text(
        signed_in(app, "dept.mz").get(f"/instances/{drafted}/agreement")
    )
    second = handoff.create_request(
        db, actor("dept.mz"), handoff.RequestInput(**{**REQUEST, "community_codes": ["TB-RG-02"]})
    )
    approve(db, actor, second)
    (later,) = instances_of(db, second)
    assert agreement_of(db, later).content["clauses"]["breach"] == "新的违约责任条款。"


def test_legal_names_come_from_the_units_when_drafting(db, actor):
    with db.read() as s:
        units = {u.code: u for u in s.scalars(select(OrgUnit))}
    assert units["TB-RG-01"].legal_name == LEGAL["TB-RG-01"]
    assert units["TB-D-MZ"].full_name == LEGAL["TB-D-MZ"]
    assert all(u.legal_name for u in units.values() if u.code.startswith("TB"))
    data = {
        "department": "TB-D-MZ",
        "street": "TB-RG",
        "community": "TB-RG-01",
        "request_no": "REQ-2099-000001",
        "title": "测试",
        "amount": "0.00",
        "amount_fen": 0,
        "item_category": "no-such-category",  # old data: drafted with the unlisted clauses
    }
    with db.read() as s:
        content = agreement_terms.content(s, data)
    assert content["clauses"] == agreement_templates.DEFAULTS["unlisted"]
    assert content["parties"]["committee"]["legal_name"] == LEGAL["TB-RG-01"]


# --- the document: page, print, PDF --------------------------------------------------------------

PLAN = [
    {"seq": 1, "trigger": "signing", "on": None, "amount_fen": 200000},
    {"seq": 2, "trigger": "date", "on": "2099-06-30", "amount_fen": 200000},
    {"seq": 3, "trigger": "acceptance", "on": None, "amount_fen": 100000},
]
CONDITIONS = "甲方提供入户调查培训一次，配发调查平板电脑两台，乙方活动室作为工作场地。"


@pytest.fixture
def signed(db, actor):
    """A handoff with terms, working conditions and a payment plan, signed by all three."""
    from handoff.instalments import InstalmentInput

    payload = handoff.RequestInput(
        **{**REQUEST, "community_codes": ["TB-RG-01"]},
        terms=TERMS,
        conditions=CONDITIONS,
        payment_plan=[
            InstalmentInput("signing", amount="2000.00"),
            InstalmentInput("date", amount="2000.00", on="2099-06-30"),
            InstalmentInput("acceptance", amount="1000.00"),
        ],
    )
    request_id = handoff.create_request(db, actor("dept.mz"), payload)
    (instance_id,) = instances_of(db, request_id)
    approve(db, actor, request_id)
    sign_all(db, actor, request_id)
    return instance_id


def test_the_agreement_page_is_a_formal_document_in_chinese(app, db, signed):
    agreement = agreement_of(db, signed)
    page = text(signed_in(app, "committee.rg01").get(f"/instances/{signed}/agreement"))
    assert "社区工作事项委托协议" in page and agreement.number in page
    for legal in LEGAL.values():
        assert legal in page
    assert "张科长" in page and "0436-1234567" in page and "王主任 13800138000" in page
    articles = re.findall(r'<span class="article-no">(第.+?条)</span> (\S+)</h2>', page)
    assert articles[0] == ("第一条", "委托事项")
    assert [name for _, name in articles] == [
        "委托事项",
        "委托权限与依据",
        "委托期限",
        "验收标准",
        "工作条件",
        "工作经费",
        "违约责任",
        "协议变更",
        "协议终止",
        "争议解决",
        "其他约定",
    ]
    assert ("第十条", "争议解决") in articles
    assert "人民币 5,000.00 元（大写：人民币伍仟元整）" in re.sub(r"<[^>]+>", "", page)
    assert "自 2099年1月1日 起至 2099年12月31日 止" in page
    assert CONDITIONS in page and "入户交通、资料印制" in page
    plan = re.search(r"<table[^>]*data-payment-plan.*?</table>", page, flags=re.S).group(0)
    for label in ("签署后预拨", "按约定日期拨付", "验收合格后拨付尾款", "2099年6月30日"):
        assert label in plan
    assert "¥2,000.00" in plan and "¥1,000.00" in plan and "¥5,000.00" in plan  # and its total
    assert page.count('class="sign-box signed"') == 3
    assert page.count("（盖章）") == 3 and "负责人或授权代表签字" in page
    today = handoff.today()  # the signatures' day in Beijing, as the document dates them
    assert page.count("日期：<time datetime=") == 3
    assert f">{today.year}年{today.month}月{today.day}日</time>" in page
    assert f"本协议于 {today.year}年{today.month}月{today.day}日 经三方签署生效" in page
    assert 'href="/static/agreement.css"' in page
    assert f'href="/agreements/{agreement.id}.pdf"' in page
    for clause in agreement_templates.DEFAULTS["assisted"].values():
        assert clause.split("\n")[0] in page


def test_the_print_stylesheet_makes_a_paper_of_it():
    from server.web.agreement_doc import STYLESHEET

    css = STYLESHEET.read_text(encoding="utf-8")
    assert re.search(r"@page\s*{[^}]*size:\s*A4", css)
    printed = css[css.index("@media print") :]
    assert ".no-print" in printed and ".main-nav" in printed and "display: none" in printed
    assert "#000" in printed and "background: #fff" in printed
    signatures = re.search(r"\.signatures\s*{([^}]*)}", css).group(1)
    assert "break-inside: avoid" in signatures


def test_the_agreement_page_speaks_english_too(app, db, signed):
    page = signed_in(app, "dept.mz").get(f"/instances/{signed}/agreement?lang=en")
    assert page.status_code == 200
    body = text(page)
    assert "Article 1" in body and "Article 10" in body and "Disputes" in body
    assert "Party A (seal)" in body and "advance on signing" in body
    terms = [line for value in TERMS.values() for line in value.split("\n")]
    words = data_words(db) + terms + [CONDITIONS]
    words += ["2099-01-01", "2099-12-31"]
    assert_one_language(page, "en", words)


def pdf_text(data: bytes) -> tuple[str, set[str]]:
    reader = PdfReader(io.BytesIO(data))
    words = "\n".join(p.extract_text() for p in reader.pages)
    fonts = set()
    for p in reader.pages:
        for font in p["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    return words, fonts


def test_the_agreement_pdf(app, db, signed):
    agreement = agreement_of(db, signed)
    dept = signed_in(app, "dept.mz")
    r = dept.get(f"/agreements/{agreement.id}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF")
    assert f'filename="{agreement.number}.pdf"' in r.headers["Content-Disposition"]
    words, fonts = pdf_text(r.data)
    flat = re.sub(r"\s+", "", words)
    assert agreement.number in flat and LEGAL["TB-RG-01"] in flat
    assert "第一条" in flat and "争议解决" in flat and "人民币伍仟元整" in flat
    assert any("CJK" in f for f in fonts), fonts  # the Chinese drawn in an embedded CJK font
    assert PdfReader(io.BytesIO(r.data)).pages[0].mediabox.width == pytest.approx(595.28, 0.5)
    # the API's, in English
    api = Api(app, "street.rg")
    r = api.client.get(
        f"/api/v1/instances/{signed}/agreement.pdf?lang=en",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    words, fonts = pdf_text(r.data)
    assert "Article 1" in words and agreement.number in re.sub(r"\s+", "", words)
    assert any("CJK" in f for f in fonts)


def test_the_pdf_is_for_the_parties_of_the_handoff_only(app, db, actor, signed):
    agreement = agreement_of(db, signed)
    for outsider in ("street.hm", "committee.rg02", "dept.rs"):
        browser = signed_in(app, outsider)
        assert browser.get(f"/agreements/{agreement.id}.pdf").status_code == 404
        assert browser.get(f"/instances/{signed}/agreement").status_code == 404
        r = Api(app, outsider).call("GET", f"/instances/{signed}/agreement.pdf")
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert signed_in(app, "dept.mz").get("/agreements/999999.pdf").status_code == 404
    assert app.test_client().get(f"/agreements/{agreement.id}.pdf").status_code == 302  # sign in
    r = Api(app, "dept.mz").call("GET", f"/instances/{signed}/agreement.pdf?lang=fr")
    assert r.status_code == 422
    # a handoff not signing yet has no agreement: 404
    request_id = handoff.create_request(
        db, actor("dept.mz"), handoff.RequestInput(**{**REQUEST, "community_codes": ["TB-RG-03"]})
    )
    (waiting,) = instances_of(db, request_id)
    r = Api(app, "dept.mz").call("GET", f"/instances/{waiting}/agreement.pdf")
    assert r.status_code == 404


def test_start_dates_are_checked_against_today(db):
    today = date(2099, 1, 10)
    terms = {**TERMS, "start_date": "2099-01-10"}
    parsed = agreement_terms.parse(terms, amount_fen=1, due=date(2099, 1, 10), today=today)
    assert parsed.start_date == today and parsed.as_data()["start_date"] == "2099-01-10"
    with pytest.raises(FormErrors) as refused:
        agreement_terms.parse(
            terms, amount_fen=1, due=date(2099, 1, 9), today=today - timedelta(days=1)
        )
    assert set(refused.value.fields) == {"terms.start_date"}
    assert agreement_terms.parse(None, amount_fen=1, due=None, today=today) is None
