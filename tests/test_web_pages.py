"""The web pages through Flask's test client on a migrated and seeded database (SQLite and
PostgreSQL): sign-in, CSRF, scoping, form validation, and a whole handoff through the pages."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handoff import requests as handoff
from handoff.models import CatalogItem, HandoffInstance, LedgerEntry, Request
from server import create_app
from server.web import fmt, i18n
from workflows import clock, service
from workflows.models import AuditEvent, ProcessInstance, Task
from workflows.models import User as UserRow

PASSWORD = "demo-pass-2026"
TEMPLATES = Path(__file__).resolve().parent.parent / "server" / "templates"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


class Browser:
    """A test client that keeps its cookie and posts forms with their CSRF token."""

    def __init__(self, app):
        self.client = app.test_client()

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def token(self, path="/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        match = CSRF_RE.search(page)
        assert match, page[:500]
        return match.group(1)

    def post(self, path, data=None, *, token_from=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token(token_from or "/inbox"))
        return self.client.post(path, data=data, **kw)

    def sign_in(self, username, password=PASSWORD):
        token = self.token("/login")
        return self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )


def signed_in(app, username, password=PASSWORD) -> Browser:
    browser = Browser(app)
    r = browser.sign_in(username, password)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return browser


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def launch(db, actor, communities, amount="5000.00", item="A01", title="低保对象入户调查"):
    payload = handoff.RequestInput(
        title=title,
        community_codes=communities,
        amount=amount,
        item_code=item,
        description="对辖区低保对象开展入户调查",
        due_date="2099-12-31",
    )
    return handoff.create_request(db, actor("dept.mz"), payload)


def open_task(db, request_id, key, community=None) -> Task:
    with db.read() as s:
        stmt = (
            select(Task)
            .join(HandoffInstance, HandoffInstance.instance_id == Task.instance_id)
            .where(HandoffInstance.request_id == request_id, Task.key == key, Task.status == "open")
        )
        if community:
            stmt = stmt.join(ProcessInstance, ProcessInstance.id == Task.instance_id).where(
                ProcessInstance.title.contains(community)
            )
        rows = s.scalars(stmt).all()
        assert len(rows) == 1, (key, rows)
        return rows[0]


# --- signing in -----------------------------------------------------------------------------


def test_sign_in_works_and_fails(app):
    browser = Browser(app)
    r = browser.get("/inbox")
    assert r.status_code == 302 and "/login?next=/inbox" in r.headers["Location"]
    assert browser.get("/").headers["Location"].endswith("/login")

    bad = browser.sign_in("dept.mz", "wrong-password")
    assert bad.status_code == 401
    assert "用户名或密码错误" in text(bad)
    assert browser.get("/inbox").status_code == 302  # still signed out

    unknown = browser.sign_in("nobody", "whatever-pass")
    assert unknown.status_code == 401

    ok = browser.sign_in("dept.mz")
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/inbox")
    page = browser.get("/inbox")
    assert page.status_code == 200
    assert "区民政局经办人" in text(page) and "我的待办" in text(page)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    cookie = page.request.headers.get("Cookie", "")
    assert "session=" in cookie

    out = browser.post("/logout")
    assert out.status_code == 302 and out.headers["Location"].endswith("/login")
    assert browser.get("/inbox").status_code == 302


def test_session_cookie_is_httponly_and_lax(app):
    browser = Browser(app)
    r = browser.client.get("/login")
    header = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_sign_in_redirects_only_to_local_paths(app):
    browser = Browser(app)
    token = browser.token("/login")
    r = browser.client.post(
        "/login",
        data={
            "username": "dept.mz",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/steal",
        },
    )
    assert r.status_code == 302 and r.headers["Location"] == "/inbox"


def test_repeated_failures_throttle(app):
    browser = Browser(app)
    for _ in range(5):
        assert browser.sign_in("street.hm", "wrong-password").status_code == 401
    r = browser.sign_in("street.hm")
    assert r.status_code == 429 and "登录失败次数过多" in text(r)


def test_deactivated_user_is_signed_out(app, db):
    browser = signed_in(app, "street.xl")
    assert browser.get("/inbox").status_code == 200
    with db.write() as s:
        s.scalar(select(UserRow).where(UserRow.username == "street.xl")).is_active = False
    try:
        assert browser.get("/inbox").status_code == 302
    finally:
        with db.write() as s:
            s.scalar(select(UserRow).where(UserRow.username == "street.xl")).is_active = True


# --- CSRF -----------------------------------------------------------------------------------


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, db, actor):
    browser = signed_in(app, "dept.mz")
    form = {
        "title": "不带令牌的申请",
        "item_code": "A01",
        "community_codes": "TB-RG-01",
        "amount": "5000.00",
        "action": "submit",
    }
    r = browser.post("/requests/new", form, csrf=False)
    assert r.status_code == 400
    assert "表单已过期" in text(r)
    r = browser.post("/requests/new", {**form, "csrf_token": "forged-token-" + "x" * 30})
    assert r.status_code == 400
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Request)) == 0

    # a task cannot be completed, claimed or released without the token either
    request_id = launch(db, actor, ["TB-RG-01"])
    task = open_task(db, request_id, "street_review")
    rg = signed_in(app, "street.rg")
    assert rg.post(f"/tasks/{task.id}", {"decision": "approve"}, csrf=False).status_code == 400
    assert rg.post(f"/tasks/{task.id}/claim", csrf=False).status_code == 400
    with db.read() as s:
        row = s.get(Task, task.id)
        assert row.status == "open" and row.assignee_id is None

    # nor can anyone sign in or out by a forged form
    stranger = Browser(app)
    forged = stranger.client.post("/login", data={"username": "dept.mz", "password": PASSWORD})
    assert forged.status_code == 400
    assert rg.post("/logout", csrf=False).status_code == 400
    assert rg.get("/inbox").status_code == 200


# --- scoping --------------------------------------------------------------------------------


def test_inbox_scoping_street_hm_never_sees_rg(app, db, actor):
    rg_request = launch(db, actor, ["TB-RG-01"], title="瑞光专项调查")
    hm_request = launch(db, actor, ["TB-HM-01"], title="海明专项调查")
    rg_task = open_task(db, rg_request, "street_review")

    hm = signed_in(app, "street.hm")
    inbox = text(hm.get("/inbox"))
    assert "海明专项调查" in inbox
    assert "瑞光" not in inbox
    assert hm.get(f"/tasks/{rg_task.id}").status_code == 403
    assert hm.post(f"/tasks/{rg_task.id}/claim").status_code == 403
    assert hm.post(f"/tasks/{rg_task.id}", {"decision": "approve"}).status_code == 403
    assert hm.get(f"/requests/{rg_request}").status_code == 404
    assert hm.get(f"/instances/{rg_task.instance_id}").status_code == 404
    assert hm.get(f"/instances/{rg_task.instance_id}/agreement").status_code == 404
    assert "瑞光" not in text(hm.get("/requests"))
    assert hm.get(f"/requests/{hm_request}").status_code == 200
    with db.read() as s:
        assert s.get(Task, rg_task.id).assignee_id is None

    rg = signed_in(app, "street.rg")
    inbox = text(rg.get("/inbox"))
    assert "瑞光专项调查" in inbox and "海明专项调查" not in inbox


def test_request_page_shows_only_the_communities_in_scope(app, db, actor):
    request_id = launch(db, actor, ["TB-RG-01", "TB-HM-01"], title="两街道调查")
    hm = text(signed_in(app, "street.hm").get(f"/requests/{request_id}"))
    assert "海明社区" in hm and "瑞光社区" not in hm
    dept = text(signed_in(app, "dept.mz").get(f"/requests/{request_id}"))
    assert "海明社区" in dept and "瑞光社区" in dept


def test_role_pages_refuse_other_roles(app):
    committee = signed_in(app, "committee.rg01")
    assert committee.get("/admin/users").status_code == 403
    assert committee.get("/finance").status_code == 403
    assert committee.get("/requests/new").status_code == 403
    assert committee.post("/admin/catalog", {"code": "X1", "name": "x"}).status_code == 403
    assert committee.get("/tasks/999999").status_code == 404
    assert "找不到" in text(committee.get("/instances/999999"))


# --- the task form --------------------------------------------------------------------------


def test_form_validation_messages_next_to_fields(app, db, actor):
    request_id = launch(db, actor, ["TB-RG-02"])
    task = open_task(db, request_id, "street_review")
    rg = signed_in(app, "street.rg")
    page = text(rg.get(f"/tasks/{task.id}"))
    assert "审核结论" in page and "低保对象入户调查" in page and "5,000.00" in page

    r = rg.post(f"/tasks/{task.id}", {"decision": "reject", "comment": ""})
    assert r.status_code == 422
    page = text(r)
    assert re.search(r'id="err-comment">[^<]*必须填写意见', page)
    assert 'aria-describedby="err-comment"' in page
    assert re.search(r'value="reject"\s+checked', page)  # the user's choice is kept

    r = rg.post(f"/tasks/{task.id}", {"decision": "maybe"})
    assert r.status_code == 422 and 'id="err-decision"' in text(r)
    r = rg.post(f"/tasks/{task.id}", {})
    assert r.status_code == 422 and "必填" in text(r)
    with db.read() as s:
        assert s.get(Task, task.id).status == "open"


def test_claim_and_release_from_the_inbox(app, db, actor):
    request_id = launch(db, actor, ["TB-RG-03"])
    task = open_task(db, request_id, "street_review")
    rg = signed_in(app, "street.rg")
    r = rg.post(f"/tasks/{task.id}/claim", {"next": "/inbox?q=x"})
    assert r.status_code == 302 and r.headers["Location"] == "/inbox?q=x"
    with db.read() as s:
        assert s.get(Task, task.id).assignee_id is not None
    page = text(rg.get("/inbox"))
    assert "释放" in page and 'data-count="mine">1<' in page
    r = rg.post(f"/tasks/{task.id}/release", {"next": "https://evil.example/"})
    assert r.status_code == 302 and r.headers["Location"] == f"/tasks/{task.id}"
    with db.read() as s:
        assert s.get(Task, task.id).assignee_id is None


def test_inbox_filters_and_paging(app, db, actor):
    request_id = launch(db, actor, [f"TB-RG-0{i}" for i in range(1, 7)], title="六个社区")
    launch(db, actor, ["TB-RG-01"], title="另一件事")
    rg = signed_in(app, "street.rg")
    page = text(rg.get("/inbox"))
    assert 'data-count="open">7<' in page
    assert page.count('class="task-card') == 7
    only = text(rg.get("/inbox?q=另一件"))
    assert only.count('class="task-card') == 1
    assert text(rg.get("/inbox?overdue=1")).count('class="task-card') == 0
    assert text(rg.get("/inbox?claimed=0")).count('class="task-card') == 7
    assert text(rg.get("/inbox?page=abc")).count('class="task-card') == 7  # bad input: no 500
    assert request_id


def test_overdue_marks_and_escalation_to_the_reviewer(app, db, actor):
    request_id = launch(db, actor, ["TB-RG-04"], title="逾期的审核")
    task = open_task(db, request_id, "street_review")
    clock.advance(timedelta(days=40))
    assert service.fire_due_timers(db) >= 1
    rg = text(signed_in(app, "street.rg").get("/inbox"))
    assert 'data-count="overdue">1<' in rg and "已超期" in rg and "已上报区审核办" in rg
    assert text(signed_in(app, "street.rg").get("/inbox?overdue=1")).count('class="task-card') == 1
    reviewer = signed_in(app, "reviewer")
    page = text(reviewer.get("/inbox"))
    assert "逾期的审核" in page and "is-overdue" in page
    assert reviewer.get(f"/tasks/{task.id}").status_code == 200
    timeline = text(reviewer.get(f"/requests/{request_id}"))
    assert "超期上报" in timeline


def test_delegate_revise_and_cancel(app, db, actor):
    request_id = launch(db, actor, ["TB-RG-05"], title="需要修改的申请")
    review = open_task(db, request_id, "street_review")
    rg = signed_in(app, "street.rg")
    r = rg.post(f"/tasks/{review.id}/delegate", {"username": "street.hm"})
    assert r.status_code == 422 and "没有此角色" in text(r)
    complete(rg, review.id, {"decision": "revise", "comment": "请补充经费测算依据"})

    dept = signed_in(app, "dept.mz")
    revise = open_task(db, request_id, "revise")
    page = text(dept.get(f"/tasks/{revise.id}"))
    assert "请补充经费测算依据" in page  # the earlier comment is shown
    assert "当前：5,000.00" in page and 'id="hint-amount"' in page
    complete(dept, revise.id, {"amount": "6000.00", "comment": "已补充"})
    review = open_task(db, request_id, "street_review")
    assert "6,000.00" in text(rg.get(f"/tasks/{review.id}"))

    instance_page = f"/instances/{review.instance_id}"
    assert "撤销本流程" not in text(rg.get(instance_page))
    assert rg.post(f"{instance_page}/cancel", {"reason": "x"}).status_code == 403
    r = dept.post(f"{instance_page}/cancel", {"reason": "工作已调整"}, token_from=instance_page)
    assert r.status_code == 302
    page = text(dept.get(instance_page))
    assert "已撤销" in page and "工作已调整" in page
    with db.read() as s:
        assert s.get(Task, review.id).status == "withdrawn"


# --- new request ----------------------------------------------------------------------------


def _visible_warning(page: str, kind: str) -> bool:
    match = re.search(rf'<p class="warn" data-warn="{kind}"([^>]*)>', page)
    assert match, kind
    return "hidden" not in match.group(1)


def test_new_request_check_shows_negative_and_unfunded(app, db):
    dept = signed_in(app, "dept.mz")
    page = text(dept.get("/requests/new"))
    assert "瑞光街道" in page and "整个街道" in page and "N01" in page
    assert not _visible_warning(page, "negative") and not _visible_warning(page, "unfunded")

    form = {"title": "招商", "item_code": "N01", "amount": "1000.00", "action": "check"}
    page = text(dept.post("/requests/new", {**form, "community_codes": "TB-RG-01"}))
    assert _visible_warning(page, "negative")

    form = {"title": "低保", "item_code": "A01", "amount": "0", "action": "check"}
    page = text(dept.post("/requests/new", form))
    assert _visible_warning(page, "unfunded") and not _visible_warning(page, "negative")

    form = {"title": "低保", "item_code": "A01", "amount": "100.00", "action": "check"}
    page = text(dept.post("/requests/new", form))
    assert not _visible_warning(page, "unfunded")
    assert "检查通过" in page

    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Request)) == 0


def _term_warning(page: str) -> str:
    match = re.search(r'<p class="warn" data-warn="term"[^>]*>(.*?)</p>', page, re.S)
    assert match
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_new_request_warns_of_negative_terms_and_forbidden_certificates(app, db):
    dept = signed_in(app, "dept.mz")
    page = text(dept.get("/requests/new"))
    assert not _visible_warning(page, "term") and not _visible_warning(page, "forbidden")
    # the page carries the negative list's terms for warning as one types (app.js)
    spec = re.search(r"data-terms='([^']*)'", page).group(1)
    assert '"招商引资"' in spec and '"环境整治"' in spec and '"招商银行"' in spec
    assert 'data-unlisted="{field}含负面清单用语「{term}」' in page

    check = {"amount": "1000.00", "action": "check"}
    page = text(dept.post("/requests/new", {**check, "title": "完成招 商 引 资任务"}))
    assert _visible_warning(page, "term") and not _visible_warning(page, "negative")
    warning = _term_warning(page)
    assert "事项标题" in warning and "「招商引资」" in warning and "N01" in warning
    assert "直接拦截" in warning  # unlisted: blocked
    assert 'data-warn="ok" hidden' in page

    form = {**check, "title": "就业信息发布", "item_code": "A06", "description": "兼顾招商引资"}
    page = text(dept.post("/requests/new", form))
    warning = _term_warning(page)
    assert "工作内容" in warning and "区准入办复核" in warning  # listed: district review

    page = text(dept.post("/requests/new", {**check, "title": "招商银行代发核对"}))
    assert not _visible_warning(page, "term") and "检查通过" in page

    page = text(dept.post("/requests/new", {**check, "title": "开证明", "item_code": "C12"}))
    assert _visible_warning(page, "forbidden") and "社区不得出具该证明" in page
    assert not _visible_warning(page, "negative")

    english = text(dept.post("/requests/new?lang=en", {**check, "title": "招商引资"}))
    assert "names a negative-list term" in _term_warning(english)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Request)) == 0


def test_new_request_needs_a_due_date_leaving_review_and_funding(app, db):
    dept = signed_in(app, "dept.mz")
    earliest = handoff.earliest_due(100)
    form = {
        "title": "低保复核",
        "item_code": "A01",
        "amount": "100.00",
        "community_codes": "TB-RG-01",
        "action": "submit",
    }
    for due in ("", (earliest - timedelta(days=1)).isoformat()):
        r = dept.post("/requests/new", {**form, "due_date": due})
        assert r.status_code == 422
        page = text(r)
        assert 'id="err-due_date"' in page and earliest.isoformat() in page
        assert "街道审核 15 个工作日、经费拨付 10 个工作日" in page
    r = dept.post("/requests/new", {**form, "due_date": earliest.isoformat()})
    assert r.status_code == 302


def test_a_request_blocked_by_a_term_shows_it(app, db):
    dept = signed_in(app, "dept.mz")
    r = dept.post(
        "/requests/new",
        {
            "title": "背街小巷环境整治",
            "amount": "2000.00",
            "community_codes": "TB-RG-03",
            "due_date": "2099-12-31",
            "action": "submit",
        },
    )
    assert r.status_code == 302
    page = text(dept.get(r.headers["Location"]))
    assert "负面清单拦截" in page and "负面清单用语" in page
    assert "「环境整治」" in page and "N08" in page and "已直接拦截" in page
    with db.read() as s:
        instance_id = s.scalar(select(HandoffInstance.instance_id))
    page = text(dept.get(f"/instances/{instance_id}"))
    assert 'data-negative-term="环境整治"' in page


def test_the_district_reviewer_sees_the_flag_on_the_task(app, db, actor):
    payload = handoff.RequestInput(
        title="就业信息发布",
        community_codes=["TB-RG-01"],
        amount="500.00",
        item_code="A06",
        description="同时开展招商引资宣传",
        due_date="2099-12-31",
    )
    request_id = handoff.create_request(db, actor("dept.mz"), payload)
    review = open_task(db, request_id, "street_review")
    rg = signed_in(app, "street.rg")
    assert "「招商引资」" in text(rg.get(f"/tasks/{review.id}"))
    complete(rg, review.id, {"decision": "approve"})
    district = open_task(db, request_id, "district_review")
    page = text(signed_in(app, "reviewer").get(f"/tasks/{district.id}"))
    flag = re.search(r'<div class="wide" data-negative-term="招商引资">.*?</div>', page, re.S)
    assert flag and "见于工作内容" in flag.group(0) and "区准入办复核" in flag.group(0)
    english = text(signed_in(app, "reviewer").get(f"/tasks/{district.id}?lang=en"))
    assert "Negative-list term" in english


def test_new_request_whole_street_and_errors(app, db):
    dept = signed_in(app, "dept.mz")
    r = dept.post("/requests/new", {"title": "", "amount": "abc", "action": "submit"})
    assert r.status_code == 422
    page = text(r)
    assert 'id="err-title"' in page and 'id="err-amount"' in page

    r = dept.post(
        "/requests/new",
        {
            "title": "整街道调查",
            "item_code": "A01",
            "amount": "100.00",
            "streets": "TB-RG",
            "due_date": "2099-01-01",
            "action": "submit",
        },
    )
    assert r.status_code == 302
    with db.read() as s:
        req = s.scalar(select(Request))
        instances = s.scalars(select(HandoffInstance).where(HandoffInstance.request_id == req.id))
        assert len(list(instances)) == 6
    page = text(dept.get(r.headers["Location"]))
    assert "申请已提交" in page and "瑞光社区" in page and "利民社区" in page


def test_blocked_request_is_stored_and_shown(app, db):
    dept = signed_in(app, "dept.mz")
    r = dept.post(
        "/requests/new",
        {
            "title": "招商引资任务",
            "item_code": "N01",
            "amount": "0",
            "community_codes": "TB-RG-05",
            "due_date": "2099-12-31",
            "action": "submit",
        },
    )
    assert r.status_code == 302
    page = text(dept.get(r.headers["Location"]))
    assert "负面清单拦截" in page
    listing = text(dept.get("/requests"))
    assert "招商引资任务" in listing and "负面清单拦截" in listing


# --- a whole handoff through the pages ------------------------------------------------------


def complete(browser, task_id, data, expect=302):
    r = browser.post(f"/tasks/{task_id}", data, token_from=f"/tasks/{task_id}")
    assert r.status_code == expect, text(r)[:3000]
    return r


def test_whole_handoff_through_the_pages(app, db):
    dept = signed_in(app, "dept.mz")
    r = dept.post(
        "/requests/new",
        {
            "title": "低保对象入户调查",
            "item_code": "A01",
            "amount": "5000.00",
            "community_codes": "TB-RG-01",
            "due_date": "2099-12-31",
            "description": "对辖区低保对象开展入户调查",
            "action": "submit",
        },
        token_from="/requests/new",
    )
    assert r.status_code == 302
    request_id = int(r.headers["Location"].rsplit("/", 1)[-1])
    rg, committee = signed_in(app, "street.rg"), signed_in(app, "committee.rg01")
    finance = signed_in(app, "finance")

    complete(rg, open_task(db, request_id, "street_review").id, {"decision": "approve"})
    complete(dept, open_task(db, request_id, "sign_department").id, {"decision": "sign"})
    complete(committee, open_task(db, request_id, "sign_committee").id, {"decision": "sign"})
    complete(rg, open_task(db, request_id, "sign_street").id, {"decision": "sign"})

    instance_id = open_task(db, request_id, "funding").instance_id
    agreement = text(dept.get(f"/instances/{instance_id}/agreement"))
    assert "社区工作事项委托协议" in agreement and "人民币伍仟元整" in agreement
    assert agreement.count('class="sign-box signed"') == 3

    waiting = text(finance.get("/finance"))
    assert "待确认拨付" in waiting and "5,000.00" in waiting
    funding = open_task(db, request_id, "funding")
    today = handoff.today().isoformat()  # Beijing's day, as the service counts it
    wrong = complete(
        finance,
        funding.id,
        {"amount": "4000.00", "voucher_no": "PZ-1", "transferred_on": today},
        expect=422,
    )
    assert re.search(r'id="err-amount">[^<]*5000\.00', text(wrong))
    complete(
        finance,
        funding.id,
        {"amount": "5000.00", "voucher_no": "PZ-2026-0001", "transferred_on": today},
    )
    assert "PZ-2026-0001" in text(finance.get("/finance"))

    work = open_task(db, request_id, "work")
    complete(committee, work.id, {"report": "已完成入户调查 58 户", "completed_on": today})
    complete(dept, open_task(db, request_id, "acceptance").id, {"decision": "accept"})
    evaluation = open_task(db, request_id, "evaluation")
    bad = complete(rg, evaluation.id, {"score": "101"}, expect=422)
    assert 'id="err-score"' in text(bad)
    complete(rg, evaluation.id, {"score": "95", "comment": "按期保质完成"})

    page = text(dept.get(f"/requests/{request_id}"))
    assert "已完成" in page
    assert 'data-money="agreed">¥5,000.00' in page
    assert 'data-money="transferred">¥5,000.00' in page
    assert 'data-money="outstanding">¥0.00' in page
    assert "<svg" in page and "账目已结清" in page
    for who in ("区民政局经办人", "区财政局 李会计"):
        assert who in page
    english = text(dept.get(f"/requests/{request_id}?lang=en"))
    assert "completed" in english and "Money trail" in english
    instance = text(rg.get(f"/instances/{instance_id}?lang=zh"))
    assert "PZ-2026-0001" in instance and "按期保质完成" in instance
    with db.read() as s:
        assert s.scalar(select(ProcessInstance.outcome).where(ProcessInstance.id == instance_id))
        kinds = s.scalars(select(LedgerEntry.kind).where(LedgerEntry.instance_id == instance_id))
        assert sorted(kinds) == ["agreed", "transferred"]


# --- admin ----------------------------------------------------------------------------------


def test_admin_users_catalog_units_and_processes(app, db, tag):
    admin = signed_in(app, "admin")
    page = text(admin.get("/admin/users"))
    assert "committee.rg01" in page and "新建用户" in page and "第 1 / 3 页" in page
    assert "dept.mz" in text(admin.get("/admin/users?q=dept.mz"))
    r = admin.post(
        "/admin/users",
        {
            "username": f"dept.{tag}",
            "display_name": "新同事",
            "password": "short",
            "role": "department",
            "org_unit": "TB-D-MZ",
        },
    )
    assert r.status_code == 422 and 'id="err-password"' in text(r)
    r = admin.post(
        "/admin/users",
        {
            "username": f"dept.{tag}",
            "display_name": "新同事",
            "password": "a-long-enough-password",
            "role": "department",
            "org_unit": "TB-D-MZ",
        },
    )
    assert r.status_code == 302
    newcomer = signed_in(app, f"dept.{tag}", "a-long-enough-password")
    assert newcomer.get("/requests/new").status_code == 200
    r = admin.post(f"/admin/users/dept.{tag}/active", {"active": "0"})
    assert r.status_code == 302
    assert newcomer.get("/inbox").status_code == 302  # deactivated: signed out
    assert admin.post("/admin/users/admin/active", {"active": "0"}).status_code == 403

    with db.read() as s:
        basis = s.scalar(select(CatalogItem.legal_basis).where(CatalogItem.code == "A14"))
    r = admin.post(
        "/admin/catalog/A14",
        {"name": "城乡居民医疗保险参保动员", "category": "negative", "legal_basis": basis},
    )
    assert r.status_code == 302
    try:
        with db.read() as s:
            item = s.scalar(select(CatalogItem).where(CatalogItem.code == "A14"))
            assert item.category == "negative" and item.active is False
    finally:
        with db.write() as s:
            item = s.scalar(select(CatalogItem).where(CatalogItem.code == "A14"))
            item.category, item.active, item.legal_basis = "assisted", True, basis

    assert "瑞光街道" in text(admin.get("/admin/org-units"))
    r = admin.post("/admin/org-units", {"code": "bad code!", "name": "", "kind": "street"})
    assert r.status_code == 422

    page = text(admin.get("/admin/processes"))
    assert "handoff" in page
    r = admin.client.post(
        "/admin/processes",
        data={
            "csrf_token": admin.token("/admin/processes"),
            "file": (io.BytesIO(b"<nope/>"), "x.bpmn"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "部署失败" in text(r) and "BPMN" in text(r)
    with db.read() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
        assert {"user.created", "user.updated", "catalog.updated"} <= actions


# --- words ----------------------------------------------------------------------------------


def test_language_switch_is_remembered(app):
    browser = signed_in(app, "finance")
    assert "My inbox" in text(browser.get("/inbox?lang=en"))
    assert "My inbox" in text(browser.get("/finance"))
    assert "我的待办" in text(browser.get("/finance?lang=zh"))


def test_every_template_key_has_both_languages():
    used = set()
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\('([a-z_]+(?:\.[a-z_0-9]+)+)'", source))
    for path in (TEMPLATES.parent / "web").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt\(\s*"([a-z_]+(?:\.[a-z_0-9]+)+)"', source))
    missing = sorted(k for k in used if k not in i18n.STRINGS)
    assert not missing, missing
    assert all(len(pair) == 2 and all(pair) for pair in i18n.STRINGS.values())


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (500000, "人民币伍仟元整"),
        (1234567, "人民币壹万贰仟叁佰肆拾伍元陆角柒分"),
        (100000005, "人民币壹佰万元零伍分"),
        (0, "人民币零元整"),
        (1001000, "人民币壹万零壹拾元整"),
    ],
)
def test_rmb_words(fen, words):
    assert fmt.rmb_words(fen) == words
