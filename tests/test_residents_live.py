"""居民评议 over real HTTP: gunicorn with two worker processes on SQLite and on PostgreSQL
(`tests/live.py`), residents' phones as real threads posting at the same instant.

- One device that submits its form twice at once (a double tap, two tabs) gets one rating: the
  other submission is refused as already rated, never a second row and never a 500.
- Many devices rating at once a survey that closes after N ratings: exactly N count.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
import requests

from .live import Client
from .test_api_handoff import new_request, only, today

pytestmark = pytest.mark.slow

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
STAMP_RE = re.compile(r'name="stamp" value="([^"]+)"')
WAIT = 3.2  # the form's minimum time between loading and submitting is 3 seconds


def reported_handoff(base: str) -> tuple[int, Client]:
    """A TB-RG-01 handoff through the work, as its five parties do it; (instance, committee)."""
    dept, rg = Client(base, "dept.mz"), Client(base, "street.rg")
    committee, finance = Client(base, "committee.rg01"), Client(base, "finance")
    made = new_request(dept, ["TB-RG-01"], amount="600.00")
    review = only(rg.inbox(), "street_review", made["id"])
    assert rg.complete(review["id"], {"decision": "approve"}).status_code == 200
    for client, key in (
        (committee, "sign_committee"),  # the committee signs first
        (dept, "sign_department"),
        (rg, "sign_street"),
    ):
        task = only(client.inbox(), key, made["id"])
        assert client.complete(task["id"], {"decision": "sign"}).status_code == 200
    funding = only(finance.inbox(), "funding", made["id"])
    money = {"amount": "600.00", "voucher_no": "PZ-LIVE-1", "transferred_on": today()}
    assert finance.complete(funding["id"], money).status_code == 200
    work = only(committee.inbox(), "work", made["id"])
    report = {"report": "已入户走访 60 户", "completed_on": today()}
    assert committee.complete(work["id"], report).status_code == 200
    return made["instances"][0]["id"], committee


def open_survey(committee: Client, instance_id: int, **options) -> str:
    r = committee.post(f"/instances/{instance_id}/resident-survey", options)
    assert r.status_code == 201, r.text
    return r.json()["url"]


class Device:
    """A phone that has loaded the survey page: its cookies and its form."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()
        page = self.http.get(url, timeout=30)
        assert page.status_code == 200, page.text[:300]
        self.form = {
            "csrf_token": CSRF_RE.search(page.text).group(1),
            "stamp": STAMP_RE.search(page.text).group(1),
        }

    def twin(self) -> requests.Session:
        """Another connection with this phone's cookies (a second tab, a double tap)."""
        other = requests.Session()
        other.cookies.update(self.http.cookies)
        return other


def post_together(posts: list[tuple[requests.Session, str, dict]]) -> list[int]:
    """Send each post from its own thread, released at the same instant; their statuses."""
    barrier = threading.Barrier(len(posts))
    statuses: list[int] = [0] * len(posts)

    def send(i: int, session: requests.Session, url: str, data: dict) -> None:
        barrier.wait()
        statuses[i] = session.post(url, data=data, allow_redirects=False, timeout=60).status_code

    threads = [threading.Thread(target=send, args=(i, *post)) for i, post in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return statuses


def test_one_device_submitting_twice_at_once_rates_once(live):
    instance_id, committee = reported_handoff(live.base)
    url = open_survey(committee, instance_id, days=7)
    devices = [Device(url) for _ in range(4)]
    time.sleep(WAIT)
    for n, device in enumerate(devices, start=1):
        data = {**device.form, "score": str(n), "comment": f"第 {n} 户"}
        statuses = post_together([(device.http, url, data), (device.twin(), url, data)])
        # one counted (302 to the thanks), the other refused as already rated today (409)
        assert sorted(statuses) == [302, 409], (n, statuses)
    survey = committee.get(f"/instances/{instance_id}/resident-survey").json()
    assert survey["ratings"] == 4
    assert survey["by_score"] == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 0}
    assert sorted(c["comment"] for c in survey["comments"]) == [f"第 {n} 户" for n in range(1, 5)]


def test_many_devices_at_once_never_pass_the_maximum(live):
    instance_id, committee = reported_handoff(live.base)
    url = open_survey(committee, instance_id, days=7, max_ratings=3)
    devices = [Device(url) for _ in range(5)]
    time.sleep(WAIT)
    statuses = post_together(
        [(d.http, url, {**d.form, "score": "5", "comment": ""}) for d in devices]
    )
    assert sorted(statuses) == [302, 302, 302, 409, 409], statuses  # two find it closed
    survey = committee.get(f"/instances/{instance_id}/resident-survey").json()
    assert (survey["ratings"], survey["state"], survey["closed_by"]) == (3, "closed", "count")
    history = committee.get(f"/instances/{instance_id}").json()["history"]
    closed = [e for e in history if e["action"] == "residents.closed"]
    assert [e["detail"] for e in closed] == [{"closed_by": "count", "ratings": 3}]
