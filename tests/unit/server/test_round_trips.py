"""What each hot-path request sends to the database, counted (not timed): a whole handoff
through the API, start, each task found in the actor's inbox and completed.

Counts are deterministic for the same code and data, so these bounds hold on any machine; a
change that adds a statement to the hot path has to raise them here, on purpose. The figures
and their cost in CPU are `bench/roundtrips.py`'s (docs/BENCHMARKS.md)."""

from __future__ import annotations

from sqlalchemy import select

from handoff.requests import today
from tests.bench_wire import Wire
from workflows.models import OrgUnit

from .test_auth import _token

# At most, per request. PostgreSQL: round trips on the wire, from libpq's own trace of each
# connection (a BEGIN, the writes written behind and a COMMIT ride with other statements).
# SQLite, which has no wire: statements, BEGIN and COMMIT.
BOUNDS = {
    "postgresql": {
        "start": 17,  # the request, its instance (with its first state), parties, tasks
        "inbox": 6,
        "street_review": 10,  # drafts the agreement: its parties, its template, its row
        "sign_committee": 8,
        "sign_department": 6,
        "sign_street": 8,
        "funding": 7,
        "work": 7,
        "acceptance": 6,
        "evaluation": 5,
    },
    "sqlite": {
        "start": 24,
        "inbox": 7,
        "street_review": 16,
        "sign_committee": 15,
        "sign_department": 11,
        "sign_street": 17,
        "funding": 14,
        "work": 13,
        "acceptance": 12,
        "evaluation": 11,
    },
}


class Count:
    def __init__(self, database) -> None:
        self.wire = Wire(database)
        self.last: list[str] = []

    def take(self) -> int:
        n = self.wire.take()["round_trips"]
        self.last = [" | ".join(" ".join(s.split())[:90] for s in t) for t in self.wire.last]
        return n


def test_a_whole_handoff_stays_within_its_round_trips(app):
    client = app.test_client()
    who = {
        "dept": "dept.mz",
        "street": "street.rg",
        "committee": "committee.rg01",
        "finance": "finance",
    }
    tokens = {k: {"Authorization": "Bearer " + _token(client, u)} for k, u in who.items()}
    day = today().isoformat()
    steps = [
        ("street_review", "street", {"decision": "approve"}),
        ("sign_committee", "committee", {"decision": "sign"}),
        ("sign_department", "dept", {"decision": "sign"}),
        ("sign_street", "street", {"decision": "sign"}),
        ("funding", "finance", {"amount": "5000.00", "voucher_no": "PZ-1", "transferred_on": day}),
        ("work", "committee", {"report": "已完成入户调查", "completed_on": day}),
        ("acceptance", "dept", {"decision": "accept"}),
        ("evaluation", "street", {"score": 95, "comment": "按时完成"}),
    ]
    body = {
        "title": "低保对象入户调查",
        "item_code": "A01",
        "community_codes": ["TB-RG-01"],
        "amount": "5000.00",
        "due_date": "2099-12-31",
    }
    # warm: the parsed spec, the compiled statements and the pool as a running service has them
    client.post("/api/v1/requests", json=body, headers=tokens["dept"])
    count = Count(app.extensions["db"])
    resp = client.post("/api/v1/requests", json=body, headers=tokens["dept"])
    assert resp.status_code == 201, resp.get_json()
    sent = {"start": count.take()}
    statements = {"start": count.last}
    rid = resp.get_json()["id"]
    for key, actor, data in steps:
        page = client.get(f"/api/v1/tasks?key={key}&request_id={rid}", headers=tokens[actor])
        sent[f"inbox {key}"] = count.take()
        (task,) = page.get_json()["items"]
        done = client.post(
            f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=tokens[actor]
        )
        assert done.status_code == 200, done.get_json()
        sent[key] = count.take()
        statements[key] = count.last
    assert done.get_json()["instance_state"] == "completed"
    bounds = BOUNDS[app.extensions["db"].engine.dialect.name]
    allowed = {k: bounds["inbox" if k.startswith("inbox") else k] for k in sent}
    over = {k: (sent[k], allowed[k]) for k in allowed if sent[k] > allowed[k]}
    detail = "\n".join(f"{k}:\n  " + "\n  ".join(statements.get(k, [])) for k in over)
    assert not over, f"more round trips than allowed (sent, allowed): {over}\n{detail}"


def test_a_fan_out_costs_the_same_round_trips_for_any_number_of_communities(app, db):
    """One request to many communities writes each table's rows together: 2 communities or
    all of them cost the same round trips (was about 7 per community)."""

    client = app.test_client()
    headers = {"Authorization": "Bearer " + _token(client, "dept.mz")}
    with db.read() as session:
        codes = sorted(
            session.scalars(select(OrgUnit.code).where(OrgUnit.kind == "community")).all()
        )
    assert len(codes) >= 12
    count = Count(app.extensions["db"])
    sent = {}
    for n in (2, 3, len(codes)):
        body = {
            "title": f"入户调查 {n}",
            "item_code": "A01",
            "community_codes": codes[:n],
            "amount": "5000.00",
            "due_date": "2099-12-31",
        }
        count.take()
        resp = client.post("/api/v1/requests", json=body, headers=headers)
        assert resp.status_code == 201, resp.get_json()
        assert len(resp.get_json()["instances"]) == n
        sent[n] = count.take()
    assert sent[2] == sent[3] == sent[len(codes)], sent
