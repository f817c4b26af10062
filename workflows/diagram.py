"""Server-side BPMN diagram renderer: BPMN 2.0 XML with diagram interchange (BPMNDI) → SVG.

The SVG is standalone and static (no script, no external references), so it can be served as a
file, inlined into a page or shown to a browser without JavaScript. Layout comes entirely from the
file's BPMNDI (shape bounds, edge waypoints, label bounds); nothing is laid out here except text.

An instance's progress is overlaid with `states` ({element id: "done" | "active" | "waiting" |
"cancelled"}); every state is shown by colour *and* by line style or a badge glyph. `taken`, the ids
of the sequence flows the instance really traversed (`workflows.progress.taken_flows`, named with
`sequence_flows` below), marks exactly those flows as done; without it a flow counts as done when
both its ends are, which also colours a gateway's untaken branch or an unused loop-back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from lxml import etree

from . import diagram_shapes as sh
from .diagram_shapes import LINE_HEIGHT, STATE_LABELS, STYLES, Box, el, num

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
_BPMN = f"{{{NS['bpmn']}}}"
_XML_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")

TYPE_LABELS = {
    "participant": "泳池",
    "lane": "泳道",
    "task": "任务",
    "userTask": "用户任务",
    "scriptTask": "脚本任务",
    "serviceTask": "服务任务",
    "manualTask": "人工任务",
    "sendTask": "发送任务",
    "receiveTask": "接收任务",
    "businessRuleTask": "业务规则任务",
    "callActivity": "调用活动",
    "subProcess": "子流程",
    "transaction": "事务子流程",
    "startEvent": "开始事件",
    "endEvent": "结束事件",
    "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件",
    "boundaryEvent": "边界事件",
    "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关",
    "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关",
    "complexGateway": "复杂网关",
    "sequenceFlow": "顺序流",
    "messageFlow": "消息流",
    "association": "关联",
    "textAnnotation": "注释",
}
ACTIVITIES = {t for t in TYPE_LABELS if t.endswith("Task")} | {
    "task",
    "callActivity",
    "subProcess",
    "transaction",
}
EVENTS = {t for t in TYPE_LABELS if t.endswith("Event")}
GATEWAYS = {t for t in TYPE_LABELS if t.endswith("Gateway")}
EDGES = {"sequenceFlow", "messageFlow", "association"}
EVENT_KINDS = {
    "timer": "定时",
    "message": "消息",
    "escalation": "升级",
    "error": "错误",
    "signal": "信号",
    "terminate": "终止",
    "conditional": "条件",
    "link": "链接",
    "compensate": "补偿",
    "cancel": "取消",
}
# bpmn.io wraps labels outside their shape at this width, so files are laid out for it.
EXTERNAL_LABEL_WIDTH = 90
HEADER = 30  # width of a pool's or lane's name header


class DiagramError(ValueError):
    """The file cannot be drawn: not BPMN, not well-formed, unsafe, or without a layout."""


@dataclass
class Shape:
    elem: etree._Element
    box: Box
    label: Box | None
    di: etree._Element


@dataclass
class Edge:
    elem: etree._Element
    waypoints: list[tuple[float, float]]
    label: Box | None


def render_svg(
    bpmn_xml: str | bytes,
    states: Mapping[str, str] | None = None,
    *,
    title: str | None = None,
    taken: Collection[str] | None = None,
    legend: Mapping[str, str] | None = None,
) -> str:
    """Draw the file's diagram as an SVG string, overlaying `states` ({element id: state}).

    `legend` words the states' key in the reader's language ({"title": …, "done": …, …});
    without it the key is written in Chinese and English.

    `taken` is the set of sequence-flow ids the instance traversed: when given, a sequence flow
    is drawn as done exactly when its id is in it. When None (the default), a flow is drawn as
    done when both its ends are done. Either way an explicit state for a flow id in `states` wins.
    """
    states = _checked_states(states)
    taken = _checked_taken(taken)
    root = _parse(bpmn_xml)
    elements = {e.get("id"): e for e in root.iter(f"{_BPMN}*") if e.get("id")}
    shapes, edges = _read_di(root, elements)
    label = title or _process_name(root) or "BPMN 流程图"
    return _Drawing(states, label, elements, taken, legend).render(shapes, edges)


def sequence_flows(bpmn_xml: str | bytes) -> dict[tuple[str, str], list[str]]:
    """{(sourceRef, targetRef): [sequence flow ids, in file order]} for every sequence flow in
    the file (sub-processes included); the mapping `workflows.progress.taken_flows` names flows
    with. The file is read as safely as for drawing; it needs no diagram interchange."""
    flows: dict[tuple[str, str], list[str]] = {}
    for flow in _parse(bpmn_xml).iter(f"{_BPMN}sequenceFlow"):
        ends = (flow.get("sourceRef"), flow.get("targetRef"))
        if flow.get("id") and ends[0] and ends[1]:
            flows.setdefault(ends, []).append(flow.get("id"))
    return flows


def legend_svg(legend: Mapping[str, str] | None = None) -> str:
    """The states' key alone, as a small standalone SVG at 1:1 scale: for a page that draws the
    diagram some other way (the browser's zoomable viewer) and must show the same key.

    `legend` words it as for `render_svg`. It defines no ids, so it can sit beside a drawn
    diagram in one document."""
    words = legend.get("title", "图例") if legend else "图例 Legend"
    svg = _bare_svg(words)
    width = sh.legend(svg, 0, 0, legend)
    # the badges stick out 6 above the swatches, the text 2 past the last one
    box = Box(-2, -8, width + 4, 30)
    svg.attrib.update({"viewBox": f"{num(box.x)} {num(box.y)} {num(box.w)} {num(box.h)}"})
    svg.attrib.update({"width": num(box.w), "height": num(box.h)})
    return etree.tostring(svg, encoding="unicode")


def badge_svg(state: str) -> str:
    """The round badge `render_svg` puts on an element in `state` (its glyph tells the state
    without colour), alone as a 20 × 20 SVG, to pin on the browser viewer's shapes."""
    if state not in STATE_LABELS:
        raise DiagramError(f"unknown state {state!r}; use one of {sorted(STATE_LABELS)}")
    svg = _bare_svg(None)
    svg.attrib.update({"viewBox": "-10 -10 20 20", "width": "20", "height": "20"})
    svg.set("aria-hidden", "true")
    sh.badge(svg, state, 0, 0)
    return etree.tostring(svg, encoding="unicode")


def state_styles() -> dict[str, dict[str, str | float | None]]:
    """{state: {"stroke", "fill", "text", "width", "dash"}}: the colours and line styles
    `render_svg` draws each state with, for a browser viewer to draw them alike."""
    keys = ("stroke", "fill", "text", "width", "dash")
    return {state: {k: getattr(STYLES[state], k) for k in keys} for state in STATE_LABELS}


def _bare_svg(label: str | None) -> etree._Element:
    svg = etree.Element(f"{{{sh.SVG_NS}}}svg", nsmap={None: sh.SVG_NS})
    if label:
        svg.attrib.update({"role": "img", "aria-label": sh.clean(label)})
    svg.attrib.update({"font-family": sh.FONT_FAMILY, "font-size": str(sh.FONT_SIZE)})
    return svg


# --- Reading the file ---------------------------------------------------------------------


def _checked_states(states: Mapping[str, str] | None) -> dict[str, str]:
    states = dict(states or {})
    unknown = sorted({str(v) for v in states.values() if v not in STATE_LABELS})
    if unknown:
        raise DiagramError(f"unknown state(s) {unknown}; use one of {sorted(STATE_LABELS)}")
    return states


def _checked_taken(taken: Collection[str] | None) -> frozenset[str] | None:
    if taken is None:
        return None
    if isinstance(taken, (str, bytes)):  # a lone id would be read as a set of characters
        raise DiagramError("taken must be a collection of sequence flow ids, not a string")
    return frozenset(taken)


def _parse(bpmn_xml: str | bytes) -> etree._Element:
    if isinstance(bpmn_xml, str):
        # lxml refuses str input that declares an encoding; the text is already decoded.
        bpmn_xml = _XML_DECLARATION.sub("", bpmn_xml, count=1).encode("utf-8")
    # The file may be an untrusted upload: no external entities, no network, no DTD loading.
    # libxml2 also caps entity amplification, so a "billion laughs" fails as a syntax error.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(bpmn_xml, parser)
    except etree.XMLSyntaxError as exc:
        raise DiagramError(f"the file is not well-formed XML: {exc}") from exc
    # BPMN never needs a DTD; internal entities would still be expanded in attribute values.
    if root.getroottree().docinfo.internalDTD is not None:
        raise DiagramError("the file has a DOCTYPE declaration, which BPMN files never need")
    if root.tag != f"{_BPMN}definitions":
        raise DiagramError("the file is not BPMN 2.0 (the root element must be bpmn:definitions)")
    return root


def _bounds(node: etree._Element | None) -> Box | None:
    bounds = None if node is None else node.find("dc:Bounds", NS)
    if bounds is None:
        return None
    try:
        values = [float(bounds.get(k)) for k in ("x", "y", "width", "height")]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in values) or values[2] <= 0 or values[3] <= 0:
        return None
    return Box(*values)


def _waypoints(edge: etree._Element) -> list[tuple[float, float]]:
    found = []
    for point in edge.findall("di:waypoint", NS):
        try:
            x, y = float(point.get("x")), float(point.get("y"))
        except (TypeError, ValueError):
            continue
        if math.isfinite(x) and math.isfinite(y):
            found.append((x, y))
    return found


def _read_di(
    root: etree._Element, elements: dict[str, etree._Element]
) -> tuple[list[Shape], list[Edge]]:
    """Shapes and edges of the first diagram, each paired with its BPMN element.

    Elements without usable bounds or waypoints are skipped rather than failing the whole page.
    """
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    if plane is None:
        raise DiagramError(
            "the file has no diagram interchange (BPMNDI), so there is no layout to draw; "
            "open and save it in Camunda Modeler or bpmn.io to add one"
        )
    shapes, edges = [], []
    for di in plane.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
        elem = elements.get(di.get("bpmnElement"))
        box = _bounds(di)
        if elem is not None and box is not None:
            shapes.append(Shape(elem, box, _bounds(di.find("bpmndi:BPMNLabel", NS)), di))
    for di in plane.iter(f"{{{NS['bpmndi']}}}BPMNEdge"):
        elem = elements.get(di.get("bpmnElement"))
        points = _waypoints(di)
        if elem is not None and len(points) >= 2:
            edges.append(Edge(elem, points, _bounds(di.find("bpmndi:BPMNLabel", NS))))
    if not shapes:
        raise DiagramError("the file's diagram interchange (BPMNDI) has no shapes with bounds")
    return shapes, edges


def _process_name(root: etree._Element) -> str | None:
    for path in ("bpmn:process[@name]", "bpmn:collaboration/bpmn:participant[@name]"):
        found = root.find(path, NS)
        if found is not None and found.get("name", "").strip():
            return found.get("name").strip()
    return None


def _kind(elem: etree._Element) -> str:
    return etree.QName(elem).localname


def _event_kind(elem: etree._Element) -> str | None:
    kinds = [
        _kind(c)[: -len("EventDefinition")] for c in elem if _kind(c).endswith("EventDefinition")
    ]
    return kinds[0] if len(kinds) == 1 else None


def _name(elem: etree._Element) -> str:
    if _kind(elem) == "textAnnotation":
        return (elem.findtext("bpmn:text", "", NS) or "").strip()
    return (elem.get("name") or "").strip()


# --- Drawing ------------------------------------------------------------------------------


def _draw_order(shape: Shape) -> tuple[int, float]:
    """Containers first (outer before inner), boundary events last, so nothing hides behind."""
    kind = _kind(shape.elem)
    if kind == "participant":
        return (0, 0)
    if kind == "lane":
        return (1, 0)
    if kind in ("subProcess", "transaction") and shape.di.get("isExpanded") == "true":
        return (2, -shape.box.w * shape.box.h)
    if kind == "boundaryEvent":
        return (5, 0)
    return (3 if kind == "textAnnotation" else 4, 0)


class _Drawing:
    """One rendering: draws shapes and edges into an SVG root and tracks the extent of the ink."""

    # How each BPMN element type is drawn (method names); anything else is skipped.
    DRAWERS = {"participant": "_pool", "lane": "_lane", "textAnnotation": "_annotation"}
    DRAWERS |= dict.fromkeys(ACTIVITIES, "_activity") | dict.fromkeys(EVENTS, "_event")
    DRAWERS |= dict.fromkeys(GATEWAYS, "_gateway")

    def __init__(
        self,
        states: dict[str, str],
        label: str,
        elements: dict[str, etree._Element],
        taken: frozenset[str] | None = None,
        legend: Mapping[str, str] | None = None,
    ):
        self.states = states
        self.taken = taken
        self.legend = legend
        self.elements = elements
        self.svg = sh.svg_root(label)
        self.background = el(self.svg, "rect", fill="#ffffff")
        self.layer = el(self.svg, "g", class_="bpmn-elements")
        self.bounds = [math.inf, math.inf, -math.inf, -math.inf]  # x0, y0, x1, y1 of all ink
        self.drawn: set[str] = set()

    def render(self, shapes: list[Shape], edges: list[Edge]) -> str:
        for shape in sorted(shapes, key=_draw_order):
            self._draw_shape(shape)
        for edge in edges:
            self._draw_edge(edge)
        x, y = self.bounds[0], self.bounds[3] + 24  # the legend goes under the diagram
        width = sh.legend(self.layer, x, y, self.legend)
        self._include(x, y - 10, width, 30)
        x0, y0, x1, y1 = self.bounds
        view = Box(x0 - 20, y0 - 20, x1 - x0 + 40, y1 - y0 + 40)
        sh.set_box(self.background, view)
        self.svg.set("viewBox", f"{num(view.x)} {num(view.y)} {num(view.w)} {num(view.h)}")
        self.svg.set("width", num(view.w))
        self.svg.set("height", num(view.h))
        return etree.tostring(self.svg, encoding="unicode")

    def _include(self, x: float, y: float, w: float, h: float) -> None:
        b = self.bounds
        b[:] = [min(b[0], x), min(b[1], y), max(b[2], x + w), max(b[3], y + h)]

    def _group(self, elem: etree._Element, state: str) -> etree._Element:
        """The element's <g>, with a Chinese tooltip such as 用户任务：审核（已完成）."""
        kind = _kind(elem)
        type_label = TYPE_LABELS.get(kind, kind)
        event_kind = _event_kind(elem)
        if event_kind in EVENT_KINDS:
            type_label = EVENT_KINDS[event_kind] + type_label
        text = f"{type_label}：{_name(elem)}" if _name(elem) else type_label
        if state in STATE_LABELS:
            text += f"（{STATE_LABELS[state]}）"
        group = el(self.layer, "g", id=f"el-{elem.get('id')}", class_=f"bpmn-{kind} state-{state}")
        el(group, "title", text)
        return group

    def _draw_shape(self, shape: Shape) -> None:
        elem, kind, b = shape.elem, _kind(shape.elem), shape.box
        if kind not in self.DRAWERS or elem.get("id") in self.drawn:
            return  # data objects, groups and the like are not drawn
        self.drawn.add(elem.get("id"))
        state = self.states.get(elem.get("id"), "neutral")
        group = self._group(elem, state)
        getattr(self, self.DRAWERS[kind])(group, shape, STYLES[state])
        self._include(b.x, b.y, b.w, b.h)
        if state != "neutral" and kind not in ("participant", "lane"):
            sh.badge(group, state, b.x + b.w - 2, b.y + 2)

    def _pool(self, group: etree._Element, shape: Shape, style: sh.Style) -> None:
        sh.rect(group, shape.box, fill="#ffffff", **sh.stroke_attrs(style))
        self._header(group, shape, style)

    def _lane(self, group: etree._Element, shape: Shape, style: sh.Style) -> None:
        sh.rect(group, shape.box, fill="none", **sh.stroke_attrs(style, 1))
        self._header(group, shape, style)

    def _header(self, group: etree._Element, shape: Shape, style: sh.Style) -> None:
        """The name header: a strip on the left (or on top of a vertical pool)."""
        b, name = shape.box, _name(shape.elem)
        if shape.di.get("isHorizontal") == "false":
            el(group, "path", d=f"M{num(b.x)},{num(b.y + HEADER)} h{num(b.w)}", stroke=style.stroke)
            lines = sh.layout_text(name, b.w - 8, 1)
            sh.text_block(group, lines, b.cx, b.y + HEADER / 2, style.text)
        elif _kind(shape.elem) == "participant" or name:
            el(group, "path", d=f"M{num(b.x + HEADER)},{num(b.y)} v{num(b.h)}", stroke=style.stroke)
            sh.vertical_text(group, name, b.x + HEADER / 2, b.cy, b.h - 12, style.text)

    def _annotation(self, group: etree._Element, shape: Shape, style: sh.Style) -> None:
        b = shape.box
        bracket = f"M{num(b.x + 12)},{num(b.y)} H{num(b.x)} V{num(b.y + b.h)} H{num(b.x + 12)}"
        el(group, "path", d=bracket, fill="none", stroke=style.stroke)
        lines = sh.layout_text(_name(shape.elem), b.w - 10, int(b.h // LINE_HEIGHT))
        sh.text_block(group, lines, b.cx, b.cy, style.text)

    def _activity(self, group: etree._Element, shape: Shape, style: sh.Style) -> None:
        b, elem, kind = shape.box, shape.elem, _kind(shape.elem)
        expanded = shape.di.get("isExpanded") == "true"
        border = 3.5 if kind == "callActivity" else 1.5  # a call activity has a bold border
        sh.rect(group, b, rx=10, fill=style.fill, **sh.stroke_attrs(style, border))
        if kind == "transaction":  # a transaction has a double border
            inner = Box(b.x + 3, b.y + 3, b.w - 6, b.h - 6)
            sh.rect(group, inner, rx=7, fill="none", stroke=style.stroke)
        has_glyph = sh.task_glyph(group, kind, b.x + 7, b.y + 6, style.stroke)
        markers = self._loop_markers(elem)
        if kind in ("subProcess", "transaction", "callActivity") and not expanded:
            markers.append("collapsed")
        sh.bottom_markers(group, markers, b.cx, b.y + b.h - 2, style.stroke)
        room = b.w - 12
        if expanded:  # the name goes at the top; the inside holds the sub-process's own shapes
            lines = sh.layout_text(_name(elem), room, 2)
            sh.text_block(group, lines, b.cx, b.y + 8 + len(lines) * LINE_HEIGHT / 2, style.text)
            return
        # Centre the name, but keep it clear of the type glyph above and loop markers below.
        top = b.y + (20 if has_glyph else 6)
        bottom = b.y + b.h - (16 if markers else 6)
        lines = sh.layout_text(_name(elem), room, int((bottom - top) // LINE_HEIGHT))
        half = len(lines) * LINE_HEIGHT / 2
        sh.text_block(group, lines, b.cx, min(max(b.cy, top + half), bottom - half), style.text)

    @staticmethod
    def _loop_markers(elem: etree._Element) -> list[str]:
        if elem.find("bpmn:standardLoopCharacteristics", NS) is not None:
            return ["loop"]
        multi = elem.find("bpmn:multiInstanceLoopCharacteristics", NS)
        if multi is not None:
            return ["sequential" if multi.get("isSequential") == "true" else "parallel"]
        return []

    def _event(self, group: etree._Element, shape: Shape, style: sh.Style) -> None:
        b, elem, kind = shape.box, shape.elem, _kind(shape.elem)
        r = min(b.w, b.h) / 2
        dashed = elem.get("cancelActivity") == "false" or elem.get("isInterrupting") == "false"
        width = {"startEvent": 2, "endEvent": 4}.get(kind, 1.5)
        ring = {"fill": style.fill, **sh.stroke_attrs(style, width, dashed)}
        el(group, "circle", cx=b.cx, cy=b.cy, r=r, **ring)
        if kind not in ("startEvent", "endEvent"):  # intermediate and boundary: a double ring
            el(group, "circle", cx=b.cx, cy=b.cy, r=r - 3, **{**ring, "stroke_width": 1.5})
        throwing = kind in ("endEvent", "intermediateThrowEvent")
        sh.event_glyph(group, _event_kind(elem) or "", b.cx, b.cy, r, style.stroke, throwing)
        self._external_label(group, shape, style)

    def _gateway(self, group: etree._Element, shape: Shape, style: sh.Style) -> None:
        b, kind = shape.box, _kind(shape.elem)[: -len("Gateway")]
        el(
            group,
            "polygon",
            points=sh.diamond(b.x, b.y, b.w, b.h),
            fill=style.fill,
            stroke_linejoin="round",
            **sh.stroke_attrs(style),
        )
        # An exclusive gateway shows its X unless the file explicitly hides it.
        if kind != "exclusive" or shape.di.get("isMarkerVisible") != "false":
            sh.gateway_glyph(group, kind, b.cx, b.cy, min(b.w, b.h), style.stroke)
        self._external_label(group, shape, style)

    def _external_label(self, group: etree._Element, shape: Shape, style: sh.Style) -> None:
        """An event's or gateway's name at its label bounds, or just below the shape.

        A label the file puts beside the shape grows away from it, so a name wider than we
        expect never runs into the shape.
        """
        b, label, name = shape.box, shape.label, _name(shape.elem)
        if label is None:
            self._label(group, name, b.cx, b.y + b.h + 5, style.text)
        elif label.x >= b.x + b.w - 2:
            self._label(group, name, label.x, label.y, style.text, label.w, "start")
        elif label.x + label.w <= b.x + 2:
            self._label(group, name, label.x + label.w, label.y, style.text, label.w, "end")
        else:
            self._label(group, name, label.cx, label.y, style.text, label.w)

    def _label(
        self,
        group: etree._Element,
        text: str,
        x: float,
        top: float,
        fill: str,
        width: float = 0,
        anchor: str = "middle",
    ) -> None:
        """A name outside any shape, wrapped at bpmn.io's width or the file's label width."""
        width = max(width, EXTERNAL_LABEL_WIDTH)
        lines = sh.layout_text(text, width, 4)
        if lines:
            height = len(lines) * LINE_HEIGHT
            sh.text_block(group, lines, x, top + height / 2, fill, halo=True, anchor=anchor)
            used = max(sh.text_width(line) for line in lines)
            left = {"start": x, "end": x - used}.get(anchor, x - used / 2)
            self._include(left, top, used, height)

    def _edge_state(self, elem: etree._Element) -> str:
        """A sequence flow is done when it was taken (with `taken`), else when both its ends are
        done; an explicit state for the flow wins. Other edges are neutral unless given a state."""
        if elem.get("id") in self.states:
            return self.states[elem.get("id")]
        if _kind(elem) != "sequenceFlow":
            return "neutral"
        if self.taken is not None:
            return "done" if elem.get("id") in self.taken else "neutral"
        ends = (self.states.get(elem.get("sourceRef")), self.states.get(elem.get("targetRef")))
        return "done" if ends == ("done", "done") else "neutral"

    def _draw_edge(self, edge: Edge) -> None:
        elem, kind, pts = edge.elem, _kind(edge.elem), edge.waypoints
        if kind not in EDGES or elem.get("id") in self.drawn:
            return  # data associations are not drawn
        self.drawn.add(elem.get("id"))
        state = self._edge_state(elem)
        style = STYLES[state]
        group = self._group(elem, state)
        line = {
            "fill": "none",
            "stroke": style.stroke,
            "stroke_linejoin": "round",
            "stroke_width": min(style.width, 2.5),
            "stroke_dasharray": style.dash,
        }
        if kind == "sequenceFlow":
            line["marker_end"] = f"url(#{sh.arrow_id(state)})"
        elif kind == "messageFlow":
            line |= {
                "stroke_dasharray": "6 4",
                "marker_start": "url(#bpmn-circle-open)",
                "marker_end": "url(#bpmn-arrow-open)",
            }
        else:
            line |= {"stroke_dasharray": "2 3", "stroke_width": 1.2}
            if elem.get("associationDirection") in ("One", "Both"):
                line["marker_end"] = "url(#bpmn-arrow-open)"
        el(group, "polyline", points=sh.points(pts), **line)
        if kind == "sequenceFlow":
            self._flow_marks(group, elem, pts, style)
        for x, y in pts:
            self._include(x, y, 0, 0)
        if edge.label:
            self._label(group, _name(elem), edge.label.cx, edge.label.y, style.text, edge.label.w)
        else:
            cx, cy = sh.midpoint(pts)
            self._label(group, _name(elem), cx + 4, cy + 4, style.text)

    def _flow_marks(
        self, group: etree._Element, flow: etree._Element, pts: list, style: sh.Style
    ) -> None:
        """Default flows get a slash; conditions on flows leaving an activity or event a diamond."""
        source = self.elements.get(flow.get("sourceRef"))
        if source is None:
            return
        default = source.get("default") == flow.get("id")
        conditional = (
            flow.find("bpmn:conditionExpression", NS) is not None and _kind(source) not in GATEWAYS
        )
        sh.start_marks(group, pts[0], pts[1], style, default=default, conditional=conditional)
