"""Drawing primitives for `workflows.diagram`: SVG elements, text layout, glyphs and state styles.

Everything is built as lxml elements, never by string concatenation, so names from an uploaded
file always end up as escaped text or attribute values and cannot inject markup.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from lxml import etree

SVG_NS = "http://www.w3.org/2000/svg"
FONT_SIZE = 12
LINE_HEIGHT = 15
FONT_FAMILY = (
    "'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'Source Han Sans SC', "
    "'WenQuanYi Micro Hei', sans-serif"
)
ELLIPSIS = "…"
# CJK punctuation that must not start a line; it sticks to the character before it.
_NO_LINE_START = set("，。、；：？！）》」』】〕…,.;:?!)")
# Characters XML 1.0 cannot hold; lxml refuses them, so a caller's title is cleaned first.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Style:
    stroke: str
    fill: str
    text: str
    width: float
    dash: str | None = None


STATE_LABELS = {"done": "已完成", "active": "进行中", "waiting": "等待中", "cancelled": "已取消"}
STATE_LABELS_EN = {
    "done": "Done",
    "active": "Active",
    "waiting": "Waiting",
    "cancelled": "Cancelled",
}
STYLES = {
    "neutral": Style("#22242a", "#ffffff", "#22242a", 1.5),
    "done": Style("#2e7d32", "#e3f4e1", "#1b4d1f", 2),
    "active": Style("#e65100", "#fff3e0", "#22242a", 4),
    "waiting": Style("#1565c0", "#e8f1fb", "#22242a", 2.5, "6 3"),
    "cancelled": Style("#9e9e9e", "#f1f1f1", "#757575", 1.5),
}


# --- SVG elements -------------------------------------------------------------------------


def clean(text: str) -> str:
    return _XML_INVALID.sub("", text)


def num(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def el(parent: etree._Element, tag: str, text: str | None = None, **attrs) -> etree._Element:
    """Append an SVG element; `stroke_width=2` becomes `stroke-width="2"`, `class_` `class`."""
    node = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}")
    for key, value in attrs.items():
        if value is not None:
            name = key.rstrip("_").replace("_", "-")
            node.set(name, num(value) if isinstance(value, float | int) else clean(str(value)))
    if text is not None:
        node.text = clean(text)
    return node


def svg_root(label: str) -> etree._Element:
    """The <svg> element with its accessible name, default font and marker definitions."""
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    svg.attrib.update({"role": "img", "aria-label": clean(label), "class": "bpmn-diagram"})
    svg.attrib.update({"font-family": FONT_FAMILY, "font-size": str(FONT_SIZE)})
    el(svg, "title", label)
    add_markers(el(svg, "defs"))
    return svg


def set_box(node: etree._Element, box: Box) -> None:
    node.attrib.update(
        {"x": num(box.x), "y": num(box.y), "width": num(box.w), "height": num(box.h)}
    )


def rect(parent: etree._Element, box: Box, **attrs) -> etree._Element:
    node = el(parent, "rect", **attrs)
    set_box(node, box)
    return node


def placed(parent: etree._Element, x: float, y: float, scale: float = 1, **attrs) -> etree._Element:
    """A <g> whose origin is (x, y), so a glyph can be drawn with fixed, readable path data."""
    move = f"translate({num(x)} {num(y)})"
    return el(parent, "g", transform=move if scale == 1 else f"{move} scale({scale:.3f})", **attrs)


def points(coords: list[tuple[float, float]]) -> str:
    return " ".join(f"{num(x)},{num(y)}" for x, y in coords)


def stroke_attrs(style: Style, width: float | None = None, dashed: bool = False) -> dict:
    """Stroke of a shape: the state's colour, at least `width`, dashed for waiting or `dashed`."""
    dash = style.dash or ("5 3" if dashed else None)
    return {
        "stroke": style.stroke,
        "stroke_width": max(style.width, width or 0),
        "stroke_dasharray": dash,
    }


# --- Text ---------------------------------------------------------------------------------


def is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimated rendered width: about 1em per CJK character, 0.55em for anything else."""
    return sum(1.0 if is_wide(c) else 0.55 for c in text) * size


def _tokens(text: str, max_width: float, size: float) -> list[str]:
    """Unbreakable pieces: one CJK character, or a Latin word with its trailing spaces."""
    tokens: list[str] = []
    for piece in re.findall(r"[^\s]+\s*|\s+", text):
        word = piece.rstrip()
        if any(is_wide(c) for c in word) or text_width(word, size) > max_width:
            parts = list(word)  # CJK wraps per character; an over-long word must break anyway
            parts[-1] += piece[len(word) :]
        else:
            parts = [piece]
        for part in parts:
            if tokens and part[0] in _NO_LINE_START:
                tokens[-1] += part
            else:
                tokens.append(part)
    return tokens


def wrap_text(text: str, max_width: float, size: float = FONT_SIZE) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _tokens(paragraph.strip(), max_width, size):
            if line and text_width(line + token.rstrip(), size) > max_width:
                lines.append(line.rstrip())
                line = token
            else:
                line += token
        lines.append(line.rstrip())
    return lines if any(lines) else []


def layout_text(text: str, max_width: float, max_lines: int) -> list[str]:
    """The lines to draw: cut with an ellipsis if they do not fit.

    A short last line (an orphan like 托 under 无经费，不予委) is avoided by narrowing the width
    while the line count holds.
    """
    lines = wrap_text(text, max_width)
    max_lines = max(max_lines, 1)
    if len(lines) > max_lines:
        kept = lines[:max_lines]
        last = kept[-1]
        while last and text_width(last + ELLIPSIS) > max_width:
            last = last[:-1]
        return kept[:-1] + [last + ELLIPSIS]
    if len(lines) < 2 or text_width(lines[-1]) >= max_width / 3:
        return lines
    while max_width > FONT_SIZE:
        narrower = wrap_text(text, max_width - FONT_SIZE / 2)
        if len(narrower) != len(lines):
            break
        lines, max_width = narrower, max_width - FONT_SIZE / 2
    return lines


def text_block(
    parent: etree._Element,
    lines: list[str],
    x: float,
    cy: float,
    fill: str,
    halo: bool = False,
    anchor: str = "middle",
) -> None:
    """Lines centred vertically on cy, aligned on x by `anchor` (start, middle or end).

    `halo` draws a white outline so the text stays legible where it crosses a line.
    """
    if not lines:
        return
    outline = {"stroke": "#ffffff", "stroke_width": 3, "stroke_linejoin": "round"}
    node = el(parent, "text", x=x, text_anchor=anchor, fill=fill, **(outline if halo else {}))
    if halo:
        node.set("paint-order", "stroke")  # the outline goes under the letters, not over them
    top = cy - len(lines) * LINE_HEIGHT / 2
    for i, line in enumerate(lines):
        # The baseline sits a little below the middle of each line box (about 0.35em).
        el(node, "tspan", line, x=x, y=top + LINE_HEIGHT * (i + 0.5) + FONT_SIZE * 0.35)


def vertical_text(
    parent: etree._Element, text: str, cx: float, cy: float, length: float, fill: str
) -> None:
    """A pool or lane name read top to bottom; CJK stays upright, Latin runs turn sideways."""
    while text and text_width(text) > length:
        text = text[:-2] + ELLIPSIS if len(text) > 1 else ""
    if text:
        el(
            parent,
            "text",
            text,
            x=cx,
            y=cy,
            fill=fill,
            text_anchor="middle",
            writing_mode="vertical-rl",
        )


# --- Markers and badges -------------------------------------------------------------------


def arrow_id(state: str) -> str:
    return f"bpmn-arrow-{state}"


def _marker(defs: etree._Element, marker_id: str, ref_x: float, **attrs) -> etree._Element:
    return el(
        defs,
        "marker",
        id=marker_id,
        viewBox="0 0 10 10",
        refX=ref_x,
        refY=5,
        markerWidth=10,
        markerHeight=10,
        markerUnits="userSpaceOnUse",
        **attrs,
    )


def add_markers(defs: etree._Element) -> None:
    """Arrowheads per state colour (marker fill cannot follow the line's stroke in SVG 1.1)."""
    for state, style in STYLES.items():
        el(
            _marker(defs, arrow_id(state), 9, orient="auto"),
            "path",
            d="M0,1 L10,5 L0,9 Z",
            fill=style.stroke,
        )
    el(
        _marker(defs, "bpmn-arrow-open", 9, orient="auto"),
        "path",
        d="M1,1 L9,5 L1,9 Z",
        fill="#ffffff",
        stroke="#22242a",
    )
    el(
        _marker(defs, "bpmn-circle-open", 5),
        "circle",
        cx=5,
        cy=5,
        r=4,
        fill="#ffffff",
        stroke="#22242a",
    )


_BADGE_GLYPHS = {
    "done": "M-4,0 l3,3 l5,-6",  # check mark
    "active": "M-2.5,-4 l6.5,4 l-6.5,4 Z",  # "running" triangle
    "waiting": "M0,-4.5 a4.5,4.5 0 1 1 0,9 a4.5,4.5 0 1 1 0,-9 M0,-3 V0 H2.5",  # clock
    "cancelled": "M-3.5,-3.5 l7,7 M3.5,-3.5 l-7,7",  # cross
}


def badge(parent: etree._Element, state: str, cx: float, cy: float) -> None:
    """A round badge whose glyph tells the state without relying on colour."""
    if state not in _BADGE_GLYPHS:
        return
    group = placed(parent, cx, cy, class_="bpmn-badge")
    el(group, "circle", r=8, fill=STYLES[state].stroke, stroke="#ffffff", stroke_width=1.5)
    el(
        group,
        "path",
        d=_BADGE_GLYPHS[state],
        stroke="#ffffff",
        stroke_linecap="round",
        stroke_width=1.4 if state == "waiting" else 2,
        fill="#ffffff" if state == "active" else "none",
    )


# --- Glyphs: task types, drawn in a 14 × 15 box ---------------------------------------------

_TASK_GLYPHS = {
    "userTask": [  # head and shoulders
        ("circle", {"cx": 7, "cy": 4, "r": 3.5}),
        ("path", {"d": "M0,15 q0,-7 7,-7 q7,0 7,7 Z"}),
    ],
    "scriptTask": [  # a scroll with lines of script
        ("path", {"d": "M3,0 h10 q-4,3.5 0,7.5 q4,3.5 0,7.5 h-10 q4,-3.5 0,-7.5 q-4,-4 0,-7.5 Z"}),
        ("path", {"d": "M4.5,3.5 h6 M5.5,7.5 h6 M4.5,11.5 h6"}),
    ],
    "serviceTask": [  # a thick dashed ring reads as gear teeth at this size
        ("circle", {"cx": 7, "cy": 7, "r": 5.5, "stroke_width": 3, "stroke_dasharray": "2.16"}),
        ("circle", {"cx": 7, "cy": 7, "r": 4.2, "fill": "currentColor"}),
        ("circle", {"cx": 7, "cy": 7, "r": 1.8, "fill": "#ffffff", "stroke": "none"}),
    ],
    "businessRuleTask": [  # a table
        ("rect", {"y": 1, "width": 14, "height": 11}),
        ("path", {"d": "M0,4.5 h14 M0,8 h14 M4.5,4.5 v7.5"}),
    ],
    "sendTask": [  # a filled envelope
        ("rect", {"y": 2, "width": 15, "height": 10, "fill": "currentColor"}),
        ("path", {"d": "M0,2 L7.5,7.5 L15,2", "stroke": "#ffffff"}),
    ],
    "receiveTask": [  # an open envelope
        ("rect", {"y": 2, "width": 15, "height": 10}),
        ("path", {"d": "M0,2 L7.5,7.5 L15,2"}),
    ],
}


def task_glyph(parent: etree._Element, kind: str, x: float, y: float, colour: str) -> bool:
    """The task type's marker in the top-left corner; False if the type has none."""
    if kind not in _TASK_GLYPHS:
        return False
    # currentColor lets fills follow the state colour set once on the group.
    group = placed(parent, x, y, color=colour, stroke=colour, fill="none", stroke_width=1.2)
    for tag, attrs in _TASK_GLYPHS[kind]:
        el(group, tag, **attrs)
    return True


_BOTTOM_MARKERS = {
    "collapsed": "M0,0 h12 v12 h-12 Z M6,3 v6 M3,6 h6",
    "parallel": "M2,0 v12 M6,0 v12 M10,0 v12",
    "sequential": "M0,2 h12 M0,6 h12 M0,10 h12",
    "loop": "M3,10 A5,5 0 1 1 9,10 l2,-3 m-2,3 l-3,-1",
}


def bottom_markers(
    parent: etree._Element, kinds: list[str], cx: float, bottom: float, colour: str
) -> None:
    """Loop, multi-instance and collapsed sub-process markers centred along the bottom edge."""
    x = cx - (len(kinds) * 16 - 4) / 2
    for kind in kinds:
        el(
            placed(parent, x, bottom - 14),
            "path",
            d=_BOTTOM_MARKERS[kind],
            fill="none",
            stroke=colour,
            stroke_width=1.5,
        )
        x += 16


# --- Glyphs: events (drawn for r = 18) and gateways (drawn for a 50 × 50 diamond) --------------

_CLOCK_TICKS = " ".join(
    f"M{num(8 * math.cos(a))},{num(8 * math.sin(a))} L{num(9.7 * math.cos(a))},"
    f"{num(9.7 * math.sin(a))}"
    for a in (math.pi * i / 6 for i in range(12))
)
_CONTRAST = "contrast"  # white on a filled (throwing) glyph, the line colour on an open one
_EVENT_GLYPHS = {
    "timer": [
        ("circle", {"r": 10.5, "fill": "#ffffff"}),
        ("path", {"d": f"{_CLOCK_TICKS} M0,-7 L0,0 L5.4,1.8", "fill": "none"}),
    ],
    "terminate": [("circle", {"r": 10.8, "fill": "currentColor", "stroke": "none"})],
    "message": [
        ("rect", {"x": -9.5, "y": -6.5, "width": 19, "height": 13}),
        ("path", {"d": "M-9.5,-6.5 L0,0.5 L9.5,-6.5", "fill": "none", "stroke": _CONTRAST}),
    ],
    "escalation": [("path", {"d": "M0,-10 L7,8 L0,2 L-7,8 Z"})],
    "error": [("path", {"d": "M-9,9 L-4.5,-9 L1.8,0.9 L4.5,-5.4 L9,9 L1.8,4.5 L-4.5,-1.8 Z"})],
    "signal": [("path", {"d": "M0,-10 L9,6.3 L-9,6.3 Z"})],
}


def event_glyph(
    parent: etree._Element, kind: str, cx: float, cy: float, r: float, colour: str, filled: bool
) -> None:
    """The inner symbol of an event; `filled` for throwing and end events, as in BPMN."""
    if kind not in _EVENT_GLYPHS:
        return
    fill, contrast = (colour, "#ffffff") if filled else ("#ffffff", colour)
    group = placed(
        parent,
        cx,
        cy,
        r / 18,
        color=colour,
        stroke=colour,
        fill=fill,
        stroke_width=1.3,
        stroke_linejoin="round",
    )
    for tag, attrs in _EVENT_GLYPHS[kind]:
        attrs = {k: contrast if v == _CONTRAST else v for k, v in attrs.items()}
        el(group, tag, **attrs)


def diamond(x: float, y: float, w: float, h: float) -> str:
    return points([(x + w / 2, y), (x + w, y + h / 2), (x + w / 2, y + h), (x, y + h / 2)])


_PENTAGON = " ".join(
    f"{num(7.5 * math.sin(2 * math.pi * i / 5))},{num(-7.5 * math.cos(2 * math.pi * i / 5))}"
    for i in range(5)
)
_CROSS = "M-10,-10 L10,10 M10,-10 L-10,10"
_PLUS = "M0,-13 V13 M-13,0 H13"
_GATEWAY_GLYPHS = {
    "exclusive": [("path", {"d": _CROSS})],
    "parallel": [("path", {"d": _PLUS})],
    "complex": [("path", {"d": f"{_CROSS} {_PLUS}", "stroke_width": 2.5})],
    "inclusive": [("circle", {"r": 12, "stroke_width": 2.5})],
    "eventBased": [
        ("circle", {"r": 15, "stroke_width": 1}),
        ("circle", {"r": 12.5, "stroke_width": 1}),
        ("polygon", {"points": _PENTAGON, "stroke_width": 1}),
    ],
}


def gateway_glyph(
    parent: etree._Element, kind: str, cx: float, cy: float, size: float, colour: str
) -> None:
    if kind not in _GATEWAY_GLYPHS:
        return
    group = placed(
        parent,
        cx,
        cy,
        size / 50,
        stroke=colour,
        stroke_width=3.5,
        fill="none",
        stroke_linecap="round",
        stroke_linejoin="round",
    )
    for tag, attrs in _GATEWAY_GLYPHS[kind]:
        el(group, tag, **attrs)


# --- Flows --------------------------------------------------------------------------------


def start_marks(
    parent: etree._Element,
    start: tuple[float, float],
    toward: tuple[float, float],
    style: Style,
    *,
    default: bool,
    conditional: bool,
) -> None:
    """The default-flow slash and the conditional-flow diamond, both aligned with the first leg."""
    length = math.dist(start, toward)
    if length == 0:
        return
    ux, uy = (toward[0] - start[0]) / length, (toward[1] - start[1]) / length
    nx, ny = -uy, ux
    x, y = start
    if conditional:
        diamond_pts = [
            (x, y),
            (x + ux * 8 + nx * 5, y + uy * 8 + ny * 5),
            (x + ux * 16, y + uy * 16),
            (x + ux * 8 - nx * 5, y + uy * 8 - ny * 5),
        ]
        el(
            parent,
            "polygon",
            points=points(diamond_pts),
            fill="#ffffff",
            stroke=style.stroke,
            stroke_width=1.3,
            class_="bpmn-condition-mark",
        )
    if default:
        # A slash across the line, a little way out so it clears the source's border.
        px, py = x + ux * (22 if conditional else 9), y + uy * (22 if conditional else 9)
        a = (px - (ux - nx) * 4.5, py - (uy - ny) * 4.5)
        b = (px + (ux - nx) * 4.5, py + (uy - ny) * 4.5)
        el(
            parent,
            "path",
            d=f"M{num(a[0])},{num(a[1])} L{num(b[0])},{num(b[1])}",
            stroke=style.stroke,
            stroke_width=1.5,
            class_="bpmn-default-mark",
        )


def midpoint(pts: list[tuple[float, float]]) -> tuple[float, float]:
    """The point halfway along a polyline, where a flow's name goes if it has no label bounds."""
    legs = list(pairwise(pts))
    remaining = sum(math.dist(a, b) for a, b in legs) / 2
    for a, b in legs:
        length = math.dist(a, b)
        if 0 < length and remaining <= length:
            t = remaining / length
            return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
        remaining -= length
    return pts[0]


# --- Legend -------------------------------------------------------------------------------


def legend(
    parent: etree._Element, x: float, y: float, words: Mapping[str, str] | None = None
) -> float:
    """The state key as a row starting at (x, y), in the reader's `words` ({"title": …, state:
    label}) or else Chinese and English; returns its width."""
    group = el(parent, "g", class_="bpmn-legend")
    el(group, "title", words.get("title", "图例") if words else "图例 Legend")
    start = x
    for state, label in STATE_LABELS.items():
        style = STYLES[state]
        rect(group, Box(x, y, 30, 20), rx=5, fill=style.fill, **stroke_attrs(style, 1.5))
        badge(group, state, x + 28, y + 2)
        text = words.get(state, label) if words else f"{label} {STATE_LABELS_EN[state]}"
        el(group, "text", text, x=x + 44, y=y + 14, fill="#22242a")
        x += 44 + text_width(text) + 24
    return x - start
