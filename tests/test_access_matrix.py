"""Who may read and do what, endpoint by endpoint: every role × every endpoint × own/other scope,
over real HTTP (gunicorn), on SQLite and PostgreSQL.

One server per backend, on its own database, with handoffs built once in several streets and
stages (review, signing, district review, funding, work), by two departments. Then every actor
tries every id: nobody reads or acts outside their scope, whatever id they send (no IDOR).

Expected answers, from SPEC.md ("Routing", "HTTP API"):
- task reads and actions (GET /tasks/{id}, claim, unclaim, delegate, complete, attach): only
  the tasks in your inbox; any other task is a 403 ("nobody sees or completes a task outside
  their inbox"). Administrators may read any task but act on none outside their inbox.
- requests and instances (GET /requests/{id}, /instances/{id}, its diagram and attachments):
  visible to the parties of the handoff: the requesting department, the street of the community,
  the community, the finance office and the access office (district reviewer), and to
  administrators. Outside that scope the id does not exist for you: 404.
- cancel: the requesting department and administrators; other parties 403; outside scope 404.
- 居民评议: the parties read a handoff's survey and combined score; only the committee of its
  community opens the survey (other parties 403), and only once the work is reported (409).
- admin endpoints: administrators only (403); signed-out: 401 everywhere.
- refused attempts change nothing (checked at the end against the tasks and the audit trail).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from handoff import agreement_templates

from .conftest import BACKENDS, _fresh_postgres_database, _postgres_url
from .live import Client, LiveServer, prepare_database
from .test_api_handoff import new_request, only, today

TODAY = today()  # the servers' clock is the real one: work and money happen after the request

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ANON = "anonymous"
DISTRICT_WIDE = {"admin", "reviewer", "finance"}  # parties of every handoff of the district
ACTORS = [
    "admin",
    "reviewer",
    "finance",
    "dept.mz",
    "dept.rs",
    "street.rg",
    "street.hm",
    "committee.rg01",
    "committee.rg02",
    "committee.rg04",
    "committee.hm01",
    ANON,
]


@dataclass(frozen=True)
class InstanceSpec:
    name: str
    request: str
    department: str
    street: str
    committee: str


@dataclass(frozen=True)
class TaskSpec:
    name: str
    key: str
    instance: str
    owner: str
    data: dict


INSTANCES = {
    i.name: i
    for i in (
        InstanceSpec("rg01", "R1", "dept.mz", "street.rg", "committee.rg01"),
        InstanceSpec("hm01", "R1", "dept.mz", "street.hm", "committee.hm01"),
        InstanceSpec("rg02", "R2", "dept.mz", "street.rg", "committee.rg02"),
        InstanceSpec("rg03", "R3", "dept.mz", "street.rg", "committee.rg03"),
        InstanceSpec("rg04", "R4", "dept.mz", "street.rg", "committee.rg04"),
        InstanceSpec("hm02", "R5", "dept.rs", "street.hm", "committee.hm02"),
        # work reported, its 居民评议 opened by its committee
        InstanceSpec("hm03", "R6", "dept.mz", "street.hm", "committee.hm03"),
    )
}
SIGN = {"decision": "sign"}
TASKS = {
    t.name: t
    for t in (
        TaskSpec("review@hm01", "street_review", "hm01", "street.hm", {"decision": "approve"}),
        TaskSpec("review@hm02", "street_review", "hm02", "street.hm", {"decision": "approve"}),
        TaskSpec("sign_department@rg01", "sign_department", "rg01", "dept.mz", SIGN),
        TaskSpec("sign_street@rg01", "sign_street", "rg01", "street.rg", SIGN),
        TaskSpec(
            "district_review@rg02", "district_review", "rg02", "reviewer", {"decision": "approve"}
        ),
        TaskSpec(
            "funding@rg03",
            "funding",
            "rg03",
            "finance",
            {"amount": "5000.00", "voucher_no": "PZ-IDOR", "transferred_on": TODAY},
        ),
        TaskSpec(
            "work@rg04",
            "work",
            "rg04",
            "committee.rg04",
            {"report": "越权完成", "completed_on": TODAY},
        ),
        TaskSpec("acceptance@hm03", "acceptance", "hm03", "dept.mz", {"decision": "accept"}),
    )
}
TASK_ACTIONS = ["get", "claim", "unclaim", "delegate", "complete", "attach"]
INSTANCE_READS = ["get", "diagram", "attachments"]
REQUESTS = {"R1", "R2", "R3", "R4", "R5", "R6"}


def sees_instance(actor: str, instance: str) -> bool:
    spec = INSTANCES[instance]
    return actor in DISTRICT_WIDE or actor in (spec.department, spec.street, spec.committee)


def sees_request(actor: str, request: str) -> list[str]:
    """The instances of the request this actor sees (the request is a 404 when none)."""
    return [
        i.name for i in INSTANCES.values() if i.request == request and sees_instance(actor, i.name)
    ]


@dataclass
class Matrix:
    base: str
    http: dict[str, requests.Session]
    tasks: dict[str, int] = field(default_factory=dict)
    instances: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    attachment: int = 0
    cancellable: dict[str, int] = field(default_factory=dict)

    def call(self, actor: str, method: str, path: str, **kw) -> requests.Response:
        return self.http[actor].request(method, self.base + "/api/v1" + path, timeout=60, **kw)


def _approve(street: Client, rid: int, community_key: str = "street_review") -> None:
    task = only(street.inbox(), community_key, rid)
    assert street.complete(task["id"], {"decision": "approve"}).status_code == 200


def _sign_all(rid: int, dept: Client, street: Client, committee: Client) -> None:
    for client, key in (
        (committee, "sign_committee"),
        (dept, "sign_department"),
        (street, "sign_street"),
    ):
        task = only(client.inbox(), key, rid)
        assert client.complete(task["id"], SIGN).status_code == 200


def _surveyed(c: dict[str, Client], dept: Client) -> dict:
    """R6: TB-HM-03's handoff through the work, and its 居民评议 opened by committee.hm03."""
    hm, committee = c["street.hm"], Client(dept.base.removesuffix("/api/v1"), "committee.hm03")
    r6 = new_request(dept, ["TB-HM-03"])
    _approve(hm, r6["id"])
    _sign_all(r6["id"], dept, hm, committee)
    funding = only(c["finance"].inbox(), "funding", r6["id"])
    money = {"amount": "5000.00", "voucher_no": "PZ-M-6", "transferred_on": TODAY}
    assert c["finance"].complete(funding["id"], money).status_code == 200
    work = only(committee.inbox(), "work", r6["id"])
    report = {"report": "已完成", "completed_on": TODAY}
    assert committee.complete(work["id"], report).status_code == 200
    instance = r6["instances"][0]["id"]
    opened = committee.post(f"/instances/{instance}/resident-survey", {"days": 7})
    assert opened.status_code == 201, opened.text
    return r6


def _build(base: str) -> Matrix:
    c = {name: Client(base, name) for name in ACTORS if name != ANON}
    c["committee.rg03"] = Client(base, "committee.rg03")
    http = {name: client.http for name, client in c.items()}
    http[ANON] = requests.Session()
    m = Matrix(base, http)
    dept, rg = c["dept.mz"], c["street.rg"]

    r1 = new_request(dept, ["TB-RG-01", "TB-HM-01"])
    _approve(rg, r1["id"])  # hm01 waits for street.hm's review
    # rg01: the committee has signed, the department and the street office sign next
    first = only(c["committee.rg01"].inbox(), "sign_committee", r1["id"])
    assert c["committee.rg01"].complete(first["id"], SIGN).status_code == 200
    r2 = dept.post(
        "/requests",
        {
            "title": "清单外事项",
            "community_codes": ["TB-RG-02"],
            "amount": "300.00",
            "due_date": "2099-12-31",
        },
    )
    assert r2.status_code == 201, r2.text
    r2 = r2.json()
    _approve(rg, r2["id"])  # unlisted: the district reviewer reviews next
    r3 = new_request(dept, ["TB-RG-03"])
    _approve(rg, r3["id"])
    _sign_all(r3["id"], dept, rg, c["committee.rg03"])  # funding is next
    r4 = new_request(dept, ["TB-RG-04"])
    _approve(rg, r4["id"])
    _sign_all(r4["id"], dept, rg, c["committee.rg04"])
    funding = only(c["finance"].inbox(), "funding", r4["id"])
    money = {"amount": "5000.00", "voucher_no": "PZ-M-4", "transferred_on": TODAY}
    assert c["finance"].complete(funding["id"], money).status_code == 200  # work is next
    r5 = new_request(c["dept.rs"], ["TB-HM-02"])
    cancel = new_request(dept, ["TB-RG-05", "TB-RG-06"])
    r6 = _surveyed(c, dept)

    requests_ = {"R1": r1, "R2": r2, "R3": r3, "R4": r4, "R5": r5, "R6": r6}
    m.requests = {name: r["id"] for name, r in requests_.items()}
    by_community = {
        i["community_code"]: i["id"] for r in requests_.values() for i in r["instances"]
    }
    codes = {"rg01": "TB-RG-01", "hm01": "TB-HM-01", "rg02": "TB-RG-02", "rg03": "TB-RG-03"}
    codes |= {"rg04": "TB-RG-04", "hm02": "TB-HM-02", "hm03": "TB-HM-03"}
    m.instances = {name: by_community[code] for name, code in codes.items()}
    m.cancellable = {
        "dept.mz": cancel["instances"][0]["id"],
        "admin": cancel["instances"][1]["id"],
    }
    for name, spec in TASKS.items():
        request_id = m.requests[INSTANCES[spec.instance].request]
        task = only(c[spec.owner].inbox(), spec.key, request_id)
        assert task["instance_id"] == m.instances[spec.instance]
        m.tasks[name] = task["id"]
    upload = c["committee.rg04"].http.post(
        c["committee.rg04"].base + f"/tasks/{m.tasks['work@rg04']}/attachments",
        files={"file": ("report.txt", "入户调查记录".encode(), "text/plain")},
        timeout=30,
    )
    assert upload.status_code == 201, upload.text
    m.attachment = upload.json()["id"]
    return m


@pytest.fixture(scope="module", params=BACKENDS)
def matrix(request, database_url_factory, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('matrix')}/matrix.sqlite3"
    else:
        database_url_factory("postgresql")  # skips or fails when there is no PostgreSQL
        url = _fresh_postgres_database(_postgres_url())
    prepare_database(url)
    server = LiveServer(url, workers=2).start()
    try:
        yield _build(server.base)
    finally:
        server.stop()


# --- tasks ----------------------------------------------------------------------------------


def _task_cases():
    for actor in ACTORS:
        for task in TASKS:
            for action in TASK_ACTIONS:
                yield pytest.param(actor, task, action, id=f"{actor}-{task}-{action}")


@pytest.mark.parametrize(("actor", "task", "action"), list(_task_cases()))
def test_task_endpoints(matrix, actor, task, action):
    spec = TASKS[task]
    tid = matrix.tasks[task]
    mine = actor == spec.owner

    def go(method, suffix="", **kw):
        return matrix.call(actor, method, f"/tasks/{tid}{suffix}", **kw)

    if action == "get":
        r = go("GET")
    elif action == "claim":
        r = go("POST", "/claim")
    elif action == "unclaim":
        r = go("POST", "/unclaim")
    elif action == "delegate":
        # others try to hand it to its rightful owner (a valid colleague of the task's unit)
        target = "committee.hm01" if mine else spec.owner
        r = go("POST", "/delegate", json={"username": target})
    elif action == "complete":
        r = go("POST", "/complete", json={"data": {} if mine else spec.data})
    else:
        r = go("POST", "/attachments", files={"file": ("x.txt", b"evidence", "text/plain")})

    if actor == ANON:
        assert r.status_code == 401, r.text
        return
    if not mine and not (actor == "admin" and action == "get"):
        assert r.status_code == 403, (r.status_code, r.text)
        assert r.json()["error"]["code"] == "forbidden"
        return
    # in my inbox (or an administrator reading): allowed, and left as it was
    expected = {
        "get": 200,
        "claim": 200,
        "unclaim": 409,  # not claimed: the check ran after the inbox check
        "delegate": 422,  # not a member of the task's unit: likewise
        "complete": 422,  # the form is empty: nothing completed
        "attach": 201,
    }[action]
    assert r.status_code == expected, (r.status_code, r.text)
    if action == "get":
        assert r.json()["id"] == tid and r.json()["instance_id"] == matrix.instances[spec.instance]
    if action == "claim":
        assert r.json()["assignee"] == actor
        assert go("POST", "/unclaim").status_code == 200


# --- instances and requests -----------------------------------------------------------------


def _instance_cases():
    for actor in ACTORS:
        for instance in INSTANCES:
            for action in INSTANCE_READS:
                yield pytest.param(actor, instance, action, id=f"{actor}-{instance}-{action}")


@pytest.mark.parametrize(("actor", "instance", "action"), list(_instance_cases()))
def test_instance_reads(matrix, actor, instance, action):
    iid = matrix.instances[instance]
    suffix = {"get": "", "diagram": "/diagram.svg", "attachments": "/attachments"}[action]
    r = matrix.call(actor, "GET", f"/instances/{iid}{suffix}")
    if actor == ANON:
        assert r.status_code == 401
    elif sees_instance(actor, instance):
        assert r.status_code == 200, (r.status_code, r.text[:300])
        if action == "get":
            assert r.json()["id"] == iid
    else:
        assert r.status_code == 404, (r.status_code, r.text[:300])
        assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("actor", ACTORS)
def test_agreement_pdf(matrix, actor):
    """The agreement's PDF is read like its instance: its parties only (signed: rg03)."""
    r = matrix.call(actor, "GET", f"/instances/{matrix.instances['rg03']}/agreement.pdf")
    if actor == ANON:
        assert r.status_code == 401
    elif sees_instance(actor, "rg03"):
        assert r.status_code == 200 and r.content.startswith(b"%PDF"), r.text[:300]
    else:
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("actor", ACTORS)
def test_attachment_download(matrix, actor):
    r = matrix.call(actor, "GET", f"/attachments/{matrix.attachment}")
    if actor == ANON:
        assert r.status_code == 401
    elif sees_instance(actor, "rg04"):
        assert r.status_code == 200 and r.content == "入户调查记录".encode()
    else:
        assert r.status_code == 404


def _cancel_cases():
    for actor in ACTORS:
        for instance, spec in INSTANCES.items():
            if actor not in ("admin", spec.department):  # those may: see test_cancel_allowed
                yield pytest.param(actor, instance, id=f"{actor}-{instance}")


@pytest.mark.parametrize(("actor", "instance"), list(_cancel_cases()))
def test_cancel_refused(matrix, actor, instance):
    r = matrix.call(actor, "POST", f"/instances/{matrix.instances[instance]}/cancel", json={})
    if actor == ANON:
        assert r.status_code == 401
    elif sees_instance(actor, instance):
        assert r.status_code == 403, r.text
    else:
        assert r.status_code == 404, r.text


@pytest.mark.parametrize("actor", ["dept.mz", "admin"])
def test_cancel_allowed(matrix, actor):
    iid = matrix.cancellable[actor]
    r = matrix.call(actor, "POST", f"/instances/{iid}/cancel", json={"reason": "矩阵测试"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text


def _request_cases():
    for actor in ACTORS:
        for name in sorted(REQUESTS):
            yield pytest.param(actor, name, id=f"{actor}-{name}")


@pytest.mark.parametrize(("actor", "name"), list(_request_cases()))
def test_request_reads(matrix, actor, name):
    rid = matrix.requests[name]
    r = matrix.call(actor, "GET", f"/requests/{rid}")
    visible = sees_request(actor, name)
    if actor == ANON:
        assert r.status_code == 401
    elif not visible:
        assert r.status_code == 404, r.text
    else:
        assert r.status_code == 200, r.text
        shown = {i["id"] for i in r.json()["instances"]}
        assert shown == {matrix.instances[i] for i in visible}  # only the communities I see


@pytest.mark.parametrize("actor", [a for a in ACTORS if a != ANON])
def test_lists_hold_only_what_is_in_scope(matrix, actor):
    inbox = matrix.call(actor, "GET", "/tasks", params={"per_page": 200}).json()["items"]
    mine = {t["id"] for t in inbox} & set(matrix.tasks.values())
    assert mine == {matrix.tasks[n] for n, t in TASKS.items() if t.owner == actor}
    for name, rid in matrix.requests.items():  # filtering by someone else's request id
        filtered = matrix.call(actor, "GET", "/tasks", params={"request_id": rid, "per_page": 200})
        owned = {matrix.tasks[n] for n, t in TASKS.items() if t.owner == actor}
        assert {t["id"] for t in filtered.json()["items"]} <= owned, name
    listed = matrix.call(actor, "GET", "/requests", params={"per_page": 200}).json()["items"]
    by_id = {r["id"]: r for r in listed if r["id"] in matrix.requests.values()}
    expected = {matrix.requests[n] for n in REQUESTS if sees_request(actor, n)}
    assert set(by_id) == expected
    for name in REQUESTS:
        if matrix.requests[name] in by_id:
            shown = {i["id"] for i in by_id[matrix.requests[name]]["instances"]}
            assert shown == {matrix.instances[i] for i in sees_request(actor, name)}


@pytest.mark.parametrize("actor", ACTORS)
def test_only_its_officers_launch_requests_for_a_department(matrix, actor):
    body = {
        "title": "以人社局名义发起",
        "item_code": "A01",
        "community_codes": ["TB-XL-05"],
        "amount": "100.00",
        "due_date": "2099-12-31",
        "department_code": "TB-D-RS",
    }
    r = matrix.call(actor, "POST", "/requests", json=body)
    expected = {ANON: 401, "dept.rs": 201}.get(actor, 403)
    assert r.status_code == expected, (r.status_code, r.text)
    if expected == 201:
        assert r.json()["department"] == "TB-D-RS"


# --- 居民评议 and the combined score ----------------------------------------------------------


def _every_pair():
    for actor in ACTORS:
        for instance in INSTANCES:
            yield pytest.param(actor, instance, id=f"{actor}-{instance}")


@pytest.mark.parametrize(("actor", "instance"), list(_every_pair()))
def test_survey_and_score_reads(matrix, actor, instance):
    """The parties read a handoff's survey (404 where none was opened) and its combined score;
    outside the scope neither exists."""
    iid = matrix.instances[instance]
    survey = matrix.call(actor, "GET", f"/instances/{iid}/resident-survey")
    score = matrix.call(actor, "GET", f"/instances/{iid}/score")
    if actor == ANON:
        assert (survey.status_code, score.status_code) == (401, 401)
    elif sees_instance(actor, instance):
        assert score.status_code == 200 and score.json()["instance_id"] == iid, score.text
        assert survey.status_code == (200 if instance == "hm03" else 404), survey.text
        if instance == "hm03":
            assert survey.json()["opened_by"] == "committee.hm03"
    else:
        assert (survey.status_code, score.status_code) == (404, 404)


@pytest.mark.parametrize(("actor", "instance"), list(_every_pair()))
def test_survey_opening(matrix, actor, instance):
    """Only the committee of the handoff's community opens its survey (and only once the work
    is reported, once): the other parties 403, outside the scope 404."""
    iid = matrix.instances[instance]
    r = matrix.call(actor, "POST", f"/instances/{iid}/resident-survey", json={"days": 7})
    if actor == ANON:
        assert r.status_code == 401
    elif not sees_instance(actor, instance):
        assert r.status_code == 404, r.text
    elif actor == INSTANCES[instance].committee:
        assert r.status_code == 409, r.text  # the work is not reported yet
    else:
        assert r.status_code == 403, r.text


# --- admin endpoints ------------------------------------------------------------------------

MINI = (ROOT / "tests" / "fixtures" / "mini.bpmn").read_text(encoding="utf-8")


def _admin_calls(actor: str) -> list[tuple[str, str, str, dict]]:
    tag = uuid.uuid4().hex[:8]
    who = "intruder" if actor != "admin" else "colleague"  # what admins make is no intrusion
    x = "X" if actor != "admin" else "OK"
    self_name = "admin" if actor in (ANON, "admin") else actor
    bpmn = MINI.replace('"mini"', f'"mini_{tag}"').replace('id="mini"', f'id="mini_{tag}"')
    # what an intruder would set is recognisable afterwards (test_refused_admin_calls_…)
    weights = {"street": 30, "department": 10, "residents": 60}
    if actor != "admin":
        weights = {"street": 100, "department": 0, "residents": 0}
    return [
        ("list_users", "GET", "/users", {}),
        (
            "create_user",
            "POST",
            "/users",
            {
                "json": {
                    "username": f"{who}.{tag}",
                    "display_name": "越权用户",
                    "password": "a-long-password-1",
                    "memberships": [{"role": "admin", "org_unit": "TB"}],
                }
            },
        ),
        ("rename_user", "PATCH", "/users/street.hm", {"json": {"display_name": "被篡改"}}),
        (
            "escalate_self",
            "PATCH",
            f"/users/{self_name}",
            {"json": {"memberships": [{"role": "admin", "org_unit": "TB"}]}},
        ),
        (
            "create_unit",
            "POST",
            "/org-units",
            {
                "json": {
                    "code": f"{x}-{tag}",
                    "name": "越权单位",
                    "kind": "community",
                    "parent": "TB-RG",
                }
            },
        ),
        ("rename_unit", "PATCH", "/org-units/TB-RG-01", {"json": {"name": "被篡改社区"}}),
        (
            "create_item",
            "POST",
            "/catalog/items",
            {"json": {"code": f"{x}{tag}", "name": "越权事项", "category": "assisted"}},
        ),
        ("recategorise_item", "PATCH", "/catalog/items/A01", {"json": {"category": "negative"}}),
        (
            "rewrite_template",
            "PUT",
            "/agreement-templates/assisted",
            {
                "json": {
                    "clauses": {
                        **TEMPLATE,
                        "breach": "乙方承担全部责任。" if x == "X" else TEMPLATE["breach"],
                    }
                }
            },
        ),
        (
            "set_weights",
            "PUT",
            "/evaluation-weights/assisted",
            {"json": weights},
        ),
        (
            "deploy",
            "POST",
            "/process-definitions",
            {"data": bpmn.encode(), "headers": {"Content-Type": "application/xml"}},
        ),
    ]


# the seeded clauses of assisted items: what an administrator's PUT leaves as it was
TEMPLATE = agreement_templates.DEFAULTS["assisted"]
ADMIN_CALLS = [name for name, *_ in _admin_calls("admin")]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("call", ADMIN_CALLS)
def test_admin_endpoints(matrix, actor, call):
    _, method, path, kw = next(c for c in _admin_calls(actor) if c[0] == call)
    if actor == "admin":
        if method == "PATCH":
            kw = {"json": {}}  # allowed; changes nothing
        if call == "create_user":
            kw["json"]["memberships"] = [{"role": "committee", "org_unit": "TB-RG-01"}]
        r = matrix.call(actor, method, path, **kw)
        assert r.status_code == {"GET": 200, "PATCH": 200, "POST": 201, "PUT": 200}[method], r.text
        return
    r = matrix.call(actor, method, path, **kw)
    assert r.status_code == (401 if actor == ANON else 403), (r.status_code, r.text)


def test_refused_admin_calls_changed_nothing(matrix):
    users = matrix.call("admin", "GET", "/users", params={"per_page": 200, "q": "intruder"})
    assert users.json()["total"] == 0
    hm = matrix.call("admin", "GET", "/users", params={"q": "street.hm"}).json()["items"][0]
    assert hm["display_name"] != "被篡改"
    units = matrix.call("admin", "GET", "/org-units", params={"parent": "TB-RG"}).json()["items"]
    assert all(not u["code"].startswith("X-") for u in units)
    assert next(u for u in units if u["code"] == "TB-RG-01")["name"] != "被篡改社区"
    items = matrix.call("admin", "GET", "/catalog/items", params={"q": "A01"}).json()["items"]
    assert next(i for i in items if i["code"] == "A01")["category"] == "assisted"
    template = matrix.call("admin", "GET", "/agreement-templates/assisted").json()
    assert template["clauses"] == TEMPLATE
    for actor in ACTORS:
        if actor in (ANON, "admin"):
            continue
        roles = {m["role"] for m in matrix.call(actor, "GET", "/me").json()["memberships"]}
        assert "admin" not in roles, actor
    weights = matrix.call("admin", "GET", "/evaluation-weights").json()["items"]
    assert next(w for w in weights if w["category"] == "assisted")["street"] != 100


@pytest.mark.parametrize("actor", ACTORS)
def test_shared_reads_need_only_a_sign_in(matrix, actor):
    for path in ("/me", "/catalog/items", "/org-units", "/process-definitions", "/tasks"):
        r = matrix.call(actor, "GET", path)
        assert r.status_code == (401 if actor == ANON else 200), (path, r.text)


# --- last: the refused attempts changed nothing -----------------------------------------------


def test_no_survey_was_opened_by_a_refused_attempt(matrix):
    for name, iid in matrix.instances.items():
        r = matrix.call("admin", "GET", f"/instances/{iid}/resident-survey")
        assert r.status_code == (200 if name == "hm03" else 404), (name, r.text)


def test_refused_attempts_left_no_trace(matrix):
    """Every target task is still open and unclaimed, its instance still running, and the audit
    trail holds no step taken by anyone but the task's owner."""
    for name, spec in TASKS.items():
        owner = matrix.call(spec.owner, "GET", f"/tasks/{matrix.tasks[name]}").json()
        assert (owner["status"], owner["assignee"]) == ("open", None), name
    for name, iid in matrix.instances.items():
        detail = matrix.call("admin", "GET", f"/instances/{iid}").json()
        assert detail["state"] == "running", name
        target_tasks = {matrix.tasks[n]: t for n, t in TASKS.items() if t.instance == name}
        for event in detail["history"]:
            if event["task_id"] in target_tasks:
                owner = target_tasks[event["task_id"]].owner
                assert event["action"] in (
                    "task.created",
                    "task.claimed",
                    "task.unclaimed",
                    "attachment.added",
                ), event
                assert event["actor"] in (None, owner), event
