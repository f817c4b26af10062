"""Every page a user can reach speaks one language: each demo role walks the links of the site
from its inbox, in Chinese and in English, and no page shows a word of the other language
(the data's own words — people, units, items, the processes' names — aside). SQLite and
PostgreSQL, Flask's test client."""

from __future__ import annotations

import re
from collections import Counter, deque
from datetime import timedelta
from urllib.parse import urldefrag, urlsplit

import pytest
from sqlalchemy import select

from handoff import requests as handoff
from handoff import residents
from handoff.models import Agreement, AgreementTemplate, CatalogItem, Request
from server import create_app
from workflows import clock, service
from workflows.models import ProcessInstance, Task, User

from .test_handoff import start_at
from .test_web_pages import signed_in
from .test_web_processes import ACRONYMS, CJK, _data_words, _visible

FORMATS = {"CSV", "Excel"}  # file formats, named so in Chinese too

ROLES = ["dept.mz", "street.rg", "committee.rg01", "finance", "reviewer", "admin"]
MOST_PAGES = 45  # per role and language: every kind of page, not every page of every kind
# the printable agreement (/instances/N/agreement) is the legal document as drafted, in Chinese
# (its title, the amount in capital numerals): not walked
SKIP = re.compile(
    r"/(logout|login)|\.(xlsx|csv|svg|png|pdf|xml)\b|/attachments/|/download|/agreement$"
)
HREF = re.compile(r'href="([^"#]+)"')


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


# the agreement terms of the signed request below (the data's own words)
TERMS = {
    "contact_name": "张科长",
    "contact_phone": "0436-1234567",
    "authority": "入户调查",
    "acceptance_standard": "全部入户并提交调查表",
    "permitted_use": "入户交通",
    "start_date": "2099-01-01",
}


@pytest.fixture
def district(db, actor):
    """Three requests, one fanned out and moved on, one signed (its agreement printable, its
    money waiting for finance): inboxes, requests, instances and an agreement to walk; and two
    handoffs whose work is reported, one with its 居民评议 open and rated."""
    for title, codes, terms in (
        ("低保对象入户调查", ["TB-RG-01", "TB-RG-02"], None),
        ("残疾人状况调查", ["TB-RG-01"], None),
        ("优抚对象走访", ["TB-RG-03"], TERMS),
    ):
        payload = handoff.RequestInput(
            title=title,
            community_codes=codes,
            amount="1000.00",
            item_code="A01",
            due_date="2099-12-31",
            terms=terms,
        )
        handoff.create_request(db, actor("dept.mz"), payload)
    with db.read() as s:
        reviews = s.scalars(select(Task).where(Task.key == "street_review").order_by(Task.id))
        first, signing = (
            reviews.first(),
            s.scalars(
                select(Task).where(Task.key == "street_review", Task.title.contains("优抚"))
            ).one(),
        )
    service.complete_task(db, first.id, actor("street.rg"), {"decision": "approve"})
    service.complete_task(db, signing.id, actor("street.rg"), {"decision": "approve"})
    for key, username in (
        ("sign_committee", "committee.rg03"),  # the committee signs first
        ("sign_department", "dept.mz"),
        ("sign_street", "street.rg"),
    ):
        with db.read() as s:
            task = s.scalars(
                select(Task).where(Task.key == key, Task.instance_id == signing.instance_id)
            ).one()
        service.complete_task(db, task.id, actor(username), {"decision": "sign"})
    start_at(db, actor, "acceptance", title="低保对象入户调查")  # the committee may open one
    surveyed = start_at(db, actor, "acceptance", title="残疾人状况调查")
    residents.open_survey(db, actor("committee.rg01"), surveyed)
    with db.read() as s:
        token = residents.survey_of(s, surveyed).token
    seen = residents.Client("device", clock.now(), "10.0.0.1", clock.now() - timedelta(minutes=1))
    residents.rate(db, token, 4, "小区楼道清理得很干净", seen, "x" * 40)


def data_words(db) -> list[str]:
    with db.read() as s:
        items = [
            w for i in s.scalars(select(CatalogItem)) for w in (i.name, i.legal_basis, *i.terms)
        ]
    with db.read() as s:  # identifiers, titles and usernames are the data's own too
        numbers = list(s.scalars(select(Request.number))) + list(
            s.scalars(select(Agreement.number))
        )
        numbers += list(s.scalars(select(ProcessInstance.title)))
        numbers += list(s.scalars(select(User.username)))
        # the agreement templates' clauses, whole (as edited) and by paragraph (as printed)
        clauses = [c for row in s.scalars(select(AgreementTemplate)) for c in row.clauses.values()]
        numbers += clauses + [line for c in clauses for line in c.split("\n")]
    titles = ["低保对象入户调查", "残疾人状况调查", "优抚对象走访"]
    # what the handoffs' steps submitted (tests.test_handoff.happy_data): the data's own words
    submitted = ["对辖区低保对象开展入户调查", "已完成入户调查 120 户", "PZ-2026-0001"]
    return (
        _data_words(db)
        + [w for w in items if w]
        + numbers
        + titles
        + list(TERMS.values())
        + submitted
    )


def other_language(page: str, lang: str, words: list[str]) -> list[str]:
    seen = _visible(page, words)
    if lang == "zh":
        return sorted(set(re.findall(r"[A-Za-z]{2,}", seen)) - ACRONYMS - FORMATS)
    return sorted(set(CJK.findall(seen)))


PER_KIND = 2  # pages of one kind walked before those of kinds not seen yet


def kind(path: str) -> str:
    """What kind of page a path is: its path without its numbers (/instances/4 and
    /instances/5 are one kind; /reports?from=… and /reports?street=… too)."""
    return re.sub(r"\d+", "#", urlsplit(path).path)


def walk(
    browser, lang: str, words: list[str], starts=("/inbox",), seen: set[str] | None = None
) -> list[str]:
    """Breadth first from the inbox, PER_KIND pages of a kind before more of that kind (so that
    the MOST_PAGES walked are of as many kinds as there are)."""
    seen = set() if seen is None else seen
    fresh, more = deque(starts), deque()
    kinds: Counter[str] = Counter()
    problems: list[str] = []
    while (fresh or more) and len(seen) < MOST_PAGES:
        path = (fresh or more).popleft()
        if path in seen:
            continue
        seen.add(path)
        r = browser.get(path + ("&" if "?" in path else "?") + f"lang={lang}")
        if r.status_code != 200 or not r.content_type.startswith("text/html"):
            continue
        stray = other_language(r.get_data(as_text=True), lang, words)
        if stray:
            problems.append(f"{path}: {stray}")
        for href in HREF.findall(r.get_data(as_text=True)):
            href = urldefrag(href.replace("&amp;", "&"))[0]
            parts = urlsplit(href)
            if parts.netloc or not href.startswith("/") or SKIP.search(href):
                continue
            target = re.sub(r"[?&]lang=\w+", "", href)
            if target not in seen and target not in fresh:
                (fresh if kinds[kind(target)] < PER_KIND else more).append(target)
                kinds[kind(target)] += 1
    return problems


# pages deeper than the walk from the inbox reaches (MOST_PAGES), walked first: the printed
# agreement (its parties see it; the others are answered 404, and skipped) and the admin's
# agreement templates
DEEP = {"admin": ["/admin/agreement-templates", "/admin/agreement-templates/assisted"]}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_speaks_one_language(app, db, district, lang):
    words = data_words(db)
    with db.read() as s:
        signed = s.scalar(select(Agreement.instance_id).where(Agreement.status == "signed"))
    problems, walked = [], {}
    for username in ROLES:
        walked[username] = set()
        starts = ["/inbox", f"/instances/{signed}/agreement", *DEEP.get(username, [])]
        found = walk(signed_in(app, username), lang, words, starts, walked[username])
        problems += [f"{username} {p}" for p in found]
    assert not problems, "\n".join(problems)
    # the pages of 居民评议 were among those walked: the public page, the committee's opening
    # form, and the admin's weights
    committee = walked["committee.rg01"]
    assert any(p.startswith("/r/") for p in committee), sorted(committee)
    assert any(p.endswith("/resident-survey/new") for p in committee), sorted(committee)
    assert "/admin/evaluation-weights" in walked["admin"], sorted(walked["admin"])
