"""Reliability over real HTTP (gunicorn with several workers), on SQLite and PostgreSQL:
simultaneous completions, parallel signatures, idempotent retries."""

from __future__ import annotations

import threading
import uuid

import pytest

from .conftest import BACKENDS, _fresh_postgres_database, _postgres_url
from .live import Client, LiveServer, prepare_database
from .test_api_handoff import new_request, only

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=BACKENDS)
def busy(request, database_url_factory, tmp_path_factory):
    """A 4-worker gunicorn on its own database."""
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('busy')}/busy.sqlite3"
    else:
        database_url_factory("postgresql")
        url = _fresh_postgres_database(_postgres_url())
    prepare_database(url)
    server = LiveServer(url, workers=4).start()
    yield server
    server.stop()


def run_together(n: int, fn) -> list:
    results: list = [None] * n
    barrier = threading.Barrier(n)

    def go(i):
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_fifty_simultaneous_completions_one_wins(busy):
    dept = Client(busy.base, "dept.mz")
    body = new_request(dept, ["TB-HM-01"])
    clients = [Client(busy.base, "street.hm") for _ in range(50)]
    task = only(clients[0].inbox(), "street_review", body["id"])
    statuses = run_together(
        50, lambda i: clients[i].complete(task["id"], {"decision": "approve"}).status_code
    )
    assert sorted(statuses) == [200] + [409] * 49
    instance = dept.get(f"/instances/{task['instance_id']}").json()
    assert sorted(t["key"] for t in instance["open_tasks"]) == ["sign_committee"]
    assert [e["action"] for e in instance["history"]].count("task.completed") == 1


def test_parallel_signatures_all_succeed(busy):
    dept, hm = Client(busy.base, "dept.mz"), Client(busy.base, "street.hm")
    committee = Client(busy.base, "committee.hm02")
    body = new_request(dept, ["TB-HM-02"])
    review = only(hm.inbox(), "street_review", body["id"])
    assert hm.complete(review["id"], {"decision": "approve"}).status_code == 200
    first = only(committee.inbox(), "sign_committee", body["id"])  # the committee signs first
    assert committee.complete(first["id"], {"decision": "sign"}).status_code == 200
    signers = [(dept, "sign_department"), (hm, "sign_street")]
    tasks = [only(c.inbox(), key, body["id"]) for c, key in signers]
    statuses = run_together(
        2, lambda i: signers[i][0].complete(tasks[i]["id"], {"decision": "sign"}).status_code
    )
    assert statuses == [200, 200]
    instance = dept.get(f"/instances/{review['instance_id']}").json()
    assert [t["key"] for t in instance["open_tasks"]] == ["funding"]
    assert instance["agreement"]["status"] == "signed"
    assert len(instance["agreement"]["signatures"]) == 3
    assert instance["ledger"]["agreed"] == "5000.00"


def test_idempotent_retry_returns_first_answer(busy):
    dept = Client(busy.base, "dept.mz")
    key = str(uuid.uuid4())
    payload = {
        "title": "幂等测试",
        "item_code": "A01",
        "community_codes": ["TB-HM-03"],
        "amount": "100.00",
        "due_date": "2099-12-31",
    }
    first = dept.post("/requests", payload, headers={"Idempotency-Key": key})
    again = dept.post("/requests", payload, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    mine = dept.get("/requests", params={"q": "幂等测试", "per_page": 100}).json()
    assert mine["total"] == 1
    other = dept.post(
        "/requests", {**payload, "amount": "200.00"}, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_simultaneous_duplicates_change_nothing_twice(busy):
    dept, hm = Client(busy.base, "dept.mz"), Client(busy.base, "street.hm")
    body = new_request(dept, ["TB-HM-04"])
    task = only(hm.inbox(), "street_review", body["id"])
    key = str(uuid.uuid4())
    clients = [Client(busy.base, "street.hm") for _ in range(8)]
    answers = run_together(
        8,
        lambda i: clients[i].post(
            f"/tasks/{task['id']}/complete",
            {"data": {"decision": "approve"}},
            headers={"Idempotency-Key": key},
        ),
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    instance = dept.get(f"/instances/{task['instance_id']}").json()
    assert [e["action"] for e in instance["history"]].count("task.completed") == 1


def test_bad_idempotency_key_is_refused(busy):
    dept = Client(busy.base, "dept.mz")
    r = dept.post("/requests", {}, headers={"Idempotency-Key": "x" * 300})
    assert r.status_code == 400
