"""The district processes in `bpmn/` (annual catalog review, emergency orders, termination of a
signed handoff) follow the engine's conventions.

Checked here, for `catalog_review.bpmn` (准入清单年度审核), `emergency.bpmn` (临时性紧急事项) and
`handoff_termination.bpmn` (终止委托):

- one executable process in a collaboration with one pool; who may start it
  (`camunda:candidateStarterGroups`); lanes with Chinese names whose role is a Camunda property;
  every user task carries `camunda:candidateGroups` equal to the role of its lane;
- the start form and the task forms (Camunda form data, a `label_en` property per field);
- outcomes (`end_<outcome>[__x]`), due dates (`*_overdue` non-interrupting boundary timers on
  `add_working_days(now(), N)` whose path ends at a plain end event), messages;
- gateway conditions, script tasks and timer expressions stay inside the safe Python subset
  (checked statically with `ast`, independent of the engine's evaluator);
- full diagram interchange, laid out without overlap: a shape for every flow node, lane and the
  pool, an edge with orthogonal waypoints for every sequence flow, nodes inside their lane,
  boundary events on their task's border, labels clear of nodes and of each other;
- SpiffWorkflow's CamundaParser builds the spec, and the spec runs every path to its outcome.

The run-through tests drive SpiffWorkflow directly with its own script engine (dict keys readable
as attributes, `now` / `add_working_days` as plain calendar-day stand-ins) and a shifted clock for
the timers, so they do not depend on the engine package being refactored. They are a check of the
models only: the service itself evaluates expressions with its restricted evaluator.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from tests.test_bpmn_files import FLOW_NODES, NS

BPMN_DIR = Path(__file__).resolve().parents[3] / "bpmn"
CAMUNDA = f"{{{NS['camunda']}}}"
ROLES = {"department", "street_office", "district_reviewer", "committee", "finance"}
OUTCOMES = {"approved", "rejected", "completed", "withdrawn", "refused", "terminated"}
FIELD_TYPES = {"string", "text", "enum", "long", "boolean", "date", "decimal"}
CONSTRAINTS = {"required", "min", "max", "maxlength"}
FUNCTIONS = {"len", "str", "int", "min", "max", "abs", "now", "today", "add_working_days", "to_fen"}
CJK = re.compile(r"[\u4e00-\u9fff]")
OVERDUE = re.compile(r"add_working_days\(now\(\), (\d+)\)")


@dataclass(frozen=True)
class Draft:
    file: str
    key: str
    name: str
    starters: str
    user_tasks: dict[str, tuple[str, list[str]]]  # task id -> (role, form field ids)
    start_form: dict[str, tuple[str, bool]]  # field id -> (type, required), in order
    enums: dict[str, dict[str, str]]  # "task.field" -> {value id: Chinese name}
    overdue: dict[str, int]  # boundary event id -> working days
    outcomes: set[str]
    messages: set[str]


CATALOG = Draft(
    file="catalog_review.bpmn",
    key="catalog_review",
    name="准入清单年度审核",
    starters="department",
    user_tasks={
        "access_review": ("district_reviewer", ["decision", "comment"]),
        "revise_proposal": ("department", ["reason", "comment"]),
        "objection_review": ("district_reviewer", ["response"]),
        "district_decision": ("district_reviewer", ["decision", "comment"]),
    },
    start_form={
        "change": ("enum", True),
        "item_code": ("string", True),
        "item_name": ("string", False),
        "category": ("enum", False),
        "legal_basis": ("text", False),
        "funding_standard": ("decimal", False),
        "responsible_department": ("string", False),
        "effective_from": ("date", True),
        "reason": ("text", True),
    },
    enums={
        "start.change": {"add": "新增", "change": "变更", "remove": "删除"},
        "start.category": {
            "assisted": "依法协助事项",
            "self_governance": "自治事项",
            "negative": "负面清单",
            "certificate_allowed": "可出具证明",
            "certificate_forbidden": "不得出具证明",
        },
        "access_review.decision": {"approve": "通过", "reject": "不通过", "revise": "退回修改"},
        "district_decision.decision": {"approve": "通过", "reject": "不通过"},
    },
    overdue={"access_review_overdue": 10},
    outcomes={"approved", "rejected"},
    messages={"catalog_objection"},
)
EMERGENCY = Draft(
    file="emergency.bpmn",
    key="emergency",
    name="临时性紧急事项",
    starters="street_office",
    user_tasks={
        "emergency_work": ("committee", ["report", "completed_on"]),
        "file_request": ("department", ["request_no", "comment"]),
        "confirm_filing": ("street_office", ["decision", "comment"]),
    },
    start_form={
        "community": ("string", True),
        "department": ("string", True),
        "title": ("string", True),
        "description": ("text", True),
        "kind": ("enum", False),
    },
    enums={
        "start.kind": {
            "flood": "防汛",
            "epidemic": "疫情防控",
            "fire": "消防安全",
            "other": "其他",
        },
        "confirm_filing.decision": {"confirm": "确认", "dispute": "有异议"},
    },
    overdue={"file_request_overdue": 5},
    outcomes={"completed"},
    messages=set(),
)
TERMINATION = Draft(
    file="handoff_termination.bpmn",
    key="handoff_termination",
    name="终止委托",
    starters="department",
    user_tasks={
        "street_confirm": ("street_office", ["decision", "comment"]),
        "committee_confirm": ("committee", ["decision", "comment"]),
        "refund_received": ("finance", ["refunded_on", "voucher_no"]),
    },
    start_form={
        "handoff_instance": ("long", True),
        "reason": ("text", True),
        "refund": ("decimal", True),
        "kept": ("decimal", True),
    },
    enums={
        "street_confirm.decision": {"agree": "同意", "disagree": "不同意"},
        "committee_confirm.decision": {"agree": "同意", "disagree": "不同意"},
    },
    overdue={},
    outcomes={"refused", "terminated"},
    messages=set(),
)
DRAFT_LIST = [CATALOG, EMERGENCY, TERMINATION]


def _local(elem: etree._Element) -> str:
    return etree.QName(elem).localname


def _load(draft: Draft) -> tuple[etree._Element, etree._Element]:
    root = etree.parse(str(BPMN_DIR / draft.file)).getroot()
    processes = root.findall("bpmn:process", NS)
    assert [p.get("isExecutable") for p in processes] == ["true"], "one executable process"
    return root, processes[0]


def _flow_nodes(process: etree._Element) -> list[etree._Element]:
    return [e for e in process.iter(f"{{{NS['bpmn']}}}*") if _local(e) in FLOW_NODES]


def _lane_roles(process: etree._Element) -> dict[str, str]:
    """flow node id -> role of the lane it lies in."""
    roles = {}
    for lane in process.iterfind(".//bpmn:lane", NS):
        (role,) = lane.xpath(
            "bpmn:extensionElements/camunda:properties/camunda:property[@name='role']/@value",
            namespaces=NS,
        )
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            roles[ref.text.strip()] = role
    return roles


def _form(elem: etree._Element) -> list[etree._Element]:
    return elem.findall("bpmn:extensionElements/camunda:formData/camunda:formField", NS)


def _bounds(elem: etree._Element) -> tuple[float, float, float, float]:
    b = elem.find("dc:Bounds", NS)
    assert b is not None, elem.get("bpmnElement")
    x, y, w, h = (float(b.get(k)) for k in ("x", "y", "width", "height"))
    assert w > 0 and h > 0, elem.get("bpmnElement")
    return x, y, w, h


def _inside(point: tuple[float, float], box: tuple[float, float, float, float], grow=0.0) -> bool:
    (px, py), (x, y, w, h) = point, box
    return x - grow <= px <= x + w + grow and y - grow <= py <= y + h + grow


def _border_distance(point: tuple[float, float], box: tuple[float, float, float, float]) -> float:
    (px, py), (x, y, w, h) = point, box
    return min(abs(px - x), abs(px - x - w), abs(py - y), abs(py - y - h))


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


@pytest.fixture(params=DRAFT_LIST, ids=[d.file for d in DRAFT_LIST])
def draft(request) -> Draft:
    return request.param


# --------------------------------------------------------------------------------------------
# Structure and conventions
# --------------------------------------------------------------------------------------------


def test_one_executable_process_in_one_pool(draft):
    root, process = _load(draft)
    assert _local(root) == "definitions"
    assert process.get("id") == draft.key and process.get("name") == draft.name
    assert process.get(f"{CAMUNDA}candidateStarterGroups") == draft.starters
    participants = root.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [draft.key]
    assert CJK.search(participants[0].get("name", ""))
    # form field, value and property ids are local to their form; BPMN and DI ids are global
    spaces = {NS["bpmn"], NS["bpmndi"]}
    ids = [e.get("id") for e in root.iter() if e.get("id") and etree.QName(e).namespace in spaces]
    assert len(ids) == len(set(ids)), "duplicate ids"


def test_lanes_are_chinese_and_carry_a_role(draft):
    _root, process = _load(draft)
    lanes = process.findall(".//bpmn:lane", NS)
    assert lanes
    roles = []
    for lane in lanes:
        name = lane.get("name", "")
        assert CJK.search(name) and not re.search("[A-Za-z_]", name), name
        (role,) = lane.xpath(
            "bpmn:extensionElements/camunda:properties/camunda:property[@name='role']/@value",
            namespaces=NS,
        )
        roles.append(role)
    assert set(roles) <= ROLES and len(roles) == len(set(roles)), roles
    in_lane = [ref.text.strip() for ref in process.iterfind(".//bpmn:flowNodeRef", NS)]
    node_ids = sorted(e.get("id") for e in _flow_nodes(process))
    assert sorted(in_lane) == node_ids, "every flow node lies in exactly one lane"


def test_every_flow_node_has_a_chinese_label(draft):
    _root, process = _load(draft)
    unlabelled = [e.get("id") for e in _flow_nodes(process) if not CJK.search(e.get("name", ""))]
    assert not unlabelled, f"no Chinese name: {unlabelled}"
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        if flow.find("bpmn:conditionExpression", NS) is not None:
            assert CJK.search(flow.get("name", "")), f"{flow.get('id')}: conditional, no label"


def test_user_tasks_are_routed_by_candidate_groups_and_lane(draft):
    _root, process = _load(draft)
    lane_role = _lane_roles(process)
    tasks = {t.get("id"): t for t in process.iterfind(".//bpmn:userTask", NS)}
    assert set(tasks) == set(draft.user_tasks)
    for key, (role, fields) in draft.user_tasks.items():
        task = tasks[key]
        assert task.get(f"{CAMUNDA}candidateGroups") == role, key
        assert lane_role[key] == role, f"{key} lies in the lane of {lane_role[key]}"
        assert task.get(f"{CAMUNDA}formKey") == key
        assert [f.get("id") for f in _form(task)] == fields, key


def test_forms_use_the_supported_types_constraints_and_english_labels(draft):
    _root, process = _load(draft)
    owners = [process.find("bpmn:startEvent", NS), *process.iterfind(".//bpmn:userTask", NS)]
    for owner in owners:
        prefix = "start" if _local(owner) == "startEvent" else owner.get("id")
        for field in _form(owner):
            where = f"{prefix}.{field.get('id')}"
            assert field.get("type") in FIELD_TYPES, where
            assert CJK.search(field.get("label", "")), f"{where}: no Chinese label"
            label_en = field.xpath(
                "camunda:properties/camunda:property[@id='label_en']/@value", namespaces=NS
            )
            assert len(label_en) == 1 and label_en[0].strip(), f"{where}: no label_en"
            for constraint in field.iterfind("camunda:validation/camunda:constraint", NS):
                assert constraint.get("name") in CONSTRAINTS, where
                if constraint.get("name") != "required":
                    assert int(constraint.get("config")) >= 0, where
            values = {v.get("id"): v.get("name") for v in field.iterfind("camunda:value", NS)}
            if field.get("type") == "enum":
                assert values and all(CJK.search(n or "") for n in values.values()), where
                if where in draft.enums:
                    assert values == draft.enums[where], where
            else:
                assert not values, where
    for where in draft.enums:
        task, name = where.split(".")
        assert task == "start" or task in draft.user_tasks, where


def _required(field: etree._Element) -> bool:
    names = [c.get("name") for c in field.iterfind("camunda:validation/camunda:constraint", NS)]
    return "required" in names


def test_start_form_asks_only_what_the_starter_chooses(draft):
    _root, process = _load(draft)
    (start,) = process.findall("bpmn:startEvent", NS)
    fields = _form(start)
    got = {f.get("id"): (f.get("type"), _required(f)) for f in fields}
    assert list(got) == list(draft.start_form)
    assert got == draft.start_form
    # the engine fills these from the starter's membership and the org tree
    filled = {"street", "access_office", "finance_office"}
    if draft.starters == "department":
        filled.add("department")
    assert not filled & set(got)


def test_maxlength_where_the_spec_sets_one():
    _root, process = _load(CATALOG)
    (start,) = process.findall("bpmn:startEvent", NS)
    limits = {
        f.get("id"): c.get("config")
        for f in _form(start)
        for c in f.iterfind("camunda:validation/camunda:constraint[@name='maxlength']", NS)
    }
    assert limits["item_code"] == "32" and limits["item_name"] == "200"
    _root, process = _load(EMERGENCY)
    (start,) = process.findall("bpmn:startEvent", NS)
    title = [f for f in _form(start) if f.get("id") == "title"][0]
    assert (
        title.find("camunda:validation/camunda:constraint[@name='maxlength']", NS).get("config")
        == "200"
    )


def test_outcomes_are_end_events_named_by_convention(draft):
    _root, process = _load(draft)
    outcomes = set()
    for end in process.iterfind("bpmn:endEvent", NS):
        end_id = end.get("id")
        if end_id.startswith("end_"):
            match = re.fullmatch(r"end_([a-z_]+?)(?:__[a-z0-9_]+)?", end_id)
            assert match and match.group(1) in OUTCOMES, end_id
            outcomes.add(match.group(1))
    assert outcomes == draft.outcomes


def test_due_dates_are_non_interrupting_working_day_timers_that_escalate(draft):
    _root, process = _load(draft)
    nodes = {e.get("id"): e for e in _flow_nodes(process)}
    flows = process.findall("bpmn:sequenceFlow", NS)
    boundary = {b.get("id"): b for b in process.iterfind("bpmn:boundaryEvent", NS)}
    overdue = {k: v for k, v in boundary.items() if k.endswith("_overdue")}
    assert set(overdue) == set(draft.overdue)
    for event_id, days in draft.overdue.items():
        event = overdue[event_id]
        host = nodes[event.get("attachedToRef")]
        assert _local(host) == "userTask" and event_id == f"{host.get('id')}_overdue"
        assert event.get("cancelActivity") == "false", f"{event_id} must not interrupt"
        time_date = event.find("bpmn:timerEventDefinition/bpmn:timeDate", NS)
        assert time_date is not None, f"{event_id}: timeDate"
        match = OVERDUE.fullmatch(time_date.text.strip())
        assert match and int(match.group(1)) == days, time_date.text
        targets = [nodes[f.get("targetRef")] for f in flows if f.get("sourceRef") == event_id]
        assert len(targets) == 1, event_id
        (end,) = targets
        assert _local(end) == "endEvent" and not end.get("id").startswith("end_"), end.get("id")
        assert len(end) == sum(1 for c in end if _local(c) in {"incoming", "documentation"})


def test_messages_are_declared_and_referenced(draft):
    root, process = _load(draft)
    messages = {m.get("id"): m.get("name") for m in root.findall("bpmn:message", NS)}
    assert set(messages.values()) == draft.messages
    refs = [e.get("messageRef") for e in process.iter(f"{{{NS['bpmn']}}}messageEventDefinition")]
    assert sorted(messages[r] for r in refs) == sorted(draft.messages)


def test_catalog_notice_waits_for_the_timer_or_an_objection():
    _root, process = _load(CATALOG)
    nodes = {e.get("id"): e for e in _flow_nodes(process)}
    flows = process.findall("bpmn:sequenceFlow", NS)

    def targets(source: str) -> set[str]:
        return {f.get("targetRef") for f in flows if f.get("sourceRef") == source}

    assert _local(nodes["notice"]) == "eventBasedGateway"
    assert targets("notice") == {"notice_over", "objection_filed"}
    timer = nodes["notice_over"].find("bpmn:timerEventDefinition/bpmn:timeDate", NS)
    assert timer.text.strip() == "notice_ends"
    assert targets("objection_filed") == {"objection_review"}
    # after answering the objection the instance waits at the same gateway again
    assert targets("objection_review") == {"to_notice"} and targets("to_notice") == {"notice"}
    script = nodes["open_notice"]
    assert script.get("scriptFormat") == "python"
    assert "notice_ends = add_working_days(now(), notice_days)" in script.findtext(
        "bpmn:script", namespaces=NS
    )


# --------------------------------------------------------------------------------------------
# Expressions: the safe subset
# --------------------------------------------------------------------------------------------

_SAFE_NODES = (
    ast.Module,
    ast.Expression,
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.If,
    ast.Pass,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
    ast.BinOp,
    ast.IfExp,
    ast.Call,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.operator,
    ast.boolop,
    ast.unaryop,
    ast.cmpop,
)


def _check_safe(source: str, mode: str, where: str) -> None:
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        assert isinstance(node, _SAFE_NODES), f"{where}: {type(node).__name__} not allowed"
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS, where
            assert not node.keywords, where
        if isinstance(node, ast.Attribute):
            assert not node.attr.startswith("_"), where
            assert isinstance(node.value, ast.Name | ast.Attribute), f"{where}: dotted names only"


def test_expressions_and_scripts_are_in_the_safe_subset(draft):
    _root, process = _load(draft)
    checked = 0
    for cond in process.iter(f"{{{NS['bpmn']}}}conditionExpression"):
        _check_safe(cond.text.strip(), "eval", f"condition {cond.getparent().get('id')}")
        checked += 1
    for timer in process.iter(f"{{{NS['bpmn']}}}timerEventDefinition"):
        for expr in timer:
            _check_safe(expr.text.strip(), "eval", f"timer {timer.getparent().get('id')}")
            checked += 1
    for script in process.iter(f"{{{NS['bpmn']}}}scriptTask"):
        assert script.get("scriptFormat") == "python", script.get("id")
        _check_safe(script.findtext("bpmn:script", namespaces=NS), "exec", script.get("id"))
        checked += 1
    assert checked


def test_gateway_conditions_read_the_decision_of_a_task_of_this_process(draft):
    _root, process = _load(draft)
    for cond in process.iter(f"{{{NS['bpmn']}}}conditionExpression"):
        for task, field, value in re.findall(r"(\w+)\.(\w+) == '(\w+)'", cond.text):
            assert task in draft.user_tasks and field in draft.user_tasks[task][1], cond.text
            assert value in draft.enums[f"{task}.{field}"], cond.text
    for gateway in process.iterfind("bpmn:exclusiveGateway", NS):
        outgoing = [
            f
            for f in process.iterfind("bpmn:sequenceFlow", NS)
            if f.get("sourceRef") == gateway.get("id")
        ]
        if len(outgoing) > 1:
            unconditioned = [
                f.get("id") for f in outgoing if f.find("bpmn:conditionExpression", NS) is None
            ]
            assert unconditioned == [gateway.get("default")], gateway.get("id")


# --------------------------------------------------------------------------------------------
# Diagram interchange and layout
# --------------------------------------------------------------------------------------------


def _diagram(root: etree._Element):
    planes = root.findall("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert len(planes) == 1
    shapes, edges = {}, {}
    for shape in planes[0].iterfind("bpmndi:BPMNShape", NS):
        assert shape.get("bpmnElement") not in shapes, f"two shapes for {shape.get('bpmnElement')}"
        shapes[shape.get("bpmnElement")] = shape
    for edge in planes[0].iterfind("bpmndi:BPMNEdge", NS):
        assert edge.get("bpmnElement") not in edges, f"two edges for {edge.get('bpmnElement')}"
        edges[edge.get("bpmnElement")] = edge
    return planes[0], shapes, edges


def test_every_element_has_diagram_interchange(draft):
    root, process = _load(draft)
    plane, shapes, edges = _diagram(root)
    (collaboration,) = root.findall("bpmn:collaboration", NS)
    assert plane.get("bpmnElement") == collaboration.get("id")
    elements = {e.get("id") for e in root.iter(f"{{{NS['bpmn']}}}*") if e.get("id")}
    dangling = sorted((set(shapes) | set(edges)) - elements)
    assert not dangling, f"diagram elements for nothing: {dangling}"

    wanted = [e.get("id") for e in _flow_nodes(process)]
    wanted += [lane.get("id") for lane in process.iterfind(".//bpmn:lane", NS)]
    wanted += [p.get("id") for p in collaboration.iterfind("bpmn:participant", NS)]
    assert not sorted(set(wanted) - set(shapes)), "flow nodes, lanes or pool without a shape"
    flows = [f.get("id") for f in process.iterfind("bpmn:sequenceFlow", NS)]
    assert not sorted(set(flows) - set(edges)), "sequence flows without an edge"
    assert set(shapes) == set(wanted) and set(edges) == set(flows)

    for ref in wanted:
        _bounds(shapes[ref])
    for node in _flow_nodes(process):
        if _local(node) in {"startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent"}:
            assert shapes[node.get("id")].find("bpmndi:BPMNLabel", NS) is not None, node.get("id")
        if "Gateway" in _local(node):
            assert shapes[node.get("id")].find("bpmndi:BPMNLabel", NS) is not None, node.get("id")
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        if flow.get("name"):
            assert edges[flow.get("id")].find("bpmndi:BPMNLabel", NS) is not None, flow.get("id")


def test_edges_are_orthogonal_and_connect_their_nodes(draft):
    root, process = _load(draft)
    _plane, shapes, edges = _diagram(root)
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        points = [
            (float(p.get("x")), float(p.get("y")))
            for p in edges[flow.get("id")].findall("di:waypoint", NS)
        ]
        assert len(points) >= 2, flow.get("id")
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            assert x1 == x2 or y1 == y2, f"{flow.get('id')}: diagonal segment"
        for end, point in ((flow.get("sourceRef"), points[0]), (flow.get("targetRef"), points[-1])):
            x, y, w, h = _bounds(shapes[end])
            # docked on the bounding box: a task's side, an event's or a gateway's N/E/S/W point
            on_border = (
                _inside(point, (x, y, w, h), grow=1) and _border_distance(point, (x, y, w, h)) <= 1
            )
            assert on_border, f"{flow.get('id')} does not dock on {end}"


def test_layout_nodes_in_their_lanes_without_overlap(draft):
    root, process = _load(draft)
    _plane, shapes, _edges = _diagram(root)
    (participant,) = root.findall("bpmn:collaboration/bpmn:participant", NS)
    pool = _bounds(shapes[participant.get("id")])
    lanes = list(process.iterfind(".//bpmn:lane", NS))
    lane_boxes = [_bounds(shapes[lane.get("id")]) for lane in lanes]
    px, py, pw, ph = pool
    for (x, y, w, h), lane in zip(lane_boxes, lanes, strict=True):
        assert px <= x and x + w <= px + pw and py <= y and y + h <= py + ph, lane.get("id")
    assert sum(h for _x, _y, _w, h in lane_boxes) == ph, "lanes fill the pool"
    for a, b in combinations(lane_boxes, 2):
        assert not _overlap(a, b), "lanes overlap"

    nodes = {e.get("id"): e for e in _flow_nodes(process)}
    boxes = {ref: _bounds(shapes[ref]) for ref in nodes}
    lane_of = {
        ref.text.strip(): box
        for lane, box in zip(lanes, lane_boxes, strict=True)
        for ref in lane.iterfind("bpmn:flowNodeRef", NS)
    }
    for ref, (x, y, w, h) in boxes.items():
        assert _inside((x, y), lane_of[ref]) and _inside((x + w, y + h), lane_of[ref]), (
            f"{ref} is not drawn inside its lane"
        )
    for a, b in combinations(boxes, 2):
        hosts = {nodes[a].get("attachedToRef"), nodes[b].get("attachedToRef")}
        if a in hosts or b in hosts:
            continue
        assert not _overlap(boxes[a], boxes[b]), f"{a} overlaps {b}"
    for event in process.iterfind("bpmn:boundaryEvent", NS):
        x, y, w, h = boxes[event.get("attachedToRef")]
        bx, by, bw, bh = boxes[event.get("id")]
        cx, cy = bx + bw / 2, by + bh / 2
        on_border = (
            _inside((cx, cy), (x, y, w, h)) and _border_distance((cx, cy), (x, y, w, h)) <= 1
        )
        assert on_border, f"{event.get('id')} is not on the border of its task"

    labels = {
        ref: _bounds(shape.find("bpmndi:BPMNLabel", NS))
        for ref, shape in shapes.items()
        if shape.find("bpmndi:BPMNLabel", NS) is not None
    }
    for edge in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge"):
        if edge.find("bpmndi:BPMNLabel", NS) is not None:
            labels[edge.get("bpmnElement")] = _bounds(edge.find("bpmndi:BPMNLabel", NS))
    for ref, label in labels.items():
        assert _inside(label[:2], pool) and _inside(
            (label[0] + label[2], label[1] + label[3]), pool
        )
        for node, box in boxes.items():
            assert not _overlap(label, box), f"label of {ref} overlaps {node}"
    for a, b in combinations(labels, 2):
        assert not _overlap(labels[a], labels[b]), f"labels of {a} and {b} overlap"


# --------------------------------------------------------------------------------------------
# SpiffWorkflow
# --------------------------------------------------------------------------------------------


def _spec(draft: Draft):
    parser = CamundaParser()
    path = BPMN_DIR / draft.file
    parser.add_bpmn_xml(etree.parse(str(path)).getroot(), filename=str(path))
    return parser.get_spec(draft.key)


def test_camunda_parser_builds_the_spec(draft):
    spec = _spec(draft)
    assert spec.name == draft.key
    names = {ts.bpmn_id for ts in spec.task_specs.values() if ts.bpmn_id}
    assert set(draft.user_tasks) <= names and set(draft.overdue) <= names
    for key, (_role, fields) in draft.user_tasks.items():
        form = spec.task_specs[key].form
        assert [f.id for f in form.fields] == fields
        assert all(f.get_property("label_en") for f in form.fields)
        assert CJK.search(spec.task_specs[key].lane or ""), f"{key}: lane name"


class _Dotted(dict):
    """Task data as the restricted evaluator sees it: `a.b` reads key "b" of dict `a`."""

    def __getattr__(self, name):
        return self.get(name)


class _DottedEnvironment(TaskDataEnvironment):
    def _prepare_context(self, context):
        for key, value in list(context.items()):
            if type(value) is dict:
                context[key] = _Dotted(value)


class _Run:
    """One instance of a draft on SpiffWorkflow, with a clock that tests move forward."""

    def __init__(self, draft: Draft, monkeypatch: pytest.MonkeyPatch, data: dict | None = None):
        self.shift = timedelta(0)
        run = self

        class ShiftedDatetime(datetime):
            @classmethod
            def now(cls, tz=None):
                return datetime.now(tz) + run.shift

        monkeypatch.setattr(spiff_timer, "datetime", ShiftedDatetime)
        functions = {"now": self._now, "add_working_days": self._add_days}
        engine = PythonScriptEngine(environment=_DottedEnvironment(functions))
        self.workflow = BpmnWorkflow(_spec(draft), script_engine=engine)
        self.workflow.get_next_task(state=TaskState.READY).data.update(data or {})
        self._steps()

    def _now(self) -> str:
        return (datetime.now(UTC) + self.shift).isoformat()

    @staticmethod
    def _add_days(start: str, n: int) -> str:
        return (datetime.fromisoformat(start) + timedelta(days=n)).isoformat()

    def _steps(self) -> None:
        self.workflow.do_engine_steps()
        self.workflow.refresh_timers()
        self.workflow.do_engine_steps()

    def open(self) -> list[str]:
        tasks = self.workflow.get_tasks(state=TaskState.READY, manual=True)
        return sorted(t.task_spec.bpmn_id for t in tasks)

    def waiting(self) -> list[str]:
        tasks = self.workflow.get_tasks(state=TaskState.WAITING)
        return sorted(t.task_spec.bpmn_id for t in tasks if t.task_spec.bpmn_id)

    def task(self, key: str):
        (task,) = [
            t
            for t in self.workflow.get_tasks()
            if t.task_spec.bpmn_id == key and t.has_state(TaskState.READY | TaskState.WAITING)
        ]
        return task

    def complete(self, key: str, form: dict) -> None:
        tasks = self.workflow.get_tasks(state=TaskState.READY, manual=True)
        (task,) = [t for t in tasks if t.task_spec.bpmn_id == key]
        task.data[key] = form  # form results are stored under the task key
        task.run()
        self._steps()

    def send(self, message: str, payload: dict) -> None:
        # Camunda message events carry {"payload", "result_var"}: the data lands in result_var
        event = BpmnEvent(
            MessageEventDefinition(message), payload={"payload": payload, "result_var": message}
        )
        self.workflow.send_event(event)
        self._steps()

    def advance(self, delta: timedelta) -> None:
        self.shift += delta
        self._steps()

    def ended(self) -> list[str]:
        tasks = self.workflow.get_tasks(state=TaskState.COMPLETED)
        return sorted(
            t.task_spec.bpmn_id
            for t in tasks
            if isinstance(t.task_spec, EndEvent) and t.task_spec.bpmn_id is not None
        )


CATALOG_START = {
    "change": "add",
    "item_code": "MZ-099",
    "item_name": "高龄津贴资格初审",
    "category": "assisted",
    "effective_from": "2025-01-01",
    "reason": "依法协助事项，经费随事转移",
}


def test_catalog_revise_notice_objection_and_approval(monkeypatch):
    run = _Run(CATALOG, monkeypatch, CATALOG_START)
    assert run.open() == ["access_review"]
    assert "access_review_overdue" in run.waiting()
    run.complete("access_review", {"decision": "revise", "comment": "补充依据"})
    assert run.open() == ["revise_proposal"]
    run.complete("revise_proposal", {"reason": "补充了法律依据", "comment": ""})
    assert run.open() == ["access_review"]
    run.complete("access_review", {"decision": "approve", "comment": ""})
    assert run.open() == [] and run.waiting() == ["notice"]
    notice = run.task("notice")
    notice_ends = notice.data["notice_ends"]
    assert notice.data["notice_days"] == 5
    assert datetime.fromisoformat(notice_ends) > datetime.now(UTC) + timedelta(days=4)
    assert notice.internal_data["event_value"] == notice_ends, "the timer waits for notice_ends"

    run.send("catalog_objection", {"objection": "该事项应由部门自行办理"})
    assert run.open() == ["objection_review"]
    run.complete("objection_review", {"response": "已核实，依法属协助事项"})
    assert run.open() == [] and run.waiting() == ["notice"], "back at the notice gateway"
    notice = run.task("notice")
    assert notice.internal_data["event_value"] == notice_ends, "objections do not extend it"
    run.send("catalog_objection", {"objection": "第二件异议"})
    run.complete("objection_review", {"response": "已答复"})
    assert run.waiting() == ["notice"]

    run.advance(timedelta(days=8))
    assert run.open() == ["district_decision"]
    run.complete("district_decision", {"decision": "approve", "comment": ""})
    assert run.workflow.completed
    assert run.ended() == ["end_approved"]


def test_catalog_rejections_and_overdue_review(monkeypatch):
    run = _Run(CATALOG, monkeypatch, CATALOG_START)
    run.advance(timedelta(days=30))
    assert run.ended() == ["access_review_escalated"], "overdue review escalates"
    assert run.open() == ["access_review"], "and stays open"
    run.complete("access_review", {"decision": "reject", "comment": "不符合准入条件"})
    assert run.workflow.completed and run.ended() == ["access_review_escalated", "end_rejected"]

    run = _Run(CATALOG, monkeypatch, CATALOG_START)
    run.complete("access_review", {"decision": "approve", "comment": ""})
    run.advance(timedelta(days=8))
    run.complete("district_decision", {"decision": "reject", "comment": "公示意见较大"})
    assert run.workflow.completed and run.ended() == ["end_rejected__decision"]


EMERGENCY_START = {
    "community": "220802001001",
    "department": "MZJ",
    "title": "防汛转移安置",
    "description": "组织低洼地带居民转移",
    "kind": "flood",
}
WORK = {"report": "转移居民126人", "completed_on": "2024-07-20"}


@pytest.mark.parametrize("first", ["emergency_work", "file_request"])
def test_emergency_work_and_filing_run_in_parallel_and_a_dispute_refiles(monkeypatch, first):
    run = _Run(EMERGENCY, monkeypatch, EMERGENCY_START)
    assert run.open() == ["emergency_work", "file_request"], "the work opens at once"
    forms = {"emergency_work": WORK, "file_request": {"request_no": "WT-2024-0031"}}
    second = "file_request" if first == "emergency_work" else "emergency_work"
    run.complete(first, forms[first])
    assert run.open() == [second], "the confirmation waits for both"
    run.complete(second, forms[second])
    assert run.open() == ["confirm_filing"]
    run.complete("confirm_filing", {"decision": "dispute", "comment": "经费未到位"})
    assert run.open() == ["file_request"], "a dispute sends the filing back, not the work"
    run.complete("file_request", {"request_no": "WT-2024-0032", "comment": "已补拨经费"})
    assert run.open() == ["confirm_filing"], "re-filing does not wait for the work again"
    run.complete("confirm_filing", {"decision": "confirm", "comment": ""})
    assert run.workflow.completed
    assert run.ended() == ["end_completed"]


def test_emergency_late_filing_escalates_and_stays_open(monkeypatch):
    run = _Run(EMERGENCY, monkeypatch, EMERGENCY_START)
    run.complete("emergency_work", WORK)
    run.advance(timedelta(days=10))
    assert run.ended() == ["file_request_escalated"]
    assert run.open() == ["file_request"]
    run.complete("file_request", {"request_no": "WT-2024-0040"})
    run.complete("confirm_filing", {"decision": "confirm", "comment": ""})
    assert run.workflow.completed
    assert run.ended() == ["end_completed", "file_request_escalated"]


TERMINATION_START = {
    "handoff_instance": 7,
    "reason": "事项取消",
    "refund": "3000.00",
    "kept": "2000.00",
    "refund_fen": 300000,  # filled in by the plugin from the start form (`handoff.termination`)
    "kept_fen": 200000,
}
AGREE = {"decision": "agree", "comment": ""}


def test_termination_confirmed_by_both_then_the_refund(monkeypatch):
    run = _Run(TERMINATION, monkeypatch, TERMINATION_START)
    assert run.open() == ["street_confirm"]
    run.complete("street_confirm", AGREE)
    assert run.open() == ["committee_confirm"]
    run.complete("committee_confirm", AGREE)
    assert run.open() == ["refund_received"]
    run.complete("refund_received", {"refunded_on": "2026-05-06", "voucher_no": "TK-1"})
    assert run.workflow.completed and run.ended() == ["end_terminated"]


def test_termination_without_a_refund_ends_after_both_agree(monkeypatch):
    start = {**TERMINATION_START, "refund": "0.00", "kept": "5000.00", "refund_fen": 0}
    run = _Run(TERMINATION, monkeypatch, {**start, "kept_fen": 500000})
    run.complete("street_confirm", AGREE)
    run.complete("committee_confirm", AGREE)
    assert run.workflow.completed and run.ended() == ["end_terminated"]


@pytest.mark.parametrize(
    ("agreeing", "refusing", "end"),
    [
        ((), "street_confirm", "end_refused"),
        (("street_confirm",), "committee_confirm", "end_refused__committee"),
    ],
)
def test_termination_refused_by_either_party(monkeypatch, agreeing, refusing, end):
    run = _Run(TERMINATION, monkeypatch, TERMINATION_START)
    for key in agreeing:
        run.complete(key, AGREE)
    run.complete(refusing, {"decision": "disagree", "comment": "工作已过半"})
    assert run.workflow.completed and run.ended() == [end]
