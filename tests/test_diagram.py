"""The server-side BPMN renderer: real SVG from a hand-written fixture and from hostile input."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from workflows import clock, definitions, engine
from workflows.diagram import (
    NS,
    DiagramError,
    badge_svg,
    legend_svg,
    render_svg,
    sequence_flows,
    state_styles,
)
from workflows.diagram_shapes import layout_text, text_width, wrap_text
from workflows.progress import taken_flows, taken_transitions

SVG = "http://www.w3.org/2000/svg"
S = {"s": SVG}
FIXTURE = Path(__file__).parent / "fixtures" / "diagram_sample.bpmn"
HANDOFF = Path(__file__).parent.parent / "bpmn" / "handoff.bpmn"
# start → review (non-interrupting timer) → decision: reject → end_rejected, revise → revise →
# back to review, approve → fork → sign_a ‖ sign_b → join → to_work → work → check: accept →
# end_done, rework → back to to_work.
LOOP = Path(__file__).parent / "fixtures" / "progress_loop.bpmn"
FLOW_NODES = (
    "startEvent",
    "endEvent",
    "boundaryEvent",
    "userTask",
    "scriptTask",
    "exclusiveGateway",
    "parallelGateway",
)
PROGRESS = {
    "start": "done",
    "fill_form": "done",
    "check_complete": "done",
    "split": "done",
    "compute_subsidy": "done",
    "review": "active",
    "review_overdue": "waiting",
    "end_returned": "cancelled",
}


@pytest.fixture(scope="module")
def source() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def svg_of(bpmn: str | bytes, states=None, **kwargs) -> etree._Element:
    """Render, then parse the result as XML: a renderer bug that breaks well-formedness fails."""
    return etree.fromstring(render_svg(bpmn, states, **kwargs).encode("utf-8"))


def group(svg: etree._Element, element_id: str) -> etree._Element:
    found = svg.xpath("//s:g[@id=$id]", namespaces=S, id=f"el-{element_id}")
    assert len(found) == 1, f"el-{element_id} drawn {len(found)} times"
    return found[0]


def classes(svg: etree._Element, element_id: str) -> set[str]:
    return set(group(svg, element_id).get("class").split())


def tooltip(svg: etree._Element, element_id: str) -> str:
    return group(svg, element_id).findtext("s:title", namespaces=S)


def bpmn_ids(bpmn: str | bytes, *kinds: str) -> list[str]:
    root = etree.fromstring(bpmn.encode() if isinstance(bpmn, str) else bpmn)
    return [e.get("id") for kind in kinds for e in root.iter(f"{{{NS['bpmn']}}}{kind}")]


# --- What is drawn ------------------------------------------------------------------------


def test_output_is_a_standalone_accessible_svg(source):
    svg = svg_of(source)
    assert svg.tag == f"{{{SVG}}}svg"
    assert svg.get("role") == "img"
    # Without a title argument the process name names the picture.
    assert svg.get("aria-label") == "社区事务申请流程"
    assert svg.findtext("s:title", namespaces=S) == "社区事务申请流程"
    x, y, w, h = map(float, svg.get("viewBox").split())
    assert (float(svg.get("width")), float(svg.get("height"))) == (w, h)


def test_every_flow_node_flow_lane_and_pool_is_drawn(source):
    svg = svg_of(source)
    ids = bpmn_ids(source, *FLOW_NODES, "sequenceFlow", "lane", "participant", "textAnnotation")
    assert len(ids) == 25  # 11 flow nodes, 10 flows, 2 lanes, a pool, a note
    for element_id in ids:
        group(svg, element_id)
    assert "bpmn-userTask" in classes(svg, "fill_form")
    assert "bpmn-boundaryEvent" in classes(svg, "review_overdue")
    assert "bpmn-association" in classes(svg, "assoc_review")


def test_names_are_drawn_inside_their_shapes_and_wrapped(source):
    svg = svg_of(source)
    # A 100px task holds 7 CJK characters a line at 12px, so this 11-character name takes two.
    lines = group(svg, "review").xpath(".//s:text/s:tspan/text()", namespaces=S)
    assert lines == ["审核申请并确认", "补贴标准"]
    assert group(svg, "split").xpath(".//s:text", namespaces=S) == []  # unnamed: no label
    label = group(svg, "flow_complete").xpath(".//s:tspan/text()", namespaces=S)
    assert label == ["齐全"]


def test_pool_and_lane_names_are_vertical_in_their_headers(source):
    svg = svg_of(source)
    for element_id, name, header_x in [
        ("pool_sample", "社区事务申请", 165),
        ("lane_reviewer", "审核人", 195),
    ]:
        text = group(svg, element_id).find("s:text", namespaces=S)
        assert text.text == name
        assert text.get("writing-mode") == "vertical-rl"
        assert float(text.get("x")) == header_x


def test_type_markers_event_kinds_and_gateway_markers(source):
    svg = svg_of(source)
    assert tooltip(svg, "review_overdue") == "定时边界事件：15个工作日"
    assert tooltip(svg, "end_returned") == "终止结束事件：退回申请"
    # A non-interrupting boundary event has dashed rings.
    rings = group(svg, "review_overdue").findall("s:circle", namespaces=S)
    assert len(rings) == 2 and all(r.get("stroke-dasharray") for r in rings)
    # Start is thin, end is thick.
    start_ring = group(svg, "start").find("s:circle", namespaces=S)
    end_ring = group(svg, "end_completed").find("s:circle", namespaces=S)
    assert float(start_ring.get("stroke-width")) < float(end_ring.get("stroke-width"))
    # Tasks carry their type glyph; gateways their marker.
    for element_id in ("fill_form", "compute_subsidy", "check_complete", "split"):
        assert group(svg, element_id).xpath("./s:g[@transform]", namespaces=S)


def test_default_and_conditional_flow_marks(source):
    svg = svg_of(source)
    default_mark = ".//s:path[@class='bpmn-default-mark']"
    condition_mark = ".//s:polygon[@class='bpmn-condition-mark']"
    assert group(svg, "flow_incomplete").xpath(default_mark, namespaces=S)
    assert not group(svg, "flow_complete").xpath(default_mark, namespaces=S)
    # A condition on a flow leaving a gateway gets no diamond; leaving an event or task it does.
    assert not group(svg, "flow_complete").xpath(condition_mark, namespaces=S)
    flow = '<bpmn:sequenceFlow id="flow_overdue" sourceRef="review_overdue" targetRef="end_overdue"'
    conditional = source.replace(
        f"{flow} />",
        f"{flow}><bpmn:conditionExpression>True</bpmn:conditionExpression></bpmn:sequenceFlow>",
    )
    assert conditional != source
    assert group(svg_of(conditional), "flow_overdue").xpath(condition_mark, namespaces=S)
    polyline = group(svg, "flow_to_end").find("s:polyline", namespaces=S)
    assert polyline.get("marker-end") == "url(#bpmn-arrow-neutral)"
    assert polyline.get("points") == "870,410 932,410"


def test_viewbox_contains_every_shape_and_label(source):
    svg = svg_of(source)
    vx, vy, vw, vh = map(float, svg.get("viewBox").split())
    root = etree.fromstring(source.encode())
    bounds = root.xpath("//bpmndi:BPMNShape//dc:Bounds", namespaces=NS)
    assert len(bounds) == 20  # 15 shapes, 5 labels
    for b in bounds:
        x, y, w, h = (float(b.get(k)) for k in ("x", "y", "width", "height"))
        assert vx <= x and x + w <= vx + vw and vy <= y and y + h <= vy + vh, b.getparent().get(
            "id"
        )
    # The legend sits below the diagram and inside the picture too.
    legend_y = [
        float(r.get("y")) for r in svg.xpath("//s:g[@class='bpmn-legend']/s:rect", namespaces=S)
    ]
    assert legend_y and all(540 < y < vy + vh - 20 for y in legend_y)


def test_legend_lists_states_chinese_first(source):
    texts = svg_of(source).xpath("//s:g[@class='bpmn-legend']/s:text/text()", namespaces=S)
    assert texts[:3] == ["已完成 Done", "进行中 Active", "等待中 Waiting"]


# --- States -------------------------------------------------------------------------------


def test_states_give_classes_badges_and_tooltips(source):
    svg = svg_of(source, PROGRESS)
    for element_id, state in PROGRESS.items():
        assert f"state-{state}" in classes(svg, element_id)
        assert group(svg, element_id).xpath("./s:g[@class='bpmn-badge']", namespaces=S)
    assert "state-neutral" in classes(svg, "end_completed")
    assert not group(svg, "end_completed").xpath("./s:g[@class='bpmn-badge']", namespaces=S)
    assert tooltip(svg, "fill_form") == "用户任务：填写申请材料（已完成）"
    assert tooltip(svg, "review") == "用户任务：审核申请并确认补贴标准（进行中）"
    assert tooltip(svg, "review_overdue") == "定时边界事件：15个工作日（等待中）"


def test_states_are_not_shown_by_colour_alone(source):
    svg = svg_of(source, PROGRESS)
    neutral = group(svg, "end_completed").find("s:circle", namespaces=S)
    active = group(svg, "review").find("s:rect", namespaces=S)
    waiting = group(svg, "review_overdue").find("s:circle", namespaces=S)
    done = group(svg, "fill_form").find("s:rect", namespaces=S)
    assert float(active.get("stroke-width")) >= 3  # thick border
    assert waiting.get("stroke-dasharray")  # dashed
    assert not done.get("stroke-dasharray") and done.get("fill") != "#ffffff"
    # Each state's badge has its own glyph (check, triangle, clock, cross).
    glyphs = {
        state: group(svg, element_id).xpath("./s:g[@class='bpmn-badge']/s:path/@d", namespaces=S)[0]
        for element_id, state in [
            ("fill_form", "done"),
            ("review", "active"),
            ("review_overdue", "waiting"),
            ("end_returned", "cancelled"),
        ]
    }
    assert len(set(glyphs.values())) == 4
    assert neutral.get("stroke") != active.get("stroke")


def test_a_flow_is_done_when_both_ends_are_done(source):
    svg = svg_of(source, PROGRESS)
    assert "state-done" in classes(svg, "flow_start")  # start → fill_form
    assert "state-done" in classes(svg, "flow_to_compute")  # split → compute_subsidy
    assert "state-neutral" in classes(svg, "flow_to_review")  # split → review (active)
    assert "state-neutral" in classes(svg, "flow_to_end")
    marker = group(svg, "flow_start").find("s:polyline", namespaces=S).get("marker-end")
    assert marker == "url(#bpmn-arrow-done)"
    # An explicit state for a flow wins.
    assert "state-cancelled" in classes(svg_of(source, {"flow_to_end": "cancelled"}), "flow_to_end")


def test_unknown_state_is_refused(source):
    with pytest.raises(DiagramError, match="unknown state"):
        render_svg(source, {"review": "completed"})


# --- Untrusted input ----------------------------------------------------------------------


def test_names_are_escaped_and_no_active_content_is_emitted(source):
    hostile = (
        source.replace('name="填写申请材料"', 'name="&lt;script&gt;alert(1)&lt;/script&gt;"')
        .replace('name="审核人"', 'name="&quot; onload=&quot;alert(2)"')
        .replace("15个工作日内办结", "&lt;a href=&quot;javascript:alert(3)&quot;&gt;x&lt;/a&gt;")
    )
    text = render_svg(hostile, title='<img src=x onerror="alert(4)">')
    svg = etree.fromstring(text.encode())
    names = {etree.QName(e).localname for e in svg.iter(etree.Element)}
    assert not names & {"script", "a", "image", "foreignObject", "use", "img", "iframe"}
    attributes = [name for e in svg.iter(etree.Element) for name in e.attrib]
    assert not [a for a in attributes if a.lower().startswith("on") or a.endswith("href")]
    assert "<script" not in text and "<img" not in text and "<a " not in text
    # Every url() points inside the document (markers).
    assert set(re.findall(r"url\(([^)]*)\)", text)) <= {
        f"#bpmn-{m}"
        for m in ("arrow-neutral", "arrow-done", "arrow-active", "arrow-waiting", "arrow-cancelled")
    } | {"#bpmn-arrow-open", "#bpmn-circle-open"}
    # The text itself survives, as text.
    assert tooltip(svg, "fill_form") == "用户任务：<script>alert(1)</script>"
    assert group(svg, "lane_reviewer").findtext("s:text", namespaces=S) == '" onload="alert(2)'
    assert svg.get("aria-label") == '<img src=x onerror="alert(4)">'


def test_file_without_diagram_interchange_is_refused(source):
    no_di = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", source, flags=re.S)
    assert "BPMNShape" not in no_di
    with pytest.raises(DiagramError, match="BPMNDI"):
        render_svg(no_di)
    assert issubclass(DiagramError, ValueError)


def test_element_without_bounds_is_skipped(source):
    broken = re.sub(
        r'(<bpmndi:BPMNShape id="review_di" bpmnElement="review">)\s*<dc:Bounds[^>]*/>',
        r"\1",
        source,
    ).replace('<di:waypoint x="870" y="410" />', '<di:waypoint x="oops" y="410" />')
    assert broken.count("<dc:Bounds") == source.count("<dc:Bounds") - 1
    svg = svg_of(broken)
    assert not svg.xpath("//s:g[@id='el-review']", namespaces=S)
    assert not svg.xpath("//s:g[@id='el-flow_to_end']", namespaces=S)  # one waypoint left
    group(svg, "review_overdue")
    group(svg, "compute_subsidy")


@pytest.mark.parametrize(
    "document",
    [
        b"<html><body/></html>",
        b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>",
        b"",
    ],
    ids=["not-bpmn", "truncated", "empty"],
)
def test_other_bad_files_raise_diagram_error(document):
    with pytest.raises(DiagramError):
        render_svg(document)


def test_billion_laughs_is_not_expanded(source):
    entities = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    ]
    bomb = source.replace(
        "<bpmn:definitions",
        "<!DOCTYPE bpmn:definitions [" + "".join(entities) + "]>\n<bpmn:definitions",
    ).replace('name="填写申请材料"', 'name="&l9;"')
    started = time.monotonic()
    with pytest.raises(DiagramError):
        render_svg(bomb)
    assert time.monotonic() - started < 2


def test_small_internal_entity_is_refused_too(source):
    # libxml2 expands internal entities in attributes even with resolve_entities off, so any
    # DOCTYPE is refused rather than drawn.
    doc = source.replace(
        "<bpmn:definitions", '<!DOCTYPE d [<!ENTITY x "expanded">]>\n<bpmn:definitions'
    ).replace('name="填写申请材料"', 'name="&x;"')
    with pytest.raises(DiagramError, match="DOCTYPE"):
        render_svg(doc)


def test_external_entity_is_not_read(source, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a", encoding="utf-8")
    doc = source.replace(
        "<bpmn:definitions",
        f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n<bpmn:definitions',
    ).replace("15个工作日内办结", "&xxe;")
    with pytest.raises(DiagramError) as raised:
        render_svg(doc)
    assert "TOP-SECRET" not in str(raised.value)


# --- Input forms and text layout ----------------------------------------------------------


def test_str_and_bytes_render_the_same(source):
    assert source.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert render_svg(source) == render_svg(source.encode("utf-8"))


def test_title_argument_names_the_picture(source):
    svg = svg_of(source, title="实例 42 进度")
    assert svg.get("aria-label") == "实例 42 进度"
    assert svg.findtext("s:title", namespaces=S) == "实例 42 进度"


def test_wrap_text_breaks_cjk_per_character_and_latin_at_spaces():
    assert wrap_text("审核申请并确认补贴标准", 88) == ["审核申请并确认", "补贴标准"]
    assert wrap_text("Review the street office report", 88) == [
        "Review the",
        "street office",
        "report",
    ]
    # CJK punctuation never starts a line; an over-long word breaks where it must.
    assert all(not line.startswith("，") for line in wrap_text("一二三四五六七，八九", 88))
    assert all(text_width(line) <= 88 for line in wrap_text("x" * 40, 88))
    assert wrap_text("第一行\n第二行", 88) == ["第一行", "第二行"]


def test_layout_text_avoids_orphans_and_marks_cuts():
    assert wrap_text("无经费，不予委托", 90) == ["无经费，不予委", "托"]
    assert layout_text("无经费，不予委托", 90, 4) == ["无经费，", "不予委托"]
    # A last line that is not short stays as wrapped.
    assert layout_text("审核申请并确认补贴标准", 88, 4) == ["审核申请并确认", "补贴标准"]
    cut = layout_text("长" * 40, 88, 2)
    assert len(cut) == 2 and cut[-1].endswith("…") and text_width(cut[-1]) <= 88


@pytest.mark.skipif(not HANDOFF.exists(), reason="bpmn/handoff.bpmn not written yet")
def test_handoff_diagram_renders_every_user_task():
    bpmn = HANDOFF.read_bytes()
    svg = svg_of(bpmn)
    user_tasks = bpmn_ids(bpmn, "userTask")
    assert user_tasks
    for task_id in user_tasks:
        assert "bpmn-userTask" in classes(svg, task_id)


# --- The path actually taken (workflows.progress + `taken`) ----------------------------------


@pytest.fixture(scope="module")
def loop_xml() -> str:
    return LOOP.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def loop_process(loop_xml) -> definitions.ParsedProcess:
    return definitions.parse_bpmn(loop_xml)


def run(parsed, *steps: tuple[str, dict]):
    """A real SpiffWorkflow run of the fixture: complete each user task in turn with its form."""
    workflow = engine.new_workflow(parsed, {})
    engine.advance(workflow)
    for key, values in steps:
        (task,) = [t for t in engine.ready_user_tasks(workflow) if t.task_spec.name == key]
        task.data[key] = values
        task.run()
        engine.advance(workflow)
    return workflow


def taken_of(xml: str, workflow) -> set[str]:
    return taken_flows(workflow, sequence_flows(xml))


def progress_svg(xml: str, workflow) -> etree._Element:
    return svg_of(xml, engine.element_states(workflow), taken=taken_of(xml, workflow))


def flow_state(svg: etree._Element, flow_id: str) -> str:
    (state,) = [c for c in classes(svg, flow_id) if c.startswith("state-")]
    return state.removeprefix("state-")


ALL_FLOWS = set(
    "f_start f_overdue f_review f_reject f_revise f_resubmit f_approve f_fork_a f_fork_b "
    "f_join_a f_join_b f_to_merge f_to_work f_work f_rework f_accept".split()
)


def test_sequence_flows_maps_both_ends_to_flow_ids(loop_xml, source):
    flows = sequence_flows(loop_xml)
    assert {f for ids in flows.values() for f in ids} == ALL_FLOWS
    assert flows[("check", "to_work")] == ["f_rework"]
    assert flows[("revise", "review")] == ["f_resubmit"]
    sample = sequence_flows(source.encode("utf-8"))
    assert sample[("split", "review")] == ["flow_to_review"]
    assert sample[("start", "fill_form")] == ["flow_start"]
    with pytest.raises(DiagramError):
        sequence_flows(b"<html/>")


def test_rejection_colours_only_the_path_to_end_rejected(loop_xml, loop_process):
    workflow = run(loop_process, ("review", {"decision": "reject"}))
    assert workflow.completed
    assert taken_transitions(workflow) == {
        ("start", "review"),
        ("review", "decision"),
        ("decision", "end_rejected"),
    }
    assert taken_of(loop_xml, workflow) == {"f_start", "f_review", "f_reject"}
    svg = progress_svg(loop_xml, workflow)
    for flow in ("f_start", "f_review", "f_reject"):
        assert flow_state(svg, flow) == "done"
    for flow in ALL_FLOWS - {"f_start", "f_review", "f_reject"}:
        assert flow_state(svg, flow) == "neutral", flow
    arrow = group(svg, "f_approve").find("s:polyline", namespaces=S).get("marker-end")
    assert arrow == "url(#bpmn-arrow-neutral)"


def test_unused_loop_back_is_not_coloured_though_both_its_ends_ran(loop_xml, loop_process):
    workflow = run(
        loop_process,
        ("review", {"decision": "approve"}),
        ("sign_a", {}),
        ("sign_b", {}),
        ("work", {"decision": "accept"}),
    )
    assert workflow.completed
    states = engine.element_states(workflow)
    assert states["check"] == states["to_work"] == states["review"] == "done"
    # The old rule (no `taken`) colours the rework back-edge: both its ends are done.
    assert flow_state(svg_of(loop_xml, states), "f_rework") == "done"
    taken = taken_of(loop_xml, workflow)
    assert taken == ALL_FLOWS - {"f_overdue", "f_reject", "f_revise", "f_resubmit", "f_rework"}
    svg = progress_svg(loop_xml, workflow)
    assert flow_state(svg, "f_rework") == "neutral"
    assert flow_state(svg, "f_resubmit") == "neutral"
    assert flow_state(svg, "f_accept") == "done"
    assert flow_state(svg, "f_to_merge") == "done"


def test_loops_that_were_taken_are_coloured(loop_xml, loop_process):
    workflow = run(
        loop_process,
        ("review", {"decision": "revise"}),
        ("revise", {}),
        ("review", {"decision": "approve"}),
        ("sign_a", {}),
        ("sign_b", {}),
        ("work", {"decision": "rework"}),
        ("work", {"decision": "accept"}),
    )
    assert workflow.completed
    # The second time round review is reached through its boundary-event split; the walk steps
    # over it to the element that passed the token on.
    assert ("revise", "review") in taken_transitions(workflow)
    assert ("check", "to_work") in taken_transitions(workflow)
    assert taken_of(loop_xml, workflow) == ALL_FLOWS - {"f_overdue", "f_reject"}
    svg = progress_svg(loop_xml, workflow)
    for flow in ("f_revise", "f_resubmit", "f_rework", "f_accept"):
        assert flow_state(svg, flow) == "done", flow
    assert flow_state(svg, "f_reject") == "neutral"


def test_open_work_colours_the_flows_that_reached_it(loop_xml, loop_process):
    workflow = run(loop_process, ("review", {"decision": "approve"}), ("sign_a", {}))
    states = engine.element_states(workflow)
    assert states["sign_b"] == "active" and states["join"] == "waiting"
    taken = taken_of(loop_xml, workflow)
    # The token reached the open sign_b and the join is waiting for it: both flows were taken.
    assert {"f_fork_a", "f_fork_b", "f_join_a"} <= taken
    assert not taken & {"f_join_b", "f_to_merge", "f_rework", "f_revise"}
    svg = progress_svg(loop_xml, workflow)
    assert flow_state(svg, "f_fork_b") == "done"
    assert flow_state(svg, "f_join_b") == "neutral"
    # A cancelled instance keeps the path it had taken, up to its open tasks.
    workflow.cancel()
    assert taken_of(loop_xml, workflow) == taken


def test_boundary_timer_flow_is_taken_only_once_it_fires(loop_xml, loop_process):
    workflow = run(loop_process)
    assert taken_of(loop_xml, workflow) == {"f_start"}
    assert ("start", "review_overdue") not in taken_transitions(workflow)
    with clock.freeze(clock.now() + timedelta(days=2)):
        engine.advance(workflow)
    assert engine.element_states(workflow)["escalated"] == "done"
    assert taken_of(loop_xml, workflow) == {"f_start", "f_overdue"}
    assert flow_state(progress_svg(loop_xml, workflow), "f_overdue") == "done"


def test_taken_overrides_the_both_ends_rule_and_explicit_states_still_win(source):
    svg = svg_of(source, PROGRESS, taken={"flow_to_review"})
    assert flow_state(svg, "flow_start") == "neutral"  # both ends done, but not taken
    assert flow_state(svg, "flow_to_review") == "done"  # taken into the active review
    assert flow_state(svg, "flow_to_compute") == "neutral"
    # Message flows and associations never count as taken.
    assert flow_state(svg_of(source, taken={"assoc_review"}), "assoc_review") == "neutral"
    svg = svg_of(source, {**PROGRESS, "flow_start": "cancelled"}, taken={"flow_start"})
    assert flow_state(svg, "flow_start") == "cancelled"
    # An empty set means nothing was taken; None keeps the both-ends rule.
    assert flow_state(svg_of(source, PROGRESS, taken=set()), "flow_start") == "neutral"
    assert flow_state(svg_of(source, PROGRESS, taken=None), "flow_start") == "done"
    with pytest.raises(DiagramError, match="not a string"):
        render_svg(source, PROGRESS, taken="flow_start")


def test_flows_joining_the_same_two_elements_are_all_taken(loop_xml, loop_process):
    workflow = run(loop_process, ("review", {"decision": "reject"}))
    flows = {**sequence_flows(loop_xml), ("decision", "end_rejected"): ["f_reject", "f_reject_2"]}
    assert {"f_reject", "f_reject_2"} <= taken_flows(workflow, flows)
    # A step with no flow in the mapping is left out rather than guessed.
    assert taken_flows(workflow, {}) == set()


# --- The key and badges alone, for a page that draws the diagram in the browser -------------


def test_the_legend_alone_is_the_drawings_key_and_defines_no_ids(source):
    words = {"title": "Legend", "done": "done", "active": "active", "waiting": "waiting"}
    words["cancelled"] = "cancelled"
    alone = etree.fromstring(legend_svg(words).encode())
    drawn = etree.fromstring(render_svg(source, legend=words).encode())
    key_in = drawn.find(".//s:g[@class='bpmn-legend']", S)
    key_alone = alone.find("s:g[@class='bpmn-legend']", S)
    # the same swatches, badges and words as under the drawn diagram
    strip = re.compile(r'(x|y|transform)="[^"]*"')
    assert strip.sub("", etree.tostring(key_alone).decode()) == strip.sub(
        "", etree.tostring(key_in).decode()
    )
    assert alone.get("aria-label") == "Legend"
    assert not alone.xpath("//@id")  # it can sit beside a drawn diagram in one page
    x, y, w, h = (float(v) for v in alone.get("viewBox").split())
    assert (float(alone.get("width")), float(alone.get("height"))) == (w, h)  # 1:1
    assert "图例 Legend" in legend_svg()  # without words: both languages, as render_svg


def test_a_badge_alone_is_the_one_drawn_on_a_shape(source):
    drawn = etree.fromstring(render_svg(source, {"review": "active"}).encode())
    on_shape = drawn.find(".//s:g[@id='el-review']/s:g[@class='bpmn-badge']", S)
    alone = etree.fromstring(badge_svg("active").encode())
    badge = alone.find("s:g[@class='bpmn-badge']", S)
    assert [etree.tostring(c) for c in badge] == [etree.tostring(c) for c in on_shape]
    assert alone.get("aria-hidden") == "true" and alone.get("viewBox") == "-10 -10 20 20"
    with pytest.raises(DiagramError, match="unknown state"):
        badge_svg("neutral")


def test_state_styles_are_the_drawings_colours(source):
    styles = state_styles()
    assert set(styles) == {"done", "active", "waiting", "cancelled"}
    svg = etree.fromstring(render_svg(source, {"review": "active"}).encode())
    rect = svg.find(".//s:g[@id='el-review']/s:rect", S)
    assert (rect.get("stroke"), rect.get("fill")) == (
        styles["active"]["stroke"],
        styles["active"]["fill"],
    )
    assert styles["waiting"]["dash"] and styles["done"]["dash"] is None
