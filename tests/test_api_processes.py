"""A process none of the project's code knows, drawn as in Camunda Modeler, deployed and run over
HTTP on SQLite and PostgreSQL: start forms, candidate starters, candidate groups without lanes,
`${starter}` assignees, messages, literal ISO timers, versions, deploy-time validation and roles
added by an admin.

The live servers live for the whole session and other modules use them too, so every test names
its own data (a correlation value of its own, a starter no other test uses) and asserts about
what it made, not about totals the rest of the session may change.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from workflows import definitions

from .conftest import SEEDED_ROLES
from .live import BIN, ROOT, Client

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "foreign" / "leave_request.bpmn"
XML = FIXTURE.read_bytes()
KEY = "leave_request"
MESSAGE = "leave_documents"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}
CAMUNDA = "{" + NS["camunda"] + "}"
XML_HEADERS = {"Content-Type": "application/xml"}

# the first deployment of the fixture on each live server: (status, body), whichever test did it
_first_deploy: dict[str, tuple[int, dict]] = {}


def deploy(admin: Client, xml: bytes):
    return admin.post("/process-definitions", data=xml, headers=XML_HEADERS)


@pytest.fixture
def admin(live) -> Client:
    return Client(live.base, "admin")


@pytest.fixture
def leave(live, admin) -> dict:
    """The fixture's definition on this server (deployed once per server)."""
    if live.base not in _first_deploy:
        r = deploy(admin, XML)
        _first_deploy[live.base] = (r.status_code, r.json())
    status, body = _first_deploy[live.base]
    assert status == 201, body
    return body


def renamed(xml: bytes, key: str, name: str | None = None) -> bytes:
    """The fixture as another process key (and name): for tests that change versions."""
    root = etree.fromstring(xml)
    process = root.find("bpmn:process", NS)
    process.set("id", key)
    if name is not None:
        process.set("name", name)
    root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS).set("bpmnElement", key)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def tag() -> str:
    return uuid.uuid4().hex[:10]


def leave_data(reason: str, days: int = 3, kind: str = "sick") -> dict:
    return {"days": days, "reason": reason, "kind": kind}


def start(client: Client, data: dict, key: str = KEY):
    return client.post(f"/process-definitions/{key}/start", {"data": data})


def started(client: Client, reason: str, key: str = KEY, **kw) -> dict:
    r = start(client, leave_data(reason, **kw), key)
    assert r.status_code == 201, r.text
    return r.json()


def send(client: Client, reason: str, data: dict | None = None, name: str = MESSAGE):
    body = {"name": name, "correlation": {"reason": reason}, "data": data or {}}
    return client.post("/messages", body)


def tasks_of(client: Client, instance_id: int) -> list[dict]:
    return [t for t in client.inbox() if t["instance_id"] == instance_id]


def approval_of(client: Client, instance_id: int) -> dict:
    mine = [t for t in client.inbox(key="street_approval") if t["instance_id"] == instance_id]
    assert len(mine) == 1, mine
    return mine[0]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- deployment --------------------------------------------------------------------------------


def test_admin_deploys_a_foreign_bpmn_and_reads_it_back(live, admin, leave):
    assert (leave["key"], leave["version"], leave["created"]) == (KEY, 1, True)
    assert leave["name"] == "社区工作人员请假" and leave["suspended"] is False
    again = deploy(admin, XML)
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["created"]) == (leave["id"], False)
    assert deploy(Client(live.base, "street.rg"), XML).status_code == 403

    committee = Client(live.base, "committee.rg01")
    detail = committee.get(f"/process-definitions/{leave['id']}")
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["starter_roles"] == ["committee"] and body["may_start"] is True
    assert body["in_force"] is True
    assert body["documentation"].startswith("居委会工作人员请假")
    fields = {f["name"]: f for f in body["start_form"]}
    assert list(fields) == ["days", "reason", "kind"]
    assert (fields["days"]["type"], fields["days"]["min"], fields["days"]["max"]) == ("long", 1, 30)
    assert all(f["required"] for f in fields.values())
    assert [o["value"] for o in fields["kind"]["options"]] == ["annual", "sick", "personal"]
    assert {(t["key"], t["role"]) for t in body["user_tasks"]} == {
        ("street_approval", "street_office"),
        ("acknowledge", None),  # no role: its assignee (the starter) routes it
    }
    # admins start nothing on others' behalf; a department officer is not a starter either
    assert admin.get(f"/process-definitions/{leave['id']}").json()["may_start"] is False
    listed = committee.get("/process-definitions", params={"per_page": 200}).json()["items"]
    assert any(d["id"] == leave["id"] and d["in_force"] for d in listed)

    xml = committee.get(f"/process-definitions/{leave['id']}/xml")
    assert xml.status_code == 200 and xml.headers["Content-Type"].startswith("application/xml")
    assert xml.content == XML
    svg = committee.get(f"/process-definitions/{leave['id']}/diagram.svg")
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<svg") and "<script" not in svg.text
    assert "街道审批" in svg.text and "本人确认" in svg.text
    assert committee.get("/process-definitions/999999/xml").status_code == 404


# --- starting ----------------------------------------------------------------------------------


def mine(client: Client, **params) -> dict:
    r = client.get("/instances", params={"process": KEY, "started_by_me": "true", **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_committee_member_starts_it_for_their_own_community(live, leave):
    committee = Client(live.base, "committee.rg01")
    reason = f"体检 {tag()}"
    body = started(committee, reason)
    assert body["id"] > 0 and (body["process"], body["version"]) == (KEY, 1)
    assert (body["state"], body["outcome"]) == ("running", None)
    assert body["open_tasks"] == []  # it waits for the documents first
    assert body["data"]["reason"] == reason and body["data"]["days"] == 3
    # the starter's community comes from their membership; its street from the community
    assert (body["data"]["community"], body["data"]["street"]) == ("TB-RG-01", "TB-RG")
    assert body["title"] == "社区工作人员请假"
    assert [e["action"] for e in body["history"]][0] == "instance.started"

    key = f"QJ-{tag()}"
    r = committee.post(
        f"/process-definitions/{KEY}/start", {"data": leave_data(reason), "business_key": key}
    )
    assert r.status_code == 201 and r.json()["business_key"] == key, r.text
    found = committee.get("/instances", params={"business_key": key}).json()
    assert [i["id"] for i in found["items"]] == [r.json()["id"]]


def test_a_bad_start_form_is_422_and_starts_nothing(live, leave):
    committee = Client(live.base, "committee.rg02")
    before = mine(committee)["total"]
    bad = start(committee, {"days": 0, "kind": "vacation"})
    assert bad.status_code == 422, bad.text
    error = bad.json()["error"]
    assert error["code"] == "invalid"
    assert {"days", "reason", "kind"} <= set(error["fields"])
    for data in (
        leave_data("x", days=31),
        {"days": "three", "reason": "x", "kind": "sick"},
        {**leave_data("x"), "community": 5},
    ):
        r = start(committee, data)
        assert r.status_code == 422, (data, r.text)
    unknown = start(committee, {**leave_data("x"), "community": "NOPE"})
    assert unknown.status_code == 422 and "community" in unknown.json()["error"]["fields"]
    not_json = committee.post(f"/process-definitions/{KEY}/start", {"data": [1, 2]})
    assert not_json.status_code == 422
    extra = start(committee, {**leave_data("x"), "approved": True})
    assert extra.status_code == 422 and "approved" in extra.json()["error"]["fields"]
    assert committee.post(f"/process-definitions/{KEY}/start", {"dta": {}}).status_code == 422
    assert mine(committee)["total"] == before


def test_who_may_start_it(live, leave, admin):
    for username in ("dept.mz", "street.rg", "finance"):
        r = start(Client(live.base, username), leave_data("x"))
        assert r.status_code == 403, (username, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    assert start(admin, leave_data("x")).status_code == 403
    # a committee member starts for their own community, not in another one's name
    committee = Client(live.base, "committee.rg05")
    before = mine(committee)["total"]
    other = start(committee, {**leave_data(f"冒名 {tag()}"), "community": "TB-HM-01"})
    assert other.status_code == 422, other.text
    assert "community" in other.json()["error"]["fields"]
    own = start(committee, {**leave_data(f"本社区 {tag()}"), "community": "TB-RG-05"})
    assert own.status_code == 201, own.text
    assert mine(committee)["total"] == before + 1
    assert start(Client(live.base, "committee.rg01"), leave_data("x"), "no_such").status_code == 404


def test_a_suspended_version_starts_nothing(live, leave, admin):
    committee = Client(live.base, "committee.rg05")
    assert committee.post(f"/process-definitions/{leave['id']}/suspend").status_code == 403
    try:
        r = admin.post(f"/process-definitions/{leave['id']}/suspend")
        assert r.status_code == 200 and r.json()["suspended"] is True, r.text
        refused = start(committee, leave_data(f"s {tag()}"))
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "conflict"
    finally:
        r = admin.post(f"/process-definitions/{leave['id']}/activate")
        assert r.status_code == 200 and r.json()["suspended"] is False, r.text
    assert start(committee, leave_data(f"s {tag()}")).status_code == 201
    assert admin.post("/process-definitions/999999/suspend").status_code == 404


# --- messages and routing ----------------------------------------------------------------------


def test_the_message_releases_the_approval_to_the_street_of_the_community(live, leave):
    committee, rg = Client(live.base, "committee.rg01"), Client(live.base, "street.rg")
    reason = f"婚假 {tag()}"
    body = started(committee, reason, kind="personal")
    assert tasks_of(rg, body["id"]) == []

    # roles the process does not name may not send it messages
    for username in ("dept.mz", "finance"):
        r = send(Client(live.base, username), reason, {"documents": "x"})
        assert r.status_code == 403, (username, r.text)
    # a role the process names, but an instance its member may not read: not there for them
    stranger = send(Client(live.base, "committee.rg02"), reason, {"documents": "x"})
    assert stranger.status_code == 404, stranger.text
    wrong = send(committee, f"其他 {tag()}", {"documents": "x"})
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "not_found"
    assert send(committee, reason, name="no_such_message").status_code == 404
    assert committee.post("/messages", {"name": "", "correlation": {}}).status_code == 422
    unnamed = committee.post("/messages", {"name": MESSAGE, "correlation": {}, "data": {}})
    assert unnamed.status_code == 422  # a message names the instances it is for
    assert committee.post("/messages", {"name": MESSAGE, "correlation": []}).status_code == 422
    assert tasks_of(rg, body["id"]) == []

    r = send(committee, reason, {"documents": "结婚证复印件", "pages": 2})
    assert r.status_code == 200, r.text
    assert r.json() == {"delivered": 1}
    again = send(committee, reason, {"documents": "结婚证复印件"})
    assert again.status_code == 404, again.text

    task = approval_of(rg, body["id"])
    assert (task["role"], task["org_unit"], task["process"]) == ("street_office", "TB-RG", KEY)
    assert task["name"] == "街道审批" and task["assignee"] is None
    for username in ("street.hm", "committee.rg02"):
        outsider = Client(live.base, username)
        assert tasks_of(outsider, body["id"]) == []
        assert outsider.get(f"/tasks/{task['id']}").status_code == 403
    assert Client(live.base, "street.hm").get(f"/instances/{body['id']}").status_code == 404

    instance = committee.get(f"/instances/{body['id']}").json()
    assert instance["data"]["documents"] == "结婚证复印件" and instance["data"]["pages"] == 2
    assert [t["key"] for t in instance["open_tasks"]] == ["street_approval"]
    assert "message.delivered" in [e["action"] for e in instance["history"]]
    detail = rg.get(f"/tasks/{task['id']}").json()
    assert detail["data"]["documents"] == "结婚证复印件"
    assert {f["name"] for f in detail["form"]} == {"decision", "comment"}


def test_the_literal_p10d_timer_gives_the_approval_its_due_date(live, leave):
    committee, rg = Client(live.base, "committee.rg01"), Client(live.base, "street.rg")
    reason = f"病假 {tag()}"
    body = started(committee, reason)
    assert send(committee, reason, {"documents": "诊断书"}).json() == {"delivered": 1}
    task = rg.get(f"/tasks/{approval_of(rg, body['id'])['id']}").json()
    assert task["due_at"] is not None, task
    assert abs(at(task["due_at"]) - at(task["created_at"]) - timedelta(days=10)) < timedelta(
        seconds=5
    )
    assert task["overdue"] is False and task["escalated"] is False
    for days, found in ((9, False), (11, True)):
        before = (at(task["created_at"]) + timedelta(days=days)).isoformat()
        ids = [t["id"] for t in rg.inbox(due_before=before, key="street_approval")]
        assert (task["id"] in ids) is found, days


def test_rejected(live, leave):
    committee, rg = Client(live.base, "committee.rg01"), Client(live.base, "street.rg")
    reason = f"事假 {tag()}"
    body = started(committee, reason, kind="personal", days=30)
    assert send(rg, reason, {"documents": "情况说明"}).json() == {"delivered": 1}
    task = approval_of(rg, body["id"])
    assert rg.complete(task["id"], {"decision": "maybe"}).status_code == 422
    assert committee.complete(task["id"], {"decision": "approve"}).status_code == 403
    done = rg.complete(task["id"], {"decision": "reject", "comment": "年底工作繁忙"})
    assert done.status_code == 200, done.text
    assert (done.json()["instance_state"], done.json()["outcome"]) == ("completed", "rejected")
    assert rg.complete(task["id"], {"decision": "reject"}).status_code == 409
    instance = committee.get(f"/instances/{body['id']}").json()
    assert (instance["state"], instance["outcome"], instance["open_tasks"]) == (
        "completed",
        "rejected",
        [],
    )
    assert instance["data"]["street_approval"]["decision"] == "reject"


def test_approved_and_acknowledged_by_the_starter(live, leave):
    committee, rg = Client(live.base, "committee.rg02"), Client(live.base, "street.rg")
    reason = f"年休假 {tag()}"
    body = started(committee, reason, kind="annual", days=5)
    assert send(committee, reason, {"documents": "无"}).json() == {"delivered": 1}
    task = approval_of(rg, body["id"])
    done = rg.complete(task["id"], {"decision": "approve"})
    assert done.status_code == 200, done.text
    assert (done.json()["instance_state"], done.json()["outcome"]) == ("running", None)

    ack = [t for t in committee.inbox(key="acknowledge") if t["instance_id"] == body["id"]]
    assert len(ack) == 1, committee.inbox()
    detail = committee.get(f"/tasks/{ack[0]['id']}").json()
    assert detail["assignee"] == "committee.rg02"
    assert (detail["role"], detail["org_unit"]) == ("committee", "TB-RG-02")
    assert detail["due_at"] is None  # the timer was on the approval only
    assert tasks_of(rg, body["id"]) == []
    assert rg.get(f"/tasks/{ack[0]['id']}").status_code == 403
    mine_only = committee.get("/tasks", params={"claimed": "true", "key": "acknowledge"}).json()
    assert ack[0]["id"] in [t["id"] for t in mine_only["items"]]

    assert committee.complete(ack[0]["id"], {}).status_code == 422
    end = committee.complete(ack[0]["id"], {"confirmed": True})
    assert end.status_code == 200, end.text
    assert (end.json()["instance_state"], end.json()["outcome"]) == ("completed", "approved")
    instance = committee.get(f"/instances/{body['id']}").json()
    assert (instance["state"], instance["outcome"]) == ("completed", "approved")
    assert instance["data"]["acknowledge"] == {"confirmed": True}
    # drawn from a plane on the process itself (no pool, no lanes), the path taken marked
    svg = committee.get(f"/instances/{body['id']}/diagram.svg")
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert "el-acknowledge" in svg.text and "<script" not in svg.text


def fire_timers(live, days: float) -> None:
    """One run of the timer worker with its clock `days` ahead (as the worker command runs)."""
    env = {
        **os.environ,
        "DATABASE_URL": live.db_url,
        "CLOCK_OFFSET_SECONDS": str(int(days * 86400)),
    }
    subprocess.run(
        [str(BIN / "flask"), "--app", "server", "timer-worker", "--once"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_the_overdue_timer_escalates_without_interrupting(live, leave):
    committee, rg = Client(live.base, "committee.rg06"), Client(live.base, "street.rg")
    reviewer = Client(live.base, "reviewer")
    reason = f"产假 {tag()}"
    body = started(committee, reason, days=30)
    assert send(committee, reason, {"documents": "出生证明"}).json() == {"delivered": 1}
    task = approval_of(rg, body["id"])
    assert tasks_of(reviewer, body["id"]) == []

    fire_timers(live, 9)  # not yet due
    assert rg.get(f"/tasks/{task['id']}").json()["escalated"] is False
    fire_timers(live, 10.1)
    detail = rg.get(f"/tasks/{task['id']}").json()
    assert (detail["status"], detail["escalated"]) == ("open", True)
    # the district access office sees it too; the street keeps it and decides
    assert [t["id"] for t in tasks_of(reviewer, body["id"])] == [task["id"]]
    instance = committee.get(f"/instances/{body['id']}").json()
    assert (instance["state"], [t["key"] for t in instance["open_tasks"]]) == (
        "running",
        ["street_approval"],
    )
    done = rg.complete(task["id"], {"decision": "reject", "comment": "超期后驳回"})
    assert done.status_code == 200, done.text
    assert (done.json()["instance_state"], done.json()["outcome"]) == ("completed", "rejected")
    assert tasks_of(reviewer, body["id"]) == []


# --- listing instances -------------------------------------------------------------------------


def reject_quickly(committee: Client, rg: Client, reason: str) -> dict:
    body = started(committee, reason)
    assert send(committee, reason, {"documents": "-"}).json() == {"delivered": 1}
    task = approval_of(rg, body["id"])
    assert rg.complete(task["id"], {"decision": "reject", "comment": "-"}).status_code == 200
    return body


def test_instance_list_filters_pages_and_scope(live, leave):
    committee, rg = Client(live.base, "committee.rg03"), Client(live.base, "street.rg")
    done = [reject_quickly(committee, rg, f"列表 {tag()}")["id"] for _ in range(3)]
    running = started(committee, f"列表 {tag()}")["id"]

    page = mine(committee, state="completed", per_page=200)
    assert page["total"] == 3 and {i["id"] for i in page["items"]} == set(done)
    assert all(
        (i["process"], i["state"], i["outcome"], i["version"]) == (KEY, "completed", "rejected", 1)
        for i in page["items"]
    )
    assert [i["id"] for i in mine(committee, state="running")["items"]] == [running]
    assert mine(committee, outcome="approved")["total"] == 0
    assert mine(committee, outcome="rejected")["total"] == 3

    seen = []
    for number in (1, 2, 3):
        p = mine(committee, state="completed", per_page=1, page=number, order="asc", sort="id")
        assert (p["total"], p["page"], p["per_page"], len(p["items"])) == (3, number, 1, 1)
        seen += [i["id"] for i in p["items"]]
    assert seen == sorted(done)
    assert mine(committee, state="completed", per_page=1, page=4)["items"] == []
    newest_first = mine(committee, per_page=200)["items"]
    assert [i["id"] for i in newest_first] == sorted([*done, running], reverse=True)

    # the street of the community reads them; another street and another community do not
    listed = rg.get("/instances", params={"process": KEY, "per_page": 200}).json()
    assert {*done, running} <= {i["id"] for i in listed["items"]}
    for username in ("committee.td05", "street.hm"):
        other = Client(live.base, username)
        r = other.get("/instances", params={"process": KEY, "per_page": 200}).json()
        assert not {*done, running} & {i["id"] for i in r["items"]}, username
    none = Client(live.base, "committee.td05").get("/instances", params={"process": KEY}).json()
    assert none["total"] == 0 and none["items"] == []
    by_unit = rg.get("/instances", params={"process": KEY, "org_unit": "TB-RG-03"}).json()
    assert {i["id"] for i in by_unit["items"]} == {*done, running}
    assert committee.get("/instances", params={"state": "sleeping"}).status_code == 422


# --- versions ----------------------------------------------------------------------------------


def test_versions_release_and_rollback_by_redeploying(live, admin):
    key = f"leave_versions_{tag()}"
    v1_xml = renamed(XML, key)
    v2_xml = renamed(XML, key, "社区工作人员请假（第二版）")
    committee = Client(live.base, "committee.rg04")

    v1 = deploy(admin, v1_xml)
    assert v1.status_code == 201 and v1.json()["version"] == 1, v1.text
    v1 = v1.json()
    v2 = admin.post("/process-definitions", files={"file": ("v2.bpmn", v2_xml, "application/xml")})
    assert v2.status_code == 201 and v2.json()["version"] == 2, v2.text
    v2 = v2.json()
    on_v2 = started(committee, f"v {tag()}", key=key)
    assert on_v2["version"] == 2 and on_v2["title"] == "社区工作人员请假（第二版）"

    assert committee.post(f"/process-definitions/{v1['id']}/release").status_code == 403
    released = admin.post(f"/process-definitions/{v1['id']}/release")
    assert released.status_code == 200 and released.json()["in_force"] is True, released.text
    assert admin.get(f"/process-definitions/{v2['id']}").json()["in_force"] is False
    on_v1 = started(committee, f"v {tag()}", key=key)
    assert on_v1["version"] == 1 and on_v1["title"] == "社区工作人员请假"
    # a running instance stays on its version
    assert committee.get(f"/instances/{on_v2['id']}").json()["version"] == 2
    assert admin.get(f"/process-definitions/{v2['id']}").json()["instances"] == {"running": 1}

    # rollback by redeploying the old file: a new version, not the old one again
    v3 = deploy(admin, v1_xml)
    assert v3.status_code == 201, v3.text
    assert (v3.json()["version"], v3.json()["created"]) == (3, True)
    assert v3.json()["content_hash"] == v1["content_hash"]
    assert deploy(admin, v1_xml).status_code == 200  # unchanged newest: not a fourth
    # the released version stays in force until an admin chooses another
    assert started(committee, f"v {tag()}", key=key)["version"] == 1
    assert admin.post(f"/process-definitions/{v3.json()['id']}/release").status_code == 200
    assert started(committee, f"v {tag()}", key=key)["version"] == 3
    # suspending the version in force hands over to the newest active one
    assert admin.post(f"/process-definitions/{v3.json()['id']}/suspend").status_code == 200
    assert started(committee, f"v {tag()}", key=key)["version"] == 2

    listed = admin.get("/process-definitions", params={"per_page": 200}).json()["items"]
    mine_ = sorted((d["version"], d["in_force"]) for d in listed if d["key"] == key)
    assert mine_ == [(1, False), (2, True), (3, False)]


# --- deploy-time validation --------------------------------------------------------------------


def broken_copy() -> bytes:
    """The fixture with four mistakes a Camunda modeller makes, each on its own element."""
    root = etree.fromstring(XML)
    process = root.find("bpmn:process", NS)
    process.set("id", "leave_broken")
    root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS).set("bpmnElement", "leave_broken")
    approval = process.find("bpmn:userTask[@id='street_approval']", NS)
    approval.set(f"{CAMUNDA}candidateGroups", "mayor")
    ack = process.find("bpmn:userTask[@id='acknowledge']", NS)
    service = etree.Element(
        "{" + NS["bpmn"] + "}serviceTask",
        {"id": "acknowledge", "name": "通知人事", f"{CAMUNDA}class": "org.example.NotifyHr"},
        nsmap=root.nsmap,
    )
    for child in ack.findall("bpmn:incoming", NS) + ack.findall("bpmn:outgoing", NS):
        service.append(child)
    ack.addprevious(service)
    process.remove(ack)
    condition = process.find("bpmn:sequenceFlow[@id='Flow_rejected']/bpmn:conditionExpression", NS)
    condition.text = "${amount > 5}"
    process.find(".//bpmn:timeDuration", NS).text = "R/PT0S"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_deploy_time_validation_names_every_problem_at_once(live, admin):
    r = deploy(admin, broken_copy())
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_bpmn"
    problems = error["problems"]
    by_element: dict[str, list[dict]] = {}
    for p in problems:
        assert p["message"] and p["message_en"], p
        by_element.setdefault(p["element"], []).append(p)
    assert {"street_approval", "acknowledge", "Flow_rejected", "street_approval_overdue"} <= set(
        by_element
    ), problems
    assert any("mayor" in p["message_en"] for p in by_element["street_approval"])
    assert any("camunda:class" in p["message_en"] for p in by_element["acknowledge"])
    assert any(
        "JUEL" in p["message_en"] or "${" in p["message_en"] for p in by_element["Flow_rejected"]
    )
    assert by_element["street_approval_overdue"]
    listed = admin.get("/process-definitions", params={"per_page": 200}).json()["items"]
    assert "leave_broken" not in {d["key"] for d in listed}

    # no diagram interchange: refused, since it could never be drawn
    root = etree.fromstring(renamed(XML, "leave_no_di"))
    root.remove(root.find("bpmndi:BPMNDiagram", NS))
    bare = deploy(admin, etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    assert bare.status_code == 422 and bare.json()["error"]["code"] == "invalid_bpmn"
    assert deploy(admin, b"<not-bpmn/>").status_code == 422
    assert deploy(admin, b"").status_code == 422


# --- roles as data -----------------------------------------------------------------------------


def test_an_admin_adds_a_role_and_a_process_routes_to_it(live, admin):
    root = etree.fromstring(renamed(XML, "grid_visit", "网格员走访"))
    approval = root.find("bpmn:process/bpmn:userTask[@id='street_approval']", NS)
    approval.set(f"{CAMUNDA}candidateGroups", "grid_worker")
    grid_xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    before = deploy(admin, grid_xml)
    assert before.status_code == 422, before.text
    assert any("grid_worker" in p["message_en"] for p in before.json()["error"]["problems"])

    role = {"key": "grid_worker", "name_zh": "网格员", "name_en": "Grid worker"}
    street = Client(live.base, "street.rg")
    assert street.post("/roles", {**role, "unit_kind": "community"}).status_code == 403
    assert admin.post("/roles", {**role, "unit_kind": "village"}).status_code == 422
    assert (
        admin.post("/roles", {**role, "key": "Grid Worker", "unit_kind": "community"}).status_code
        == 422
    )
    created = admin.post("/roles", {**role, "unit_kind": "community"})
    assert created.status_code == 201, created.text
    assert created.json() == {**role, "unit_kind": "community"}
    assert admin.post("/roles", {**role, "unit_kind": "community"}).status_code == 409
    listed = street.get("/roles").json()
    assert {"key": "grid_worker", "unit_kind": "community"}.items() <= next(
        r for r in listed["items"] if r["key"] == "grid_worker"
    ).items()
    assert {"department", "street_office", "committee"} <= {r["key"] for r in listed["items"]}

    deployed = deploy(admin, grid_xml)
    assert deployed.status_code == 201, deployed.text

    # a grid worker of the community gets the task: routing by the new role's unit kind
    user = {
        "username": "grid.rg01",
        "display_name": "瑞光社区网格员",
        "password": "grid-pass-2026",
        "memberships": [{"role": "grid_worker", "org_unit": "TB-RG-01"}],
    }
    assert admin.post("/users", user).status_code == 201
    grid = Client(live.base, "grid.rg01", "grid-pass-2026")
    committee = Client(live.base, "committee.rg01")
    reason = f"走访 {tag()}"
    body = started(committee, reason, key="grid_visit")
    assert send(committee, reason, {"documents": "走访记录"}).json() == {"delivered": 1}
    task = [t for t in grid.inbox() if t["instance_id"] == body["id"]]
    assert len(task) == 1 and (task[0]["role"], task[0]["org_unit"]) == (
        "grid_worker",
        "TB-RG-01",
    )
    assert [
        t for t in Client(live.base, "street.rg").inbox() if t["instance_id"] == body["id"]
    ] == []
    done = grid.complete(task[0]["id"], {"decision": "reject", "comment": "-"})
    assert done.status_code == 200 and done.json()["outcome"] == "rejected", done.text


# --- what a modeller may draw -----------------------------------------------------------------


def test_a_task_id_may_equal_one_of_its_enum_values():
    """SpiffWorkflow's parser indexes every element with an id; the engine hands it the file
    without form data, so an enum value `approve` does not hide the task `approve`."""
    xml = XML.replace(b'id="street_approval"', b'id="approve"')
    for attr in (b"targetRef", b"sourceRef", b"attachedToRef", b"bpmnElement"):
        xml = xml.replace(attr + b'="street_approval"', attr + b'="approve"')
    xml = xml.replace(b"street_approval.decision", b"approve.decision")
    parsed = definitions.parse_bpmn(xml, roles=set(SEEDED_ROLES))
    assert "approve" in parsed.user_tasks
