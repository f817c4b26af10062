"""Every BPMN file shipped in `bpmn/` deploys, routes every user task, and can be drawn.

The checks follow bpmn/README.md: one executable process per file in a collaboration, lanes
named by role, user tasks in lanes with forms, and full diagram interchange (a shape for every
flow node, lane and pool, an edge for every sequence flow, nothing pointing nowhere), so the file
opens in Camunda Modeler / bpmn.io and our own renderer draws it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from workflows import definitions, diagram, validation

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
FILES = sorted(BPMN_DIR.glob("*.bpmn"))
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}
FLOW_NODES = {
    "task",
    "userTask",
    "scriptTask",
    "serviceTask",
    "manualTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "transaction",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "complexGateway",
}

TASK_ROLES = ("department", "street_office", "district_reviewer", "committee", "finance")


def _local(elem: etree._Element) -> str:
    return etree.QName(elem).localname


@pytest.fixture(params=FILES, ids=[p.name for p in FILES])
def bpmn_file(request) -> Path:
    return request.param


def _load(path: Path) -> tuple[str, etree._Element, etree._Element]:
    xml = path.read_text(encoding="utf-8")
    root = etree.fromstring(xml.encode("utf-8"))
    (process,) = [p for p in root.findall("bpmn:process", NS) if p.get("isExecutable") == "true"]
    return xml, root, process


def _flow_nodes(process: etree._Element) -> list[etree._Element]:
    return [e for e in process.iter(f"{{{NS['bpmn']}}}*") if _local(e) in FLOW_NODES]


def _bounds(shape: etree._Element) -> tuple[float, float, float, float]:
    b = shape.find("dc:Bounds", NS)
    assert b is not None, shape.get("bpmnElement")
    x, y, w, h = (float(b.get(k)) for k in ("x", "y", "width", "height"))
    assert w > 0 and h > 0, shape.get("bpmnElement")
    return x, y, w, h


def _inside(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    (px, py), (x, y, w, h) = point, box
    return x <= px <= x + w and y <= py <= y + h


def test_the_handoff_process_is_shipped():
    assert "handoff.bpmn" in {p.name for p in FILES}


def test_file_deploys_and_every_user_task_has_a_role_and_a_form(bpmn_file):
    xml, _root, process = _load(bpmn_file)
    parsed = definitions.parse_bpmn(xml)
    assert parsed.key == process.get("id") and parsed.name
    user_tasks = process.findall(".//bpmn:userTask", NS)
    assert user_tasks, "a process without user tasks has nothing to route"
    assert set(parsed.user_tasks) == {t.get("id") for t in user_tasks}
    for elem in user_tasks:
        info = parsed.user_tasks[elem.get("id")]
        assert info.role in TASK_ROLES, info.key
        assert elem.get("name"), f"{info.key}: no label for users"
        assert elem.get(f"{{{NS['camunda']}}}formKey"), f"{info.key}: no camunda:formKey"
        assert info.form.fields, f"{info.key}: no form fields"
        for field in info.form.fields:
            assert field.label, f"{info.key}.{field.id}: no label"
            if field.type == "enum":
                assert field.options, f"{info.key}.{field.id}: enum without values"


def test_file_sits_in_one_pool_with_role_lanes(bpmn_file):
    _xml, root, process = _load(bpmn_file)
    participants = root.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [process.get("id")]
    lanes = process.findall(".//bpmn:lane", NS)
    roles = [validation.lane_role(lane) for lane in lanes]
    assert roles and set(roles) <= set(TASK_ROLES) and len(roles) == len(set(roles))
    in_lane = [ref.text.strip() for ref in process.iterfind(".//bpmn:flowNodeRef", NS)]
    node_ids = {e.get("id") for e in _flow_nodes(process)}
    assert len(in_lane) == len(set(in_lane)), "a flow node lies in two lanes"
    assert set(in_lane) <= node_ids, "a lane names an element that does not exist"


def test_diagram_interchange_is_complete(bpmn_file):
    _xml, root, process = _load(bpmn_file)
    elements = {e.get("id"): e for e in root.iter(f"{{{NS['bpmn']}}}*") if e.get("id")}
    planes = root.findall("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert len(planes) == 1
    assert planes[0].get("bpmnElement") in elements

    shapes: dict[str, etree._Element] = {}
    for shape in root.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
        ref = shape.get("bpmnElement")
        assert ref in elements, f"BPMNShape {shape.get('id')} references missing {ref!r}"
        assert ref not in shapes, f"two shapes for {ref}"
        _bounds(shape)
        shapes[ref] = shape
    edges: dict[str, etree._Element] = {}
    for edge in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge"):
        ref = edge.get("bpmnElement")
        assert ref in elements, f"BPMNEdge {edge.get('id')} references missing {ref!r}"
        assert ref not in edges, f"two edges for {ref}"
        assert len(edge.findall("di:waypoint", NS)) >= 2, ref
        edges[ref] = edge

    nodes = _flow_nodes(process)
    missing = sorted(e.get("id") for e in nodes if e.get("id") not in shapes)
    assert not missing, f"flow nodes without a shape: {missing}"
    flows = process.findall(".//bpmn:sequenceFlow", NS)
    missing = sorted(f.get("id") for f in flows if f.get("id") not in edges)
    assert not missing, f"sequence flows without an edge: {missing}"
    containers = root.findall("bpmn:collaboration/bpmn:participant", NS)
    containers += process.findall(".//bpmn:lane", NS)
    missing = sorted(c.get("id") for c in containers if c.get("id") not in shapes)
    assert not missing, f"pool or lanes without a shape: {missing}"

    # every sequence flow connects existing nodes, and is drawn between them
    node_ids = {e.get("id") for e in nodes}
    for flow in flows:
        assert flow.get("sourceRef") in node_ids and flow.get("targetRef") in node_ids
        points = [
            (float(p.get("x")), float(p.get("y")))
            for p in edges[flow.get("id")].findall("di:waypoint", NS)
        ]
        for end, point in ((flow.get("sourceRef"), points[0]), (flow.get("targetRef"), points[-1])):
            x, y, w, h = _bounds(shapes[end])
            grown = (x - 20, y - 20, w + 40, h + 40)
            assert _inside(point, grown), f"{flow.get('id')} does not touch {end}"


def test_nodes_are_drawn_inside_their_lane_and_boundary_events_on_their_task(bpmn_file):
    _xml, root, process = _load(bpmn_file)
    shapes = {s.get("bpmnElement"): s for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}

    def centre(ref: str) -> tuple[float, float]:
        x, y, w, h = _bounds(shapes[ref])
        return x + w / 2, y + h / 2

    for lane in process.findall(".//bpmn:lane", NS):
        box = _bounds(shapes[lane.get("id")])
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            assert _inside(centre(ref.text.strip()), box), (
                f"{ref.text.strip()} is drawn outside lane {lane.get('name')}"
            )
    for event in process.findall(".//bpmn:boundaryEvent", NS):
        x, y, w, h = _bounds(shapes[event.get("attachedToRef")])
        cx, cy = centre(event.get("id"))
        on_border = (
            x - 2 <= cx <= x + w + 2
            and y - 2 <= cy <= y + h + 2
            and min(abs(cx - x), abs(cx - x - w), abs(cy - y), abs(cy - y - h)) <= 2
        )
        assert on_border, f"{event.get('id')} is not drawn on the border of its task"


def test_renderer_draws_every_flow_node(bpmn_file):
    xml, _root, process = _load(bpmn_file)
    svg = diagram.render_svg(xml, {})
    assert svg.lstrip().startswith("<svg") or "<svg" in svg[:200]
    drawn = etree.fromstring(svg.encode("utf-8"))
    ids = {e.get("id") for e in drawn.iter() if e.get("id")}
    missing = sorted(e.get("id") for e in _flow_nodes(process) if f"el-{e.get('id')}" not in ids)
    assert not missing, f"not drawn: {missing}"
    for flow in process.findall(".//bpmn:sequenceFlow", NS):
        assert f"el-{flow.get('id')}" in ids, flow.get("id")
    for lane in process.findall(".//bpmn:lane", NS):
        assert f"el-{lane.get('id')}" in ids, lane.get("id")
    # no script, no external reference: safe to serve as a file
    assert "<script" not in svg and 'href="http' not in svg


def test_renderer_marks_progress(bpmn_file):
    xml, _root, process = _load(bpmn_file)
    start = process.find("bpmn:startEvent", NS).get("id")
    first_task = process.find(".//bpmn:userTask", NS).get("id")
    svg = diagram.render_svg(xml, {start: "done", first_task: "active"})
    drawn = etree.fromstring(svg.encode("utf-8"))
    groups = {e.get("id"): e.get("class", "") for e in drawn.iter() if e.get("id")}
    assert "state-done" in groups[f"el-{start}"]
    assert "state-active" in groups[f"el-{first_task}"]


# --- the handoff's own drawing ----------------------------------------------------------------


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_the_handoff_screens_three_blocked_outcomes_drawn_beside_the_gateway():
    _xml, root, process = _load(BPMN_DIR / "handoff.bpmn")
    flows = [f for f in process.findall("bpmn:sequenceFlow", NS) if f.get("sourceRef") == "screen"]
    ends = [
        "end_blocked_negative_list",
        "end_blocked_forbidden_certificate",
        "end_blocked_unfunded",
    ]
    assert sorted(f.get("targetRef") for f in flows) == sorted([*ends, "street_review"])
    default = process.find("bpmn:exclusiveGateway[@id='screen']", NS).get("default")
    assert default == "flow_screen_pass"  # to street review; the blocked ways are conditions
    conditional = [f for f in flows if f.get("id") != default]
    assert all(f.find("bpmn:conditionExpression", NS) is not None for f in conditional)
    lane = process.find(".//bpmn:lane[@id='Lane_department']", NS)
    assert set(ends) <= {ref.text for ref in lane.findall("bpmn:flowNodeRef", NS)}

    shapes = {s.get("bpmnElement"): s for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    boxes = {ref: _bounds(shape) for ref, shape in shapes.items()}
    labels = {
        ref: _bounds(label)
        for ref, shape in shapes.items()
        if (label := shape.find("bpmndi:BPMNLabel", NS)) is not None
    }
    for edge in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge"):
        label = edge.find("bpmndi:BPMNLabel", NS)
        if label is not None:
            labels[edge.get("bpmnElement")] = _bounds(label)
    # one column right of the gateway, one under the other
    column = [boxes[e] for e in ends]
    assert len({x for x, _y, _w, _h in column}) == 1 and column[0][0] > sum(boxes["screen"][::2])
    # the new end event and its flow: labelled, clear of every other shape and label
    for ref in ("end_blocked_forbidden_certificate", "flow_screen_forbidden_certificate"):
        assert ref in labels, ref
        others = [b for r, b in boxes.items() if r != ref and not r.startswith(("Lane_", "Part"))]
        others += [b for r, b in labels.items() if r != ref]
        assert not any(_overlap(labels[ref], b) for b in others), ref
    assert not any(
        _overlap(boxes["end_blocked_forbidden_certificate"], b)
        for r, b in boxes.items()
        if r != "end_blocked_forbidden_certificate" and not r.startswith(("Lane_", "Part"))
    )


def test_the_due_date_periods_are_the_diagrams():
    from handoff import requests as handoff

    _xml, _root, process = _load(BPMN_DIR / "handoff.bpmn")
    timers = {
        e.get("attachedToRef"): e.find(".//bpmn:timeDate", NS).text
        for e in process.findall(".//bpmn:boundaryEvent", NS)
    }
    assert timers["street_review"] == f"add_working_days(now(), {handoff.STREET_REVIEW_DAYS})"
    assert timers["funding"] == f"add_working_days(now(), {handoff.FUNDING_DAYS})"
