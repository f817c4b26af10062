"""Property-based fuzzing of the API from its own OpenAPI description (schemathesis + Hypothesis),
against the real service: gunicorn on a freshly migrated and seeded database, on SQLite and on
PostgreSQL, signed in as an administrator and as a department officer (bearer header).

Every operation of /api/v1/openapi.json gets schema-valid ("positive") and schema-violating
("negative") requests, plus positive requests aimed at ids that exist (tasks, instances,
requests, org units, catalog items, users). Each answer must:

- never be a 5xx (`not_a_server_error`);
- carry a status code the description documents for that operation (`status_code_conformance`),
  with the documented content type and headers, and a body that validates against the
  documented schema (`response_schema_conformance`), error bodies included;
- refuse schema-violating input with a 4xx (`negative_data_rejection`).

`positive_data_acceptance` is left out on purpose: business rules the schema cannot express
(an unknown community code, a finance amount that differs from the agreed one) are 422s.

The run is bounded and reproducible: Hypothesis is derandomized (same examples every run), no
example database, no shrinking, a fixed number of examples per operation and a time budget per
run. The figures of each run are printed (`pytest -s`) and written to
`var/fuzz-report-<backend>-<role>.json`; a failing run lists each distinct failure with a curl
command, and the exception lines the server logged.

After the fuzzing, explicit cases on the same servers: malformed JSON (400), a 3 MB body (413),
wrong types, unknown fields, NUL characters, lone surrogates, control characters, deep nesting,
out-of-range ids and dates, misspelt query parameters (422 naming the field), and bad BPMN
uploads (not XML, not BPMN, a user task outside the lanes, `__import__('os')` and other hostile
expressions, an entity bomb, an external entity, not UTF-8): all refused with a clear JSON error.

Last, deployed processes built to hold a worker or grow without bound (issue 14): timers that
never end or fire forever, computed or literal; 100,000 multi-instance tasks; values of ten
billion elements in a condition; an instance of more than 1 MB; a step that runs for a minute.
Each is a 409 (or a 422 at deploy) naming the element, in seconds, and the worker serves on.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import BACKENDS, _fresh_postgres_database, _postgres_url
from .live import Client, LiveServer, prepare_database
from .test_api_handoff import new_request, only, today
from .unit.workflows.processes import cardinality, chain, script, timer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
POSITIVE_EXAMPLES = 20
NEGATIVE_EXAMPLES = 10
KNOWN_ID_EXAMPLES = 3  # per known id, per operation with a path parameter
# Time budget per backend and role: a run needs 20-45 s, so the module (4 runs, 2 servers) stays
# under 5 minutes even on a loaded machine. Each operation may use 3x its share of what is left
# (at least 8 s); over it, the operation skips its remaining runs (reported, and warned about),
# so a slow machine fuzzes every operation a little rather than the first ones fully.
BUDGET_SECONDS = 55
# The fuzzing identities: the fuzzer must not lock them out, deactivate them or strip their roles.
PROTECTED_USERS = {"admin", "dept.mz", "street.rg", "committee.rg01"}
ROLES = {"admin": "admin", "department": "dept.mz"}
# Administrators only: as a department officer, a few examples show the refusal (403)
ADMIN_ONLY = {
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("patch", "/api/v1/users/{username}"),
    ("post", "/api/v1/org-units"),
    ("patch", "/api/v1/org-units/{code}"),
    ("post", "/api/v1/catalog/items"),
    ("patch", "/api/v1/catalog/items/{code}"),
    ("post", "/api/v1/process-definitions"),
    ("get", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks"),
    ("delete", "/api/v1/webhooks/{webhook_id}"),
    ("post", "/api/v1/webhooks/{webhook_id}/test"),
    ("get", "/api/v1/outbox"),
    ("post", "/api/v1/outbox/{notification_id}/retry"),
    ("put", "/api/v1/evaluation-weights/{category}"),
}
REFUSAL_EXAMPLES = 5


@dataclass
class World:
    """A live server on its own database, with handoffs in several states."""

    server: LiveServer
    tokens: dict[str, str]
    ids: dict[str, list] = field(default_factory=dict)
    log: Path | None = None

    def server_errors(self) -> list[str]:
        """The exception line of each traceback the server logged (what a 500 was)."""
        if self.log is None or not self.log.exists():
            return []
        text = self.log.read_text(errors="replace")
        return re.findall(r"^[\w.]+(?:Error|Exception)\b.*$", text, flags=re.MULTILINE)


def _build_handoffs(base: str) -> dict[str, list]:
    dept, rg = Client(base, "dept.mz"), Client(base, "street.rg")
    committee, finance = Client(base, "committee.rg01"), Client(base, "finance")
    # 1. a whole handoff, completed: agreement, signatures, ledger, history
    done = new_request(dept, ["TB-RG-01"], amount="1200.50")
    review = only(rg.inbox(), "street_review", done["id"])
    assert rg.complete(review["id"], {"decision": "approve"}).status_code == 200
    for client, key in (
        (committee, "sign_committee"),
        (dept, "sign_department"),
        (rg, "sign_street"),
    ):
        task = only(client.inbox(), key, done["id"])
        assert client.complete(task["id"], {"decision": "sign"}).status_code == 200
    funding = only(finance.inbox(), "funding", done["id"])
    money = {"amount": "1200.50", "voucher_no": "PZ-F-1", "transferred_on": today()}
    assert finance.complete(funding["id"], money).status_code == 200
    work = only(committee.inbox(), "work", done["id"])
    report = {"report": "完成", "completed_on": today()}
    assert committee.complete(work["id"], report).status_code == 200
    acceptance = only(dept.inbox(), "acceptance", done["id"])
    assert dept.complete(acceptance["id"], {"decision": "accept"}).status_code == 200
    evaluation = only(rg.inbox(), "evaluation", done["id"])
    assert rg.complete(evaluation["id"], {"score": 90}).status_code == 200
    # 2. open reviews in two communities, one claimed
    running = new_request(dept, ["TB-RG-02", "TB-RG-03"])
    reviews = [t for t in rg.inbox() if t["request_id"] == running["id"]]
    rg.post(f"/tasks/{reviews[0]['id']}/claim")
    # 3. an unlisted item (no catalog code: nulls in the answers), 4. a blocked one, 5. cancelled
    unlisted = dept.post(
        "/requests",
        {
            "title": "清单外事项",
            "community_codes": ["TB-RG-04"],
            "amount": "300.00",
            "due_date": "2099-12-31",
        },
    )
    assert unlisted.status_code == 201, unlisted.text
    negative = dept.get("/catalog/items", params={"category": "negative"}).json()["items"][0]
    blocked = new_request(dept, ["TB-RG-05"], item=negative["code"])
    cancelled = new_request(dept, ["TB-RG-06"])
    dept.post(f"/instances/{cancelled['instances'][0]['id']}/cancel", {"reason": "测试"})
    requests_ = [done, running, unlisted.json(), blocked, cancelled]
    instances = [i["id"] for r in requests_ for i in r["instances"]]
    tasks = sorted({t["id"] for c in (dept, rg, committee, finance) for t in c.inbox()})
    instance = dept.get(f"/instances/{done['instances'][0]['id']}").json()
    tasks += [e["task_id"] for e in instance["history"] if e["task_id"]][:3]
    return {
        "request_id": [r["id"] for r in requests_],
        "instance_id": instances,
        "task_id": sorted(set(tasks)),
        "code": ["TB-XL-05", "A01", "TB-HM"],
        "username": ["committee.hm01", "street.hm"],
        "category": ["assisted"],
    }


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, database_url_factory, tmp_path_factory):
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/fuzz.sqlite3"
    else:
        database_url_factory("postgresql")  # skips or fails when there is no PostgreSQL
        url = _fresh_postgres_database(_postgres_url())
    prepare_database(url)
    log = Path(tmp_path_factory.mktemp("fuzz-log")) / "gunicorn.log"
    # the server's tracebacks go to a file (a pipe nobody reads could fill up and stall it)
    capture = {"GUNICORN_CMD_ARGS": f"--error-logfile {log} --capture-output"}
    # the fuzzer guesses passwords from one address by design; throttling has its own tests
    capture |= {"LOGIN_FREE_PER_ADDRESS": "1000000", "LOGIN_FREE_PER_NAME": "1000000"}
    server = LiveServer(url, workers=2, extra_env=capture).start()
    try:
        ids = _build_handoffs(server.base)
        # sign in before fuzzing: fuzzed sign-ins may lock accounts out (5 failures)
        tokens = {role: Client(server.base, name).token for role, name in ROLES.items()}
        tokens["street"] = Client(server.base, "street.rg").token
        tokens["committee"] = Client(server.base, "committee.rg01").token
        yield World(server, tokens, ids, log)
    finally:
        server.stop()


@dataclass
class Figures:
    operations: int = 0
    requests: int = 0
    by_status: Counter = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # unique key -> report
    out_of_budget: list[str] = field(default_factory=list)


def _settings(n: int):
    return settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def _fuzz(world: World, role: str) -> Figures:
    base = world.server.base
    schema = schemathesis.openapi.from_url(base + "/api/v1/openapi.json")
    session = requests.Session()
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    figures = Figures()
    started = time.monotonic()

    def headers_for(case) -> dict[str, str]:
        if _mutates_authorization(case):
            return {}  # a negative case about the credentials: send them as generated
        if case.operation.path.endswith("/auth/revoke"):
            # revoking must not cut the fuzzer's own token: a throwaway token per example
            return {"Authorization": f"Bearer {Client(base, 'dept.wj').token}"}
        return headers

    def call(case) -> None:
        username = (case.path_parameters or {}).get("username")
        assume(username not in PROTECTED_USERS)
        sent = headers_for(case)
        response = case.call(base_url=base, headers=sent, session=session, timeout=60)
        figures.requests += 1
        figures.by_status[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=sent)
        except FailureGroup as group:
            for failure in group.exceptions:
                _record(figures, case, response, failure)
        except Failure as failure:
            _record(figures, case, response, failure)

    operations = [result.ok() for result in schema.get_all_operations()]
    for index, operation in enumerate(operations):
        figures.operations += 1
        label = f"{operation.method.upper()} {operation.path}"
        now = time.monotonic()
        left = started + BUDGET_SECONDS - now
        allowance = max(8.0, 3 * left / (len(operations) - index))  # sign-ins hash slowly
        deadline = min(started + BUDGET_SECONDS, now + allowance)
        refused = role != "admin" and (operation.method.lower(), operation.path) in ADMIN_ONLY
        positive = REFUSAL_EXAMPLES if refused else POSITIVE_EXAMPLES
        negative = REFUSAL_EXAMPLES if refused else NEGATIVE_EXAMPLES
        runs = [(GenerationMode.POSITIVE, {}, positive), (GenerationMode.NEGATIVE, {}, negative)]
        names = [] if refused else [p.name for p in operation.path_parameters]
        for name in names:
            for value in world.ids.get(name, []):
                runs.append((GenerationMode.POSITIVE, {name: value}, KNOWN_ID_EXAMPLES))
        for number, (mode, path_parameters, n) in enumerate(runs):
            if number and time.monotonic() > deadline:
                figures.out_of_budget.append(f"{label}: {len(runs) - number} of {len(runs)} runs")
                break
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
            _settings(n)(given(strategy)(call))()
    return figures


def _mutates_authorization(case) -> bool:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    mutations = getattr(meta.phase.data, "mutations", ()) or ()
    return any((m.parameter or "").lower() == "authorization" for m in mutations)


def _record(figures: Figures, case, response, failure: Failure) -> None:
    key = f"{case.operation.method.upper()} {case.operation.path} · {failure.title}"
    if key in figures.failures:
        return
    body = response.content[:300].decode("utf-8", "replace")
    figures.failures[key] = (
        f"{key}\n  {failure.message[:600]}\n  -> {response.status_code} {body}\n"
        f"  reproduce: {case.as_curl_command()}"
    )


@pytest.mark.parametrize("role", sorted(ROLES))
def test_fuzz_api_from_its_openapi_description(world, role, request):
    backend = request.node.callspec.params["world"]
    started = time.monotonic()
    figures = _fuzz(world, role)
    errors = world.server_errors()
    elapsed = time.monotonic() - started
    report = {
        "backend": backend,
        "role": role,
        "operations": figures.operations,
        "requests": figures.requests,
        "by_status": dict(sorted(figures.by_status.items())),
        "failures": len(figures.failures),
        "server_tracebacks": len(errors),
        "seconds": round(elapsed, 1),
        "out_of_budget": figures.out_of_budget,
    }
    print(json.dumps(report, ensure_ascii=False))
    out = ROOT / "var" / f"fuzz-report-{backend}-{role}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({**report, "details": list(figures.failures.values())}, indent=1))
    assert figures.operations >= 26
    if figures.out_of_budget:
        warnings.warn(
            f"fuzzing cut short by its time budget: {figures.out_of_budget}", stacklevel=1
        )
    assert not figures.failures, "\n\n".join([*figures.failures.values(), *errors[-20:]])
    # the fuzzer's identity still works: nothing it sent locked, disabled or demoted it
    me = requests.get(
        world.server.base + "/api/v1/me",
        headers={"Authorization": f"Bearer {world.tokens[role]}"},
        timeout=10,
    )
    assert me.status_code == 200


# --- explicit bad input: clear 4xx refusals, never a 500 ------------------------------------

MINI = (ROOT / "tests" / "fixtures" / "mini.bpmn").read_text(encoding="utf-8")
CONDITION = "review.decision == 'reject'"
BOMB_DTD = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
)


def _with_prolog(prolog: str, entity: str) -> bytes:
    body = MINI.split("?>", 1)[1].replace(
        'name="Mini review" isExecutable', f'name="{entity}" isExecutable'
    )
    return (prolog + body).encode()


BAD_BPMN = {
    "not_xml": (b"this is not XML at all", "invalid_bpmn", "not well-formed XML"),
    "not_bpmn": (b"<data><x/></data>", "invalid_bpmn", "not a BPMN 2.0 file"),
    "user_task_outside_lanes": (
        MINI.replace("<bpmn:flowNodeRef>work</bpmn:flowNodeRef>", "").encode(),
        "invalid_bpmn",
        "has no role",
    ),
    "import_in_condition": (
        MINI.replace(CONDITION, "__import__('os')").encode(),
        "invalid_bpmn",
        "is refused",
    ),
    "escape_in_condition": (
        MINI.replace(CONDITION, "().__class__.__bases__[0].__subclasses__()").encode(),
        "invalid_bpmn",
        "is refused",
    ),
    "hostile_timer": (
        MINI.replace("add_working_days(now(), 2)", "open('/etc/passwd').read()").encode(),
        "invalid_bpmn",
        "is refused",
    ),
    "entity_bomb": (_with_prolog(BOMB_DTD, "&lol4;"), "invalid_bpmn", "DOCTYPE"),
    "external_entity": (
        _with_prolog(
            '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            "&xxe;",
        ),
        "invalid_bpmn",
        "",
    ),
    "not_utf8": (
        MINI.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
        .replace("审核", "Prüfung")
        .encode("latin-1", "replace"),
        "invalid",
        "UTF-8",
    ),
    "empty": (b"", "invalid", "no BPMN"),
}


def _http(world: World, role: str = "department") -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {world.tokens[role]}"
    return session


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "fields", "problems", "request_id"}
    assert error["message"] and error["request_id"] == response.headers["X-Request-Id"]
    for problem in error.get("problems", ()):  # invalid_bpmn: each problem on its element
        assert set(problem) == {"element", "message", "message_en"} and problem["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


@pytest.mark.parametrize("name", sorted(BAD_BPMN))
def test_bad_bpmn_uploads_are_refused(world, name):
    body, code, words = BAD_BPMN[name]
    http = _http(world, "admin")
    url = world.server.base + "/api/v1/process-definitions"
    before = http.get(url, params={"per_page": 200}).json()["total"]
    raw = http.post(url, data=body, headers={"Content-Type": "application/xml"}, timeout=60)
    assert words in _error(raw, 422, code)["message"]
    upload = http.post(url, files={"file": ("upload.bpmn", body)}, timeout=60)
    _error(upload, 422, code)
    assert http.get(url, params={"per_page": 200}).json()["total"] == before


def test_a_good_bpmn_deploys_and_non_admins_may_not(world):
    url = world.server.base + "/api/v1/process-definitions"
    xml = MINI.replace('id="mini"', 'id="mini_fuzz"').replace('"mini"', '"mini_fuzz"')
    refused = _http(world).post(url, data=xml.encode(), headers={"Content-Type": "application/xml"})
    _error(refused, 403, "forbidden")
    http = _http(world, "admin")
    first = http.post(url, files={"file": ("mini.bpmn", xml.encode())})
    assert first.status_code in (200, 201), first.text
    again = http.post(url, files={"file": ("mini.bpmn", xml.encode())})
    assert again.status_code == 200 and again.json()["created"] is False


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"title": "x",', b"[1, 2", b'{"title": "\\ud800', b"\xff\xfe{}"],
    ids=["garbage", "truncated", "unclosed", "bad_escape", "not_utf8"],
)
def test_malformed_json_is_a_400(world, body):
    http = _http(world)
    for path in ("/requests", "/auth/token", "/tasks/1/complete"):
        r = http.post(
            world.server.base + "/api/v1" + path,
            data=body,
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code in (400, 404), (path, r.status_code, r.text)
        if r.status_code == 400:
            _error(r, 400, "bad_request")
        else:  # the task does not exist: it may say so before reading the body
            _error(r, 404)


def test_a_3mb_body_is_a_413_json_error(world):
    http = _http(world)
    big = "甲" * (1024 * 1024)  # 3 MB of UTF-8
    payload = {"title": "x", "community_codes": ["TB-RG-07"], "amount": "1.00", "description": big}
    for path in ("/requests", "/auth/token", "/tasks/1/complete"):
        r = http.post(world.server.base + "/api/v1" + path, json=payload, timeout=60)
        assert "2048 KiB" in _error(r, 413, "too_large")["message"]
    admin = _http(world, "admin")
    upload = admin.post(
        world.server.base + "/api/v1/process-definitions",
        files={"file": ("big.bpmn", b"<a>" + b"x" * (3 * 1024 * 1024) + b"</a>")},
        timeout=60,
    )
    _error(upload, 413, "too_large")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"title": 1, "community_codes": "TB-RG-07", "amount": 5000},
            {"title", "community_codes", "amount"},
        ),
        ({"title": ["x"], "community_codes": [1, None], "amount": None}, {"title", "amount"}),
        ({"title": "x", "community_codes": [], "amount": "1.00"}, {"community_codes"}),
        ({"title": "x", "community_codes": ["TB-RG-07"], "amount": "1.00", "hack": 1}, {"hack"}),
        (
            {"title": "x", "community_codes": ["TB-RG-07"], "amount": "1.00", "id": 1},
            {"id"},
        ),
        ({"title": "x", "community_codes": ["TB-RG-07"], "amount": "1e9"}, {"amount"}),
        ({"title": "x", "community_codes": ["TB-RG-07"], "amount": "-5.00"}, {"amount"}),
        (
            {"title": "x", "community_codes": ["TB-RG-07"], "amount": "99999999999999.99"},
            {"amount"},
        ),
        (
            {
                "title": "x",
                "community_codes": ["TB-RG-07"],
                "amount": "1",
                "due_date": "2020-02-30",
            },
            {"due_date"},
        ),
        ({"title": "a\u0000b", "community_codes": ["TB-RG-07"], "amount": "1.00"}, {"title"}),
        ({"title": "\ud800", "community_codes": ["TB-RG-07"], "amount": "1.00"}, {"title"}),
        ({"title": "a\x0bb\x1b[31m", "community_codes": ["TB-RG-07"], "amount": "1"}, {"title"}),
        ([1, 2, 3], {"_schema"}),
        ("just a string", {"_schema"}),
    ],
    ids=[
        "wrong_types",
        "wrong_types_2",
        "no_community",
        "unknown_field",
        "unknown_id_field",
        "exponent_amount",
        "negative_amount",
        "huge_amount",
        "impossible_date",
        "nul_character",
        "lone_surrogate",
        "control_characters",
        "array_body",
        "string_body",
    ],
)
def test_bad_request_bodies_are_a_422_naming_the_fields(world, body, fields):
    r = _http(world).post(world.server.base + "/api/v1/requests", json=body)
    error = _error(r, 422)
    assert fields <= set(error.get("fields", {})), error


def test_task_form_data_of_the_wrong_shape_is_a_422(world):
    api = world.server.base + "/api/v1"
    created = _http(world).post(
        api + "/requests",
        # no catalog item: the fuzzer may have changed or retired any of them
        json={
            "title": "表单测试",
            "community_codes": ["TB-RG-06"],
            "amount": "9.00",
            "due_date": "2099-12-31",
        },
    )
    assert created.status_code == 201, created.text
    rg = _http(world, "street")
    inbox = rg.get(api + "/tasks", params={"request_id": created.json()["id"]}).json()["items"]
    assert [t["key"] for t in inbox] == ["street_review"], created.text
    url = f"{api}/tasks/{inbox[0]['id']}/complete"
    for data in (
        {"decision": 1},
        {"decision": ["approve"]},
        {"decision": "approve", "hack": "x"},
        {"decision": {"$ne": None}},
        {"decision": "approve" * 1000},
    ):
        _error(rg.post(url, json={"data": data}), 422)
    _error(rg.post(url, json={"data": "approve"}), 422)
    _error(rg.post(url, json={"decision": "approve"}), 422)  # not wrapped in "data"
    deep: object = "x"
    for _ in range(100):
        deep = [deep]
    _error(rg.post(url, json={"data": {"comment": deep}}), 422)
    nested = "[" * 100_000 + "]" * 100_000  # deeper than the JSON parser's stack
    body = '{"data": {"comment": ' + nested + "}}"
    r = rg.post(url, data=body, headers={"Content-Type": "application/json"})
    _error(r, 400, "bad_request")
    assert rg.get(f"{api}/tasks/{inbox[0]['id']}").json()["status"] == "open"


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/tasks/99999999999999999999", None, 404),
        ("/instances/2147483648", None, 404),
        ("/requests/99999999999999999999", None, 404),
        ("/instances/-1/diagram.svg", None, 404),
        ("/tasks", {"request_id": "99999999999999999999"}, 422),
        ("/tasks", {"due_before": "0001-01-01T00:00:00+14:00"}, 422),
        ("/tasks", {"due_after": "9999-12-31T23:59:59-12:00"}, 422),
        ("/tasks", {"per_page": "1000000"}, 422),
        ("/tasks", {"page": "-1"}, 422),
        ("/tasks", {"sort": "password"}, 422),
        ("/tasks", {"stauts": "open"}, 422),  # a misspelt filter is not silently ignored
        ("/catalog/items", {"q": "a\u0000b"}, 400),
        ("/org-units", {"parent": "\u0000"}, 400),
        ("/me", {"x": "\u0000"}, 400),
        ("/requests", {"q": "%' OR 1=1 --"}, 200),
    ],
)
def test_bad_paths_and_query_strings_are_refused(world, path, params, status):
    r = _http(world).get(world.server.base + "/api/v1" + path, params=params)
    if status == 200:
        assert r.status_code == 200 and r.json()["total"] == 0, r.text
    else:
        _error(r, status)


def test_ids_beyond_32_bits_are_a_404_whatever_the_method(world):
    admin = _http(world, "admin")
    api = world.server.base + "/api/v1"
    # PUT shares its path with a GET: a number refused after matching would be a 405
    year = {"holidays": [{"name": "元旦", "start": "2031-01-01", "end": "2031-01-01"}]}
    _error(admin.put(api + "/calendar/years/177593076009917", json=year), 404)
    _error(admin.get(api + "/calendar/years/2147483648"), 404)
    _error(admin.post(api + "/tasks/2147483648/complete", json={"data": {}}), 404)
    _error(admin.post(api + "/process-definitions/99999999999/suspend"), 404)


def test_names_in_paths_that_cannot_exist_are_a_404(world):
    admin = _http(world, "admin")
    for path in ("/org-units/a%00b", "/users/%ED%A0%80", "/catalog/items/x%00"):
        _error(admin.patch(world.server.base + "/api/v1" + path, json={}), 404)


def test_unsupported_methods_are_a_json_405_with_allow(world):
    r = _http(world).delete(world.server.base + "/api/v1/tasks/1")
    _error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


def test_the_error_schema_is_documented(world):
    spec = requests.get(world.server.base + "/api/v1/openapi.json", timeout=10).json()
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["properties"]) == {"code", "message", "fields", "problems", "request_id"}
    assert set(body["required"]) == {"code", "message", "request_id"}
    complete = spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "413", "422"} <= set(complete)
    assert "default" not in complete
    me = spec["paths"]["/api/v1/me"]["get"]["responses"]
    assert set(me) == {"200", "400", "401"}
    claim = spec["paths"]["/api/v1/tasks/{task_id}/claim"]["post"]
    assert [p["name"] for p in claim["parameters"]] == ["Idempotency-Key"]
    token = spec["paths"]["/api/v1/auth/token"]["post"]
    assert {"401", "429"} <= set(token["responses"]) and "parameters" not in token
    ref = complete["409"]["$ref"].rsplit("/", 1)[-1]
    schema = spec["components"]["responses"][ref]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Error"}


# --- deployed processes that could hold a worker or grow without bound (issue 14.1-14.5) -----
# An admin deploys them; a department officer starts them (no start form: the data reaches the
# expressions as sent). Each refusal is a clear 4xx naming the element, within seconds, and the
# worker that answered it goes on serving.

TASK = '<bpmn:userTask id="go" name="继续" camunda:candidateGroups="department"/>'
BOUND_TIMERS = [
    ("timeDuration", "P100000000Y", "longer than 10 years"),
    ("timeCycle", "R/PT0S", "at least 1 minute"),
    ("timeCycle", "R100000/PT0S", "1 to 1000 times"),
    ("timeDuration", "garbage", "not a valid ISO 8601"),
    ("timeDuration", 5, "not an ISO 8601"),
    ("timeDuration", None, "not an ISO 8601"),
    ("timeDuration", [1], "not an ISO 8601"),
    ("timeDate", "0001-01-01T00:00:00+14:00", "1970–2200"),
]


_deployed: set[tuple[str, str]] = set()  # (server, process key) deployed by the tests below


def _deploy_process(world: World, xml: str) -> dict:
    r = _http(world, "admin").post(
        world.server.base + "/api/v1/process-definitions",
        data=xml.encode(),
        headers={"Content-Type": "application/xml"},
        timeout=60,
    )
    assert r.status_code == 201, r.text[:1000]
    return r.json()


def _start_process(world: World, key: str, data: dict) -> tuple[requests.Response, float]:
    started = time.monotonic()
    r = _http(world).post(
        f"{world.server.base}/api/v1/process-definitions/{key}/start",
        json={"data": data},
        timeout=60,
    )
    return r, time.monotonic() - started


def _still_serving(world: World) -> None:
    assert _http(world).get(world.server.base + "/api/v1/me", timeout=10).status_code == 200


@pytest.mark.parametrize(("kind", "value", "words"), BOUND_TIMERS)
def test_computed_timer_values_are_a_409_naming_the_timer(world, kind, value, words):
    key = f"bounds_timer_{kind.lower()}"
    if (world.server.base, key) not in _deployed:
        _deploy_process(world, chain(timer("wait", kind, "when"), TASK, key=key))
        _deployed.add((world.server.base, key))
    r, seconds = _start_process(world, key, {"when": value})
    error = _error(r, 409, "engine_error")
    assert error["fields"] == {"element": "wait"} and words in error["message"], error
    assert seconds < 5
    _still_serving(world)


@pytest.mark.parametrize(
    ("kind", "text"),
    # "garbage" is a name, so an expression: only the run can tell (the 409 above)
    [(kind, v) for kind, v, _ in BOUND_TIMERS if isinstance(v, str) and v != "garbage"]
    + [("timeDuration", "5"), ("timeDuration", "None"), ("timeDuration", "[1]")],
)
def test_literal_timers_that_cannot_run_are_refused_at_deploy(world, kind, text):
    r = _http(world, "admin").post(
        world.server.base + "/api/v1/process-definitions",
        data=chain(timer("wait", kind, text), TASK, key="bounds_literal").encode(),
        headers={"Content-Type": "application/xml"},
    )
    error = _error(r, 422, "invalid_bpmn")
    assert [p["element"] for p in error["problems"]] == ["wait"], error


def test_loop_cardinality_is_limited_at_deploy_and_at_run_time(world):
    sub = (
        '<bpmn:startEvent id="s1"/>' + TASK + '<bpmn:endEvent id="e1"/>'
        '<bpmn:sequenceFlow id="x1" sourceRef="s1" targetRef="go"/>'
        '<bpmn:sequenceFlow id="x2" sourceRef="go" targetRef="e1"/>'
    )

    def per_item(loop: str, key: str) -> str:
        return chain(f'<bpmn:subProcess id="per_item">{loop}{sub}</bpmn:subProcess>', key=key)

    literal = _http(world, "admin").post(
        world.server.base + "/api/v1/process-definitions",
        data=per_item(cardinality("100000"), "bounds_mi_literal").encode(),
        headers={"Content-Type": "application/xml"},
    )
    assert "above the maximum of 500" in str(_error(literal, 422, "invalid_bpmn")["problems"])

    _deploy_process(world, per_item(cardinality("n"), "bounds_mi"))
    r, seconds = _start_process(world, "bounds_mi", {"n": 100_000})
    error = _error(r, 409, "engine_error")
    assert error["fields"] == {"element": "per_item"} and "between 0 and 500" in error["message"]
    assert seconds < 5
    r, _ = _start_process(world, "bounds_mi", {"n": 2})
    assert r.status_code == 201 and len(r.json()["open_tasks"]) == 2, r.text

    collection = (
        '<bpmn:multiInstanceLoopCharacteristics camunda:collection="items"'
        ' camunda:elementVariable="item"/>'
    )
    _deploy_process(world, per_item(collection, "bounds_mi_collection"))
    r, seconds = _start_process(world, "bounds_mi_collection", {"items": list(range(5000))})
    assert "5000 items" in _error(r, 409, "engine_error")["message"] and seconds < 5
    _still_serving(world)


@pytest.mark.parametrize(
    ("name", "expression"),
    [
        ("compare", "[[1] * 100000] * 100000 == [[1] * 100000] * 100000"),
        ("hash", "len({((1,) * 100000,) * 100000})"),
        ("render", "str([[0] * 100000] * 100000)"),
    ],
)
def test_a_huge_value_is_refused_before_it_is_made(world, name, expression):
    key = f"bounds_value_{name}"
    _deploy_process(world, chain(script("calc", f"x = {expression}"), TASK, key=key))
    r, seconds = _start_process(world, key, {})
    error = _error(r, 409, "engine_error")
    assert error["fields"] == {"element": "calc"} and "too large" in error["message"], error
    assert seconds < 2  # the operation took 6 to 31 s before
    _still_serving(world)


def test_an_instance_cannot_grow_past_its_state_cap(world):
    grow = "a = 'x' * 100000\n" + "\n".join(f"v{i} = a" for i in range(10))  # 1.1 MB
    _deploy_process(world, chain(script("grow", grow), TASK, key="bounds_state"))
    r, _ = _start_process(world, "bounds_state", {})
    error = _error(r, 409, "limit_exceeded")
    assert "1000000" in error["message"] and "MAX_INSTANCE_STATE_BYTES" in error["message"]
    listed = _http(world).get(
        world.server.base + "/api/v1/instances", params={"process": "bounds_state"}
    )
    assert listed.json()["total"] == 0  # nothing stored


def test_an_overrunning_step_is_undone_and_the_instance_marked_error(world):
    # 300 scripts of ~0.1 s each: a minute of pure Python, cut at the step limit (5 s)
    slow = script(
        "crunch",
        "a = [[1] * 990] * 1000\nb = [[1] * 990] * 1000\nsame = a == b",
        cardinality("300"),
    )
    _deploy_process(world, chain(TASK, slow, TASK.replace('"go"', '"after"'), key="bounds_slow"))
    r, _ = _start_process(world, "bounds_slow", {})
    assert r.status_code == 201, r.text
    instance = r.json()
    (go,) = instance["open_tasks"]
    http = _http(world)
    started = time.monotonic()
    r = http.post(f"{world.server.base}/api/v1/tasks/{go['id']}/complete", json={"data": {}})
    error = _error(r, 409, "step_timeout")
    assert error["fields"] == {"element": "crunch"} and "5 seconds" in error["message"]
    assert time.monotonic() - started < 30  # the worker was not killed by gunicorn (60 s)
    body = http.get(f"{world.server.base}/api/v1/instances/{instance['id']}").json()
    assert body["state"] == "error" and "5 seconds" in body["error"], body
    assert body["open_tasks"] == []
    assert http.get(f"{world.server.base}/api/v1/tasks/{go['id']}").json()["status"] == "withdrawn"
    _still_serving(world)


# --- every field at its limit, extreme dates and numbers, unseen characters (issue 14) ------
#
# Derived from the OpenAPI description: every string field of every JSON body at its maxLength
# (answered, never a 500) and one past it (a 422 naming the field); every field of every body,
# every query parameter and every BPMN form field (task and start forms) with NUL, control and
# zero-width characters, extreme dates and numbers no column holds; the same bodies posted as
# multipart forms; the multipart uploads with hostile file names and parts. Nothing may be a
# 500; NUL is refused everywhere; one-line texts refuse control and invisible characters.

NUL, CONTROL, ZERO_WIDTH = "a\u0000b", "a\u001b[31mb\u0007", "\u200b\u200c\ufeff"
UNSEEN = {"nul": NUL, "control": CONTROL, "zero_width": ZERO_WIDTH, "bidi": "a\u202eb"}
DATES = ["0001-01-01", "9999-12-31", "0000-00-00", "99999-01-01"]
DATE_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01", "9999-12-31"]
NUMBERS = {  # raw JSON: out of range (400) or of the wrong type (422), never a 500
    "huge": "9" * 100_000,
    "2**64": str(2**64),
    "1e309": "1e309",
    "nan": "NaN",
    "-infinity": "-Infinity",
    "-0": "-0",
    "-0.0": "-0.0",
}
# (3,000 digits: a query string longer than gunicorn's 4 KB request line is its own 414)
NUMBER_STRINGS = ["9" * 3000, "-0", "1e309", "NaN", "-1", "Infinity", "0x10"]
NAME_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"


def _spec(world: World) -> dict:
    if not hasattr(world, "_spec"):
        world._spec = requests.get(world.server.base + "/api/v1/openapi.json", timeout=30).json()
    return world._spec


def _resolve(spec: dict, schema: dict) -> dict:
    # a nullable nested object is documented as anyOf [its schema, null]: its schema
    refs = [s for s in schema.get("anyOf", ()) if "$ref" in s]
    if refs:
        schema = refs[0]
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _strings(spec: dict, schema: dict, body, prefix: tuple = ()):
    """(path, string schema) of every string field of `schema` the body has or may have, into
    nested objects and the first element of arrays the base body fills."""
    schema = _resolve(spec, schema)
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(spec, prop)
        path = (*prefix, name)
        if prop.get("type") == "string":
            yield path, prop
        elif prop.get("properties") and isinstance(body, dict) and isinstance(body.get(name), dict):
            yield from _strings(spec, prop, body[name], path)  # a nested object the body has
        elif prop.get("type") == "array" and isinstance(body, dict) and body.get(name):
            items = _resolve(spec, prop.get("items", {}))
            if items.get("type") == "string":
                yield (*path, 0), items
            elif items.get("type") == "object":
                yield from _strings(spec, items, body[name][0], (*path, 0))


def _with(body, path: tuple, value):
    """A deep copy of `body` with `value` at `path` (keys and list indexes)."""
    copied = json.loads(json.dumps(body))
    node = copied
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copied


def _fill(prop: dict, n: int) -> str:
    """n characters the field's pattern allows (CJK where anything goes: 3 bytes in UTF-8)."""
    pattern = prop.get("pattern")
    if pattern in (None, NAME_PATTERN):
        return "甲" * n
    return ("a" if "a-z" in pattern else "A") * n


def _unlisted(dept: Client, community: str) -> dict:
    """A request for an item not in the catalog (the fuzzing may have changed or retired any
    catalog item, A01 included): it waits for its street's review."""
    body = {"title": "限长", "community_codes": [community], "amount": "800.00"}
    created = dept.post("/requests", {**body, "due_date": "2099-12-31"})
    assert created.status_code == 201, created.text
    return created.json()


def _bodies(world: World) -> list[tuple[str, str, str, str, dict]]:
    """(method, path template, path, token role, a valid body) of every operation with a JSON
    body, on rows that exist (made here, so the fuzzing before cannot have used them up)."""
    dept, rg = Client(world.server.base, "dept.mz"), Client(world.server.base, "street.rg")
    made = _unlisted(dept, "TB-RG-01")
    instance = made["instances"][0]["id"]
    review = only(rg.inbox(), "street_review", made["id"])
    item = {"name": "限长事项", "category": "assisted", "legal_basis": "依据"}
    year = {
        "notice": "国办发明电〔2030〕1号",
        "holidays": [{"name": "元旦", "start": "2031-01-01", "end": "2031-01-01"}],
        "workdays": [{"name": "春节调休", "day": "2031-01-04"}],
    }
    user = {"display_name": "限长用户", "password": "p" * 12}
    request = {
        "title": "限长申请",
        "item_code": "A01",
        "description": "说明",
        "legal_basis": "依据",
        "community_codes": ["TB-RG-05"],
        "amount": "100.00",
        "due_date": "2099-12-31",
        "department_code": "TB-MZ",
        "terms": {
            "contact_name": "张科长",
            "contact_phone": "0436-1234567",
            "committee_contact": "王主任",
            "authority": "入户调查",
            "acceptance_standard": "全部入户",
            "permitted_use": "交通",
            "start_date": "2099-01-01",
        },
    }
    clauses = dict.fromkeys(("breach", "variation", "termination", "dispute", "other"), "条款")
    membership = [{"role": "committee", "org_unit": "TB-RG-04"}]
    role = {"key": "limit_role", "name_zh": "限长角色", "name_en": "Limits", "unit_kind": "street"}
    unit = {"code": "LIMITS", "name": "限长单位", "kind": "community", "parent": "TB-RG"}
    message = {"name": "catalog_objection", "correlation": {"item_code": "A01"}, "data": {}}
    revise = {"data": {"decision": "revise", "comment": "补充"}}
    task = f"/tasks/{review['id']}"
    # the completed handoff of TB-RG-01 (`_build_handoffs`): its committee may open its survey
    evaluated = world.ids["instance_id"][0]
    weights = {"street": 30, "department": 10, "residents": 60}
    return [
        ("post", "/auth/token", "/auth/token", "none", {"username": "nobody", "password": "x"}),
        ("post", "/users", "/users", "admin", {"username": "limits", **user}),
        (
            "patch",
            "/users/{username}",
            "/users/committee.hm02",
            "admin",
            {**user, "memberships": membership},
        ),
        ("post", "/org-units", "/org-units", "admin", unit),
        (
            "patch",
            "/org-units/{code}",
            "/org-units/TB-XL-04",
            "admin",
            {"name": "改名", "parent": "TB-XL"},
        ),
        ("post", "/catalog/items", "/catalog/items", "admin", {"code": "LIMITS", **item}),
        (
            "patch",
            "/catalog/items/{code}",
            "/catalog/items/A02",
            "admin",
            {**item, "terms": ["限长"]},
        ),
        ("post", "/requests", "/requests", "department", request),
        (
            "post",
            "/instances/{instance_id}/cancel",
            f"/instances/{instance}/cancel",
            "department",
            {"reason": "测试"},
        ),
        ("post", "/tasks/{task_id}/delegate", f"{task}/delegate", "street", {"username": "nobody"}),
        ("post", "/tasks/{task_id}/complete", f"{task}/complete", "street", revise),
        (
            "post",
            "/process-definitions/{key}/start",
            "/process-definitions/emergency/start",
            "street",
            {"data": {}, "business_key": "限长"},
        ),
        ("post", "/messages", "/messages", "admin", message),
        ("post", "/roles", "/roles", "admin", role),
        ("put", "/calendar/years/{year}", "/calendar/years/2031", "admin", year),
        (
            "post",
            "/requests/{request_id}/withdraw",
            f"/requests/{made['id']}/withdraw",
            "department",
            {"instance_ids": [instance], "reason": "测试"},
        ),
        ("patch", "/me/settings", "/me/settings", "street", {"email": "rg@example.org"}),
        (
            "put",
            "/agreement-templates/{category}",
            "/agreement-templates/unlisted",
            "admin",
            {"clauses": clauses},
        ),
        (
            "post",
            "/webhooks",
            "/webhooks",
            "admin",
            {"org_unit": "TB-RG", "url": "https://example.org/hook", "format": "generic"},
        ),
        (
            "post",
            "/instances/{instance_id}/resident-survey",
            f"/instances/{evaluated}/resident-survey",
            "committee",
            {"days": 7, "max_ratings": 50},
        ),
        ("put", "/evaluation-weights/{category}", "/evaluation-weights/assisted", "admin", weights),
    ]


def _send(world: World, method: str, path: str, role: str, **kw) -> requests.Response:
    headers = kw.pop("headers", {})
    if role != "none":
        headers["Authorization"] = f"Bearer {world.tokens[role]}"
    url = world.server.base + "/api/v1" + path
    return requests.request(method, url, headers=headers, timeout=60, **kw)


def _no_500(response, what) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    if response.status_code >= 400:
        _error(response, response.status_code)  # a JSON error body, as documented


def _operations(world: World):
    """`_bodies` with each operation's JSON body schema."""
    spec = _spec(world)
    for method, template, path, role, body in _bodies(world):
        operation = spec["paths"]["/api/v1" + template][method]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        yield method, template, path, role, body, _resolve(spec, schema)


def test_every_json_body_operation_is_fuzzed_here(world):
    """The operations below are every one whose OpenAPI description has a JSON body."""
    spec = _spec(world)
    documented = {
        (method, path.removeprefix("/api/v1"))
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict)  # not the path's own "parameters"
        and "application/json" in op.get("requestBody", {}).get("content", {})
    }
    assert documented == {(m, template) for m, template, *_ in _bodies(world)}


def test_every_string_field_at_its_limit_and_one_past_it(world):
    spec, checked = _spec(world), 0
    for method, template, path, role, body, schema in _operations(world):
        for where, prop in _strings(spec, schema, body):
            name = ".".join(str(p) for p in where)
            limit = prop.get("maxLength")
            if limit is None:
                # no limit of its own (a date, a code checked by its pattern): a long one is
                # refused or answered, never a 500
                long = _with(body, where, "甲" * 100_000)
                _no_500(_send(world, method, path, role, json=long), (template, name))
                continue
            over = _send(world, method, path, role, json=_with(body, where, _fill(prop, limit + 1)))
            assert name in _error(over, 422).get("fields", {}), (template, name, over.text[:300])
            at = _send(world, method, path, role, json=_with(body, where, _fill(prop, limit)))
            _no_500(at, (template, name, limit))
            checked += 1
    assert checked >= 35  # every limited text of every body


def test_unseen_characters_in_every_field_of_every_json_body(world):
    spec = _spec(world)
    for method, template, path, role, body, schema in _operations(world):
        for where, prop in _strings(spec, schema, body):
            name = ".".join(str(p) for p in where)
            for kind, value in UNSEEN.items():
                r = _send(world, method, path, role, json=_with(body, where, value))
                _no_500(r, (template, name, kind))
                if kind == "nul" or prop.get("pattern") == NAME_PATTERN:
                    # NUL nowhere; a one-line text (title, name) no control or unseen characters
                    assert name in _error(r, 422).get("fields", {}), (template, name, kind)


def test_extreme_numbers_in_every_field_of_every_json_body(world):
    for method, template, path, role, body, schema in _operations(world):
        for name in schema["properties"]:
            for kind, number in NUMBERS.items():
                raw = json.dumps({**body, name: "NUMBER"}).replace('"NUMBER"', number)
                headers = {"Content-Type": "application/json"}
                r = _send(world, method, path, role, data=raw.encode(), headers=headers)
                _no_500(r, (template, name, kind))
                if not kind.startswith("-0"):  # no column or engine value holds it
                    _error(r, 400, "bad_request")


def test_extreme_dates_in_every_date_field_of_every_json_body(world):
    spec = _spec(world)
    for method, template, path, role, body, schema in _operations(world):
        for where, _prop in _strings(spec, schema, body):
            if where[-1] in ("due_date", "start", "end", "day", "start_date"):
                for value in DATES:
                    r = _send(world, method, path, role, json=_with(body, where, value))
                    _no_500(r, (template, where, value))


def test_every_query_parameter_with_extreme_and_unseen_values(world):
    spec = _spec(world)
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method != "get":
                continue
            concrete = re.sub(r"\{[a-z_]+\}", "1", path.removeprefix("/api/v1"))
            for parameter in op.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                kind = parameter["schema"].get("format") or parameter["schema"].get("type")
                values = {
                    "date": DATES,
                    "date-time": DATE_TIMES,
                    "integer": NUMBER_STRINGS,
                    "boolean": ["-0", "NaN", "​"],
                }.get(kind, ["甲" * 300, *UNSEEN.values()])
                for value in values:
                    r = _send(world, "get", concrete, "admin", params={parameter["name"]: value})
                    _no_500(r, (path, parameter["name"], value[:20]))
                    if value == NUL:
                        assert r.status_code == 400, (path, parameter["name"])


def _form_bodies(world: World) -> list[tuple[str, str, list[dict], dict]]:
    """(path to post to, role, the BPMN form's fields, a valid data) of a task form and the
    start forms: every field of each gets the hostile values."""
    street = Client(world.server.base, "street.rg")
    dept = Client(world.server.base, "dept.mz")
    made = _unlisted(dept, "TB-RG-02")
    review = only(street.inbox(), "street_review", made["id"])
    form = street.get(f"/tasks/{review['id']}").json()["form"]
    out = [(f"/tasks/{review['id']}/complete", "street", form, {"decision": "revise"})]
    found = dept.get("/process-definitions", params={"per_page": 200}).json()["items"]
    starters = {"emergency": "street", "catalog_review": "department"}
    starters["handoff_termination"] = "department"
    for key, role in starters.items():
        definition = next(d for d in found if d["key"] == key and d["in_force"])
        start_form = dept.get(f"/process-definitions/{definition['id']}").json()["start_form"]
        out.append((f"/process-definitions/{key}/start", role, start_form, {}))
    return out


def test_every_field_of_every_bpmn_form_with_hostile_values(world):
    """Task and start forms are described by their BPMN (not the OpenAPI schema): each field
    gets NUL, control and zero-width characters, 100,000 characters, extreme dates and
    numbers."""
    for path, role, form, base in _form_bodies(world):
        for described in form:
            name, text_field = described["name"], described["type"] in ("string", "text")
            values = [*UNSEEN.values(), "甲" * 100_000, *DATES, *NUMBER_STRINGS]
            for value in values:
                r = _send(world, "post", path, role, json={"data": {**base, name: value}})
                _no_500(r, (path, name, value[:20]))
                if value == NUL or (text_field and value in (CONTROL, ZERO_WIDTH)):
                    assert r.status_code in (403, 422), (path, name, r.text[:300])
            for kind, number in NUMBERS.items():
                raw = json.dumps({"data": {**base, name: "NUMBER"}}).replace('"NUMBER"', number)
                headers = {"Content-Type": "application/json"}
                r = _send(world, "post", path, role, data=raw.encode(), headers=headers)
                _no_500(r, (path, name, kind))


def test_json_bodies_posted_as_multipart_forms(world):
    for method, template, path, role, body, _schema in _operations(world):
        flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        for value in (None, NUL, CONTROL, ZERO_WIDTH):
            fields = flat if value is None else {k: value for k in flat}
            files = {"file": ("x.txt", b"x", "text/plain")}
            r = _send(world, method, path, role, data=fields, files=files)
            _no_500(r, (template, "multipart", value))


def test_multipart_uploads_with_hostile_names_and_parts(world):
    street = Client(world.server.base, "street.rg")
    dept = Client(world.server.base, "dept.mz")
    made = _unlisted(dept, "TB-RG-03")
    review = only(street.inbox(), "street_review", made["id"])
    pdf = b"%PDF-1.4 test"
    names = [NUL + ".pdf", CONTROL + ".pdf", ZERO_WIDTH, ZERO_WIDTH + ".pdf", "甲" * 1000 + ".pdf"]
    names += ["../../etc/passwd", "a\\b\\c.pdf", "\u202egpj.pdf", ""]
    for name in names:
        for content_type in ("application/pdf", "x/" + "y" * 500, "application/pdf\u0000"):
            files = {"file": (name, pdf, content_type)}
            extra = {"note": NUL, "csrf_token": CONTROL}
            r = street.http.post(
                f"{street.base}/tasks/{review['id']}/attachments", files=files, data=extra
            )
            _no_500(r, ("attachment", name[:20], content_type[:20]))
            upload = _send(world, "post", "/process-definitions", "admin", files=files, data=extra)
            _no_500(upload, ("deploy", name[:20], content_type[:20]))
    listed = street.get(f"/instances/{review['instance_id']}/attachments").json()["items"]
    for attachment in listed:  # what was kept is a file name a person can see and a disk can hold
        assert attachment["filename"] and "\u0000" not in attachment["filename"]
        assert not re.search(r"[\x00-\x1f\x7f]", attachment["filename"])
        assert len(attachment["filename"]) <= 255
