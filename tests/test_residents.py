"""居民评议 and the combined score (issue 16.4) through Flask's test client on SQLite and
PostgreSQL: who opens a survey and when, the public page in both languages without signing in,
one rating per device and day, the address and new-device limits, the minimum time between
loading and submitting, closing by days and by number, the combined score with its weights
(renormalised over the parts present, residents left out when too few), and the weights' rules.

Time moves by the engine's clock (`workflows.clock.advance`), which the service, the signed
stamps and the days of the ratings all read; nothing is frozen, so the tests' requests run at
real speed between the steps.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from decimal import Decimal

import pytest
import segno
from sqlalchemy import func, select

from handoff import residents, scores
from handoff.resident_models import EvaluationWeights, ResidentRating, ResidentSurvey
from server import create_app
from workflows import clock, service
from workflows.errors import NotFound
from workflows.models import AuditEvent, User

from .test_admin_paths import Api, page_errors
from .test_handoff import do, start_at
from .test_web_languages import data_words
from .test_web_pages import signed_in, text
from .test_web_processes import assert_one_language

SECRET = "x" * 40
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
STAMP_RE = re.compile(r'name="stamp" value="([^"]+)"')
REPORT = "已完成入户调查 120 户"


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": SECRET, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def reported(db, actor, **request) -> int:
    """A TB-RG-01 handoff whose work committee.rg01 has reported: acceptance is open."""
    return start_at(db, actor, "acceptance", **request)


def opened(db, actor, instance_id: int, **options) -> str:
    """committee.rg01 opens the handoff's survey; its token."""
    residents.open_survey(db, actor("committee.rg01"), instance_id, **options)
    with db.read() as s:
        return residents.survey_of(s, instance_id).token


def ratings(db, token: str) -> list[ResidentRating]:
    with db.read() as s:
        survey = residents.by_token(s, token)
        return list(
            s.scalars(
                select(ResidentRating)
                .where(ResidentRating.survey_id == survey.id)
                .order_by(ResidentRating.id)
            )
        )


def rate_directly(db, token: str, given: list[int]) -> None:
    """Residents on their own devices and addresses rate through the service (a page each is
    what the other tests do)."""
    for score in given:
        client = residents.Client(
            device_id=secrets.token_urlsafe(16),
            device_issued_at=clock.now() - timedelta(days=30),
            address=f"10.9.{secrets.randbelow(250)}.{secrets.randbelow(250)}",
            loaded_at=clock.now() - timedelta(seconds=30),
        )
        residents.rate(db, token, score, "", client, SECRET)


class Phone:
    """A resident's phone: its own cookies (the device cookie, the session) and its address."""

    def __init__(self, app, address: str = "10.1.0.1"):
        self.client = app.test_client()
        self.address = address
        self.form: dict[str, str] | None = None

    def open(self, token: str, lang: str | None = None):
        query = f"?lang={lang}" if lang else ""
        page = self.client.get(f"/r/{token}{query}", environ_base={"REMOTE_ADDR": self.address})
        body = page.get_data(as_text=True)
        csrf, stamp = CSRF_RE.search(body), STAMP_RE.search(body)
        self.form = {"csrf_token": csrf.group(1)} if csrf else {}
        if stamp:
            self.form["stamp"] = stamp.group(1)
        return page

    def rate(self, token: str, score="4", comment="", wait=timedelta(seconds=5), **extra):
        if self.form is None:
            self.open(token)
        if wait:
            clock.advance(wait)
        data = {**self.form, "score": score, "comment": comment, **extra}
        self.form = None
        return self.client.post(
            f"/r/{token}", data=data, environ_base={"REMOTE_ADDR": self.address}
        )


def device_cookies(response) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith("rd=")]


def refusal(response) -> str:
    match = re.search(r"data-refused>(.*?)</p>", text(response), flags=re.S)
    return match.group(1).strip() if match else ""


# --- opening --------------------------------------------------------------------------------


def test_the_committee_opens_a_survey_once_the_work_is_reported(app, db, actor):
    instance_id = start_at(db, actor, "work")
    committee = Api(app, "committee.rg01")
    path = f"/instances/{instance_id}/resident-survey"
    early = committee.call("POST", path, {})
    assert early.status_code == 409 and "尚未报告" in early.get_json()["error"]["message"]
    do(db, actor, instance_id, "work")
    for username, status in (
        ("dept.mz", 403),
        ("street.rg", 403),
        ("finance", 403),
        ("admin", 403),  # admins see every handoff, but the survey is the committee's
        ("committee.rg02", 404),  # another community's committee: not even visible
        ("dept.rs", 404),
    ):
        r = Api(app, username).call("POST", path, {"days": 5})
        assert r.status_code == status, (username, r.get_json())
    with db.read() as s:
        assert residents.survey_of(s, instance_id) is None
    r = committee.call("POST", path, {"days": 5, "max_ratings": 30})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["state"], body["days"], body["max_ratings"], body["ratings"]) == ("open", 5, 30, 0)
    assert body["opened_by"] == "committee.rg01" and body["closed_by"] is None
    with db.read() as s:
        survey = residents.survey_of(s, instance_id)
        assert survey.closes_at - survey.opened_at == timedelta(days=5)
        assert len(survey.token) >= 32  # secrets.token_urlsafe(24)
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "residents.opened"))
    assert body["url"] == f"http://localhost/r/{survey.token}"
    assert body["qr_url"] == body["url"] + "/qr.svg"
    assert event.instance_id == instance_id and event.detail["days"] == 5
    assert event.actor_id == actor("committee.rg01").user_id
    again = committee.call("POST", path, {"days": 3})
    assert again.status_code == 409 and "已发起" in again.get_json()["error"]["message"]
    # the parties read it; others do not see it
    assert Api(app, "dept.mz").call("GET", path).get_json()["url"] == body["url"]
    assert Api(app, "street.rg").call("GET", path).status_code == 200
    assert Api(app, "committee.rg02").call("GET", path).status_code == 404


def test_a_survey_defaults_to_seven_days_without_a_maximum(app, db, actor):
    instance_id = reported(db, actor)
    r = Api(app, "committee.rg01").call("POST", f"/instances/{instance_id}/resident-survey")
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["days"], r.get_json()["max_ratings"]) == (7, None)


def test_no_survey_for_a_cancelled_handoff(db, actor):
    instance_id = start_at(db, actor, "street_review")
    service.cancel_instance(db, instance_id, actor("dept.mz"), "不办了")
    with pytest.raises(residents.OpeningRefused) as refused:
        residents.open_survey(db, actor("committee.rg01"), instance_id)
    assert refused.value.reason == "ended"
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ResidentSurvey)) == 0


def test_opening_is_refused_the_same_way_by_the_api_and_the_page(app, db, actor):
    instance_id = reported(db, actor)
    api, page = Api(app, "committee.rg01"), signed_in(app, "committee.rg01")
    path = f"/instances/{instance_id}/resident-survey"
    for body, field in (
        ({"days": 0}, "days"),
        ({"days": 31}, "days"),
        ({"days": "7"}, "days"),  # a string is not a number in JSON
        ({"max_ratings": 0}, "max_ratings"),
        ({"days": 7, "extra": 1}, "extra"),
    ):
        r = api.call("POST", path, body)
        assert r.status_code == 422 and field in r.get_json()["error"]["fields"], body
    for form, field, words in (
        ({"days": "0"}, "days", "请填写 1–30 的整数"),
        ({"days": "31"}, "days", "请填写 1–30 的整数"),
        ({"days": "七"}, "days", "请填写 1–30 的整数"),
        ({"days": "7", "max_ratings": "0"}, "max_ratings", "请填写 1–100000 的整数，或不填"),
        ({"days": "7", "max_ratings": "1e3"}, "max_ratings", "请填写 1–100000 的整数，或不填"),
    ):
        r = page.post(path, form)
        assert r.status_code == 422, text(r)[:500]
        assert page_errors(r) == {field: words}
    english = page.post(path + "?lang=en", {"days": "99"})
    assert page_errors(english) == {"days": "Enter a whole number from 1 to 30"}
    with db.read() as s:
        assert residents.survey_of(s, instance_id) is None
    assert page.get(path + "/new?lang=zh").status_code == 200
    done = page.post(path, {"days": "3", "max_ratings": ""})
    assert done.status_code == 302 and done.headers["Location"].endswith("#sec-residents")
    with db.read() as s:
        survey = residents.survey_of(s, instance_id)
        assert (survey.days, survey.max_ratings) == (3, None)
    # a second time: the page says it exists
    again = page.post(path, {"days": "3"})
    assert again.status_code == 302
    assert "本委托已发起居民评议" in text(page.get(again.headers["Location"]))


def test_only_the_committee_gets_the_opening_form(app, db, actor):
    instance_id = start_at(db, actor, "work")
    committee = signed_in(app, "committee.rg01")
    early = committee.get(f"/instances/{instance_id}/resident-survey/new")
    assert early.status_code == 302  # not yet: back to the handoff with the reason
    assert "社区尚未报告完成工作" in text(committee.get(early.headers["Location"]))
    do(db, actor, instance_id, "work")
    page = committee.get(f"/instances/{instance_id}")
    assert f'href="/instances/{instance_id}/resident-survey/new"' in page.get_data(as_text=True)
    assert committee.get(f"/instances/{instance_id}/resident-survey/new").status_code == 200
    dept = signed_in(app, "dept.mz")
    assert dept.get(f"/instances/{instance_id}/resident-survey/new").status_code == 403
    shown = dept.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "resident-survey/new" not in shown and "尚未发起居民评议" in text(
        dept.get(f"/instances/{instance_id}")
    )
    other = signed_in(app, "committee.rg02")  # a committee, not this community's
    assert other.get(f"/instances/{instance_id}/resident-survey/new").status_code == 404
    assert other.post(f"/instances/{instance_id}/resident-survey", {"days": "7"}).status_code == 404


# --- the public page ------------------------------------------------------------------------


def test_the_public_page_speaks_both_languages_without_signing_in(app, db, actor):
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id)
    phone = Phone(app)
    zh = phone.open(token)
    assert zh.status_code == 200
    page = text(zh)
    for words in (
        "居民评议",
        "低保对象入户调查",
        "瑞光社区",
        "区民政局",
        REPORT,
        "很满意",
        "提交评价",
    ):
        assert words in page, words
    assert len(re.findall(r'name="score" value="[1-5]"', page)) == 5
    with db.read() as s:  # no person is named: no officer, no account
        people = [u.display_name for u in s.scalars(select(User))]
    assert not [p for p in people if p in page]
    assert "committee.rg01" not in page and "dept.mz" not in page
    words = [*data_words(db), REPORT]
    assert_one_language(zh, "zh", words)
    (cookie,) = device_cookies(zh)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/r/" in cookie and "Max-Age=" in cookie
    assert zh.headers["Content-Security-Policy"].startswith("default-src 'self'")
    en = phone.open(token, lang="en")
    assert "Rate the work" in text(en) and "very satisfied" in text(en)
    assert_one_language(en, "en", words)
    assert device_cookies(en) == []  # the device keeps its id
    assert Phone(app).open("no-such-survey-token-xxxxxxxxxxxxxx").status_code == 404
    secure = app.test_client().get(f"/r/{token}", base_url="https://localhost")
    (cookie,) = device_cookies(secure)
    assert "Secure" in cookie  # over HTTPS the cookie never travels in the clear


def test_the_qr_code_is_the_pages_absolute_address(app, db, actor):
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id)
    r = app.test_client().get(f"/r/{token}/qr.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    svg = r.get_data(as_text=True)
    assert svg.startswith("<svg") and "<script" not in svg
    expected = segno.make(f"http://localhost/r/{token}", error="m")
    assert residents_qr_matrix(svg) == residents_matrix(expected)
    proxied = create_app(
        {
            "DATABASE_URL": db.url,
            "SECRET_KEY": SECRET,
            "TESTING": True,
            "PUBLIC_URL": "https://pingjia.example.cn",
        }
    )
    try:
        body = Api(proxied, "committee.rg01").call(
            "GET", f"/instances/{instance_id}/resident-survey"
        )
        assert body.get_json()["url"] == f"https://pingjia.example.cn/r/{token}"
        svg = proxied.test_client().get(f"/r/{token}/qr.svg").get_data(as_text=True)
        expected = segno.make(f"https://pingjia.example.cn/r/{token}", error="m")
        assert residents_qr_matrix(svg) == residents_matrix(expected)
    finally:
        proxied.extensions["db"].dispose()


def residents_matrix(code) -> list[tuple[int, ...]]:
    return [tuple(int(bool(v)) for v in row) for row in code.matrix]


def residents_qr_matrix(svg: str) -> list[tuple[int, ...]]:
    """The modules drawn by segno's SVG path (`M x y.5 h n` runs, relative moves after the
    first), read back as a matrix: what a phone's camera would decode."""
    path = re.search(r' d="([^"]+)"', svg).group(1)
    scale = int(re.search(r"scale\((\d+)\)", svg).group(1))
    assert scale > 1
    cells: set[tuple[int, int]] = set()
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s+(-?[\d.]+))?", path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for i in range(int(float(a))):
                cells.add((int(y), int(x) + i))
            x += float(a)
    border = min(c for _, c in cells)
    size = max(c for _, c in cells) - border + 1
    return [tuple(int((r + border, c + border) in cells) for c in range(size)) for r in range(size)]


# --- one rating per device and day ----------------------------------------------------------


def test_one_rating_per_device_and_day(app, db, actor):
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id)
    phone = Phone(app)
    phone.open(token)
    second_tab = dict(phone.form)  # the same page open in another tab
    done = phone.rate(token, "5", "  按时完成，很负责  ")
    assert done.status_code == 302, text(done)[:800]
    after = text(phone.client.get(done.headers["Location"]))
    assert "谢谢您的评价" in after and "您今天已经评价过了" in after
    assert 'name="score"' not in after  # nothing more to rate today
    phone.form = second_tab
    again = phone.rate(token, "1")
    assert again.status_code == 409
    assert refusal(again) == "您今天已经评价过了：每台设备每天只能评价一次"
    (first,) = ratings(db, token)
    assert (first.score, first.comment) == (5, "按时完成，很负责")  # trimmed, not overwritten
    # the device and the address are kept as keyed digests only
    cookie = phone.client.get_cookie("rd", path="/r/").value
    device_id = cookie.split(".")[0]
    with db.read() as s:
        survey_id = residents.by_token(s, token).id
    assert first.device_hash == residents.digest(SECRET, survey_id, "device", device_id)
    assert first.address_hash == residents.digest(SECRET, survey_id, "address", "10.1.0.1")
    assert device_id not in first.device_hash and "10.1.0.1" not in first.address_hash
    # a neighbour's phone on the same network rates too
    assert Phone(app).rate(token, "4").status_code == 302
    # and the next day (Asia/Shanghai) the first phone may rate again
    clock.advance(timedelta(days=1))
    assert phone.rate(token, "3").status_code == 302
    days = [(r.score, r.day) for r in ratings(db, token)]
    assert len(days) == 3 and days[0][1] != days[2][1]
    assert days[2][1] - days[0][1] == timedelta(days=1)


def test_a_submission_sooner_than_3_seconds_or_without_a_valid_stamp_is_refused(app, db, actor):
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id)
    phone = Phone(app)
    fast = phone.rate(token, "5", wait=None)
    assert fast.status_code == 422 and refusal(fast) == "提交太快了，请稍等几秒再提交"
    phone.open(token)
    assert phone.rate(token, "5", wait=timedelta(seconds=2)).status_code == 422
    assert ratings(db, token) == []
    phone.open(token)
    form = dict(phone.form)
    other = Phone(app)
    other.open(opened(db, actor, reported(db, actor, title="残疾人状况调查")))
    for stamp in ("", "123", form["stamp"] + "x", other.form["stamp"]):
        phone.form = {**form, "stamp": stamp}
        stale = phone.rate(token, "5")
        assert stale.status_code == 422 and refusal(stale) == "页面已过期，请重新打开本页面后再评价"
    phone.form = form
    clock.advance(timedelta(hours=13))  # a stamp older than 12 hours has expired
    assert refusal(phone.rate(token, "5")) == "页面已过期，请重新打开本页面后再评价"
    assert ratings(db, token) == []
    assert phone.rate(token, "5", wait=timedelta(seconds=3)).status_code == 302


def test_a_browser_that_keeps_no_cookie_is_asked_to_allow_them(app, db, actor):
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id)
    phone = Phone(app)
    phone.open(token)
    phone.client.delete_cookie("rd", path="/r/")
    refused = phone.rate(token, "5")
    assert refused.status_code == 422
    assert refusal(refused) == "请允许浏览器保存 Cookie，然后重新打开本页面"
    assert device_cookies(refused)  # a retry has one
    forged = Phone(app)
    forged.open(token)
    forged.client.set_cookie("rd", "someone-else.1700000000000.forged", path="/r/")
    assert refusal(forged.rate(token, "5")) == "请允许浏览器保存 Cookie，然后重新打开本页面"
    assert ratings(db, token) == []


# --- ballot stuffing from one address -------------------------------------------------------


def test_an_address_is_limited_per_survey_and_day(app, db, actor, monkeypatch):
    monkeypatch.setenv("RESIDENT_RATINGS_PER_ADDRESS", "3")
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id)
    for _ in range(3):
        assert Phone(app, "10.2.0.7").rate(token, "5").status_code == 302
    fourth = Phone(app, "10.2.0.7")
    refused = fourth.rate(token, "5")
    assert refused.status_code == 429
    assert refusal(refused) == "来自同一网络的评价今天已达上限，请明天再试"
    assert Phone(app, "10.2.0.8").rate(token, "5").status_code == 302  # another network
    assert len(ratings(db, token)) == 4
    clock.advance(timedelta(days=1))
    assert fourth.rate(token, "5").status_code == 302  # a new day


def test_a_burst_of_new_devices_from_one_address_is_refused(app, db, actor, monkeypatch):
    monkeypatch.setenv("RESIDENT_NEW_DEVICES_PER_ADDRESS", "2")
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id)
    old = Phone(app, "10.3.0.1")
    old.open(token)  # its cookie is issued now, and is old by the time it rates
    clock.advance(timedelta(minutes=11))
    for _ in range(2):
        assert Phone(app, "10.3.0.1").rate(token, "4").status_code == 302
    burst = Phone(app, "10.3.0.1")
    refused = burst.rate(token, "4")
    assert refused.status_code == 429
    assert refusal(refused) == "同一网络刚才有太多新设备评价，请过一会儿再试"
    assert old.rate(token, "4").status_code == 302  # a device seen before is no burst
    clock.advance(timedelta(minutes=11))
    assert burst.rate(token, "4").status_code == 302  # its cookie has aged meanwhile
    assert [r.fresh_device for r in ratings(db, token)] == [True, True, False, False]


def test_score_and_comment_are_checked_like_every_text(app, db, actor):
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id)
    phone = Phone(app)
    for score, comment, field, words in (
        ("", "", "score", "请选择 1–5 分"),
        ("6", "", "score", "请选择 1–5 分"),
        ("0", "", "score", "请选择 1–5 分"),
        ("x", "", "score", "请选择 1–5 分"),
        ("5", "好" * 501, "comment", "最多 500 个字符"),
        ("5", "好\x1b[31m", "comment", "不能包含控制字符"),
        ("5", "\u200b\u200b", "comment", "须包含可见的文字"),
    ):
        r = phone.rate(token, score, comment)
        assert r.status_code == 422, (score, comment[:10])
        assert page_errors(r) == {field: words}
    phone.open(token, lang="en")
    english = phone.rate(token, "5", "好" * 501)
    assert page_errors(english) == {"comment": "at most 500 characters"}
    nul = phone.rate(token, "5", "好\x00")
    assert nul.status_code == 400
    assert ratings(db, token) == []
    phone.open(token, lang="zh")
    assert phone.rate(token, "5", "好" * 500).status_code == 302
    assert ratings(db, token)[0].comment == "好" * 500


def test_a_public_form_needs_its_csrf_token(app, db, actor):
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id)
    phone = Phone(app)
    phone.open(token)
    phone.form.pop("csrf_token")
    assert phone.rate(token, "5").status_code == 400
    assert ratings(db, token) == []


# --- closing --------------------------------------------------------------------------------


def test_a_survey_closes_after_its_days(app, db, actor):
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id, days=1)
    phone = Phone(app)
    assert phone.rate(token, "4").status_code == 302
    late = Phone(app, "10.4.0.2")
    late.open(token)
    clock.advance(timedelta(days=1))
    page = text(phone.open(token))
    assert "本次居民评议已结束" in page and 'name="score"' not in page
    refused = late.rate(token, "5")
    assert refused.status_code == 409 and "本次居民评议已结束" in text(refused)
    survey = Api(app, "committee.rg01").call("GET", f"/instances/{instance_id}/resident-survey")
    assert (survey.get_json()["state"], survey.get_json()["closed_by"]) == ("closed", "days")
    assert survey.get_json()["closed_at"] is None  # closed on read; not recorded yet
    worker = app.test_cli_runner().invoke(args=["timer-worker", "--once"])  # its sweep
    assert worker.exit_code == 0, worker.output
    assert residents.record_closings(db) == 0  # recorded once
    with db.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "residents.closed"))
        (event,) = events.all()
        assert event.instance_id == instance_id
        assert event.detail == {"closed_by": "days", "ratings": 1}
        assert residents.survey_of(s, instance_id).closed_at is not None
    assert len(ratings(db, token)) == 1


def test_a_survey_closes_after_its_number_of_ratings(app, db, actor):
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id, days=7, max_ratings=2)
    assert Phone(app, "10.5.0.1").rate(token, "5").status_code == 302
    third = Phone(app, "10.5.0.3")
    third.open(token)  # loaded while the survey was open
    last = Phone(app, "10.5.0.2")
    assert last.rate(token, "3").status_code == 302
    with db.read() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "residents.closed"))
        assert event.detail == {"closed_by": "count", "ratings": 2}
    form = third.form
    assert "本次居民评议已结束" in text(third.open(token))
    third.form = form
    refused = third.rate(token, "4")
    assert refused.status_code == 409 and "本次居民评议已结束" in text(refused)
    assert len(ratings(db, token)) == 2
    body = Api(app, "dept.mz").call("GET", f"/instances/{instance_id}/resident-survey").get_json()
    assert (body["state"], body["closed_by"], body["ratings"], body["mean"]) == (
        "closed",
        "count",
        2,
        "4.0",
    )
    assert body["by_score"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
    assert residents.record_closings(db, clock.now() + timedelta(days=30)) == 0


def test_a_rating_posted_to_a_closed_survey_does_not_count(db, actor):
    instance_id = reported(db, actor)
    token = opened(db, actor, instance_id, max_ratings=1)
    rate_directly(db, token, [5])
    with pytest.raises(residents.RatingRefused) as refused:
        rate_directly(db, token, [4])
    assert refused.value.reason == "closed"
    assert len(ratings(db, token)) == 1


# --- the combined score ---------------------------------------------------------------------


def evaluate(db, actor, instance_id: int, score: int, acceptance=None) -> None:
    do(db, actor, instance_id, "acceptance", acceptance)
    do(db, actor, instance_id, "evaluation", {"score": score, "comment": "好"})


def combined(db, instance_id: int) -> scores.Score:
    with db.read() as s:
        return scores.combined(s, instance_id)


def parts(score: scores.Score) -> dict[str, tuple]:
    return {p.key: (p.status, p.score, p.share) for p in score.parts}


def test_the_combined_score_weighs_the_parts_present(app, db, actor):
    instance_id = reported(db, actor)
    nothing = combined(db, instance_id)
    assert nothing.value is None and nothing.missing == ["street", "department", "residents"]
    evaluate(db, actor, instance_id, 90)
    street_only = combined(db, instance_id)
    assert street_only.value == Decimal("90.0") and street_only.renormalised
    assert parts(street_only) == {
        "street": ("counted", Decimal("90.0"), Decimal("100.0")),
        "department": ("missing", None, None),
        "residents": ("no_survey", None, None),
    }
    token = opened(db, actor, instance_id)
    rate_directly(db, token, [5, 5, 4, 4, 4, 4, 4, 4, 4])  # nine: too few
    few = combined(db, instance_id)
    assert few.value == Decimal("90.0") and few.residents_count == 9
    assert parts(few)["residents"] == ("too_few", None, None)
    assert "居民评议不足 10 人，未计入 fewer than 10 residents rated: left out" in few.notes()
    api = Api(app, "street.rg").call("GET", f"/instances/{instance_id}/score").get_json()
    assert api["score"] == "90.0" and api["residents"]["counted"] is False
    assert api["residents"]["count"] == 9 and api["missing"] == ["department", "residents"]
    page = signed_in(app, "dept.mz").get(f"/instances/{instance_id}")
    assert "居民评议不足 10 人，未计入" in text(page)
    english = signed_in(app, "dept.mz").get(f"/instances/{instance_id}?lang=en")
    assert "Fewer than 10 residents rated: left out" in text(english)
    rate_directly(db, token, [4])  # the tenth: mean 4.2, ×20 = 84
    ten = combined(db, instance_id)
    # (30 × 90 + 60 × 84) / 90, the department's 10 left out
    assert ten.value == Decimal("86.0") and ten.residents_mean == Decimal("4.2")
    assert parts(ten) == {
        "street": ("counted", Decimal("90.0"), Decimal("33.3")),
        "department": ("missing", None, None),
        "residents": ("counted", Decimal("84.0"), Decimal("66.7")),
    }
    assert ten.provisional and ten.missing == ["department"]
    body = Api(app, "dept.mz").call("GET", f"/instances/{instance_id}/score").get_json()
    assert (body["score"], body["provisional"], body["renormalised"]) == ("86.0", True, True)
    assert [p["share"] for p in body["parts"]] == ["33.3", None, "66.7"]
    assert body["notes"][0].startswith("部门验收未评分")
    shown = signed_in(app, "dept.mz").get(f"/requests/{request_of(db, instance_id)}")
    assert 'data-combined-score="86.0"' in shown.get_data(as_text=True)


def test_fewer_residents_may_be_enough_when_configured(db, actor, monkeypatch):
    monkeypatch.setenv("RESIDENT_MIN_RATINGS", "3")
    instance_id = reported(db, actor)
    evaluate(db, actor, instance_id, 70)
    token = opened(db, actor, instance_id)
    rate_directly(db, token, [5, 4, 4])  # mean 13/3, ×20 = 86.666…
    score = combined(db, instance_id)
    assert parts(score)["residents"][:2] == ("counted", Decimal("86.7"))
    # (30 × 70 + 60 × 86.666…) / 90 = 81.111… (rounded once, at the end)
    assert score.value == Decimal("81.1") and score.residents_minimum == 3


def test_the_weights_of_the_items_category_apply(app, db, actor):
    with db.write() as s:
        scores.set_weights(
            s, "assisted", {"street": 50, "department": 0, "residents": 50}, actor_id=None
        )
    instance_id = reported(db, actor)
    evaluate(db, actor, instance_id, 90)
    token = opened(db, actor, instance_id)
    rate_directly(db, token, [5, 5, 5, 5, 5, 4, 4, 4, 4, 4])  # 4.5 → 90
    score = combined(db, instance_id)
    assert (score.category, score.weights.default) == ("assisted", False)
    assert score.value == Decimal("90.0")
    assert parts(score)["street"][2] == Decimal("50.0")
    # a part with no weight counts for nothing, and leaves nothing to renormalise
    assert parts(score)["department"] == ("missing", None, None)
    unlisted = reported(db, actor, item=None, title="清单外事项")  # the defaults
    assert combined(db, unlisted).weights == scores.Weights("unlisted", 30, 10, 60, True)
    with db.write() as s:
        scores.set_weights(
            s, "assisted", {"street": 0, "department": 0, "residents": 100}, actor_id=None
        )
    other = reported(db, actor, title="只有街道评分")
    evaluate(db, actor, other, 80)
    alone = combined(db, other)
    assert alone.value is None and alone.missing == ["department", "residents"]


def test_the_departments_score_at_acceptance_joins_the_others(db, actor):
    # the department scores at acceptance (bpmn/handoff.bpmn: acceptance's optional `score`)
    instance_id = reported(db, actor)
    evaluate(db, actor, instance_id, 90, {"decision": "accept", "score": 80})
    token = opened(db, actor, instance_id)
    rate_directly(db, token, [5, 5, 4, 4, 4, 4, 4, 4, 4, 4])  # 4.2 → 84
    score = combined(db, instance_id)
    # 30 % × 90 + 10 % × 80 + 60 % × 84
    assert score.value == Decimal("85.4") and not score.renormalised and score.missing == []
    assert parts(score)["department"] == ("counted", Decimal("80.0"), Decimal("10.0"))


def request_of(db, instance_id: int) -> int:
    from handoff.models import HandoffInstance

    with db.read() as s:
        return s.get(HandoffInstance, instance_id).request_id


# --- the weights ----------------------------------------------------------------------------


def weights_rows(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(EvaluationWeights))


def test_weights_must_add_up_to_100_through_the_api(app, db):
    admin = Api(app, "admin")
    for body, fields in (
        ({"street": 30, "department": 10, "residents": 50}, {"street", "department", "residents"}),
        ({"street": 101, "department": 0, "residents": 0}, {"street"}),
        ({"street": -1, "department": 1, "residents": 100}, {"street"}),
        ({"street": "30", "department": 10, "residents": 60}, {"street"}),
        ({"street": 30, "department": 10}, {"residents"}),
        ({"street": 30, "department": 10, "residents": 60, "mayor": 0}, {"mayor"}),
        ({"street": True, "department": 10, "residents": 60}, {"street"}),
    ):
        r = admin.call("PUT", "/evaluation-weights/assisted", body)
        assert r.status_code == 422, (body, r.get_json())
        assert set(r.get_json()["error"]["fields"]) == fields, (body, r.get_json())
    sum_message = admin.call(
        "PUT", "/evaluation-weights/assisted", {"street": 30, "department": 10, "residents": 50}
    ).get_json()["error"]["fields"]["residents"]
    assert sum_message == "三项权重之和须为 100，现为 90 the weights must add up to 100, not 90"
    assert (
        admin.call(
            "PUT", "/evaluation-weights/negative", {"street": 100, "department": 0, "residents": 0}
        ).status_code
        == 404
    )
    denied = Api(app, "dept.mz").call(
        "PUT", "/evaluation-weights/assisted", {"street": 100, "department": 0, "residents": 0}
    )
    assert denied.status_code == 403
    assert weights_rows(db) == 0
    ok = admin.call(
        "PUT", "/evaluation-weights/assisted", {"street": 40, "department": 20, "residents": 40}
    )
    assert ok.status_code == 200 and ok.get_json() == {
        "category": "assisted",
        "street": 40,
        "department": 20,
        "residents": 40,
        "default": False,
    }
    listed = Api(app, "committee.rg01").call("GET", "/evaluation-weights").get_json()
    assert listed["total"] == 4
    assert [i["category"] for i in listed["items"]] == list(scores.CATEGORIES)
    assert [i["default"] for i in listed["items"]] == [False, True, True, True]
    with db.read() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "evaluation.weights_set"))
        assert event.detail == {
            "category": "assisted",
            "street": 40,
            "department": 20,
            "residents": 40,
        }


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_weights_are_refused_next_to_the_fields_on_the_admin_page(app, db, lang):
    browser = signed_in(app, "admin")
    assert browser.get(f"/admin/evaluation-weights?lang={lang}").status_code == 200
    path = "/admin/evaluation-weights/self_governance"
    r = browser.post(path, {"street": "30", "department": "10", "residents": "50"})
    assert r.status_code == 422
    words = {"zh": "三项之和须为 100", "en": "The three must add up to 100"}[lang]
    assert page_errors(r) == {"street": words, "department": words, "residents": words}
    r = browser.post(path, {"street": "三十", "department": "10", "residents": "60"})
    words = {"zh": "请填写 0–100 的整数", "en": "Enter a whole number from 0 to 100"}[lang]
    assert page_errors(r) == {"street": words}
    assert browser.post("/admin/evaluation-weights/negative", {}).status_code == 404
    assert weights_rows(db) == 0
    saved = browser.post(path, {"street": "20", "department": "20", "residents": "60"})
    assert saved.status_code == 302
    with db.read() as s:
        assert scores.weights_for(s, "self_governance") == scores.Weights(
            "self_governance", 20, 20, 60, False
        )
    assert signed_in(app, "dept.mz").get("/admin/evaluation-weights").status_code == 403


def test_the_service_refuses_what_the_schema_would(db):
    with db.write() as s:
        with pytest.raises(residents.InputInvalid) as bad:
            scores.set_weights(
                s, "assisted", {"street": 30.5, "department": 9.5, "residents": 60}, actor_id=None
            )
        assert set(bad.value.fields) == {"street", "department"}
        with pytest.raises(NotFound):
            scores.set_weights(s, "nope", {}, actor_id=None)
    for days, most in ((0, None), (31, None), (True, None), (7, 0), (7, 100_001), (7, 2.5)):
        with pytest.raises(residents.InputInvalid):
            residents.clean_opening(days, most)
    assert residents.clean_opening(None, "") == (7, None)
    assert residents.clean_opening("30", " 5 ") == (30, 5)


# --- the committee's panel ------------------------------------------------------------------


def test_the_committee_sees_the_link_the_qr_code_and_the_count(app, db, actor):
    instance_id = reported(db, actor)
    committee = signed_in(app, "committee.rg01")
    token = opened(db, actor, instance_id)
    page = committee.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f">http://localhost/r/{token}</code>" in page
    assert f'src="/r/{token}/qr.svg"' in page
    count_url = f"/instances/{instance_id}/resident-survey/count"
    assert f'data-live-count="{count_url}" data-count="0"' in page
    assert committee.get(count_url).get_json() == {"ratings": 0, "open": True}
    Phone(app).rate(token, "5", "谢谢社区")
    assert committee.get(count_url).get_json() == {"ratings": 1, "open": True}
    page = text(committee.get(f"/instances/{instance_id}"))
    assert 'data-count="1"' in committee.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "谢谢社区" in page  # the comments, for the committee
    assert signed_in(app, "committee.rg02").get(count_url).status_code == 404
    request_page = committee.get(f"/requests/{request_of(db, instance_id)}")
    assert f'src="/r/{token}/qr.svg"' in request_page.get_data(as_text=True)
