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
PROTECTED_USERS = {"admin", "dept.mz", "street.rg"}
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
        (dept, "sign_department"),
        (rg, "sign_street"),
        (committee, "sign_committee"),
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
    server = LiveServer(url, workers=2, extra_env=capture).start()
    try:
        ids = _build_handoffs(server.base)
        # sign in before fuzzing: fuzzed sign-ins may lock accounts out (5 failures)
        tokens = {role: Client(server.base, name).token for role, name in ROLES.items()}
        tokens["street"] = Client(server.base, "street.rg").token
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
