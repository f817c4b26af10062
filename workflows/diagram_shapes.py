"""Drawing primitives for `workflows.diagram`: SVG elements, text layout, glyphs and state styles.

Everything is built as lxml elements, never by string concatenation, so names from an uploaded
file always end up as escaped text or attribute values and cannot inject markup.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from lxml import etree

SVG_NS = "http://www.w3.org/2000/svg"
FONT_SIZE = 12
LINE_HEIGHT = 15
FONT_FAMILY = (
    '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", '
    '"WenQuanYi Micro Hei", sans-serif'
)
ELLIPSIS = "…"
# CJK punctuation that must not start a line; it sticks to the character before it.
_NO_LINE_START = set("，。、；：？！）》」』】〕…,.;:?!)")
# Characters XML 1.0 cannot hold; lxml refuses them, so a caller's title is cleaned first.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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


def fit_lines(lines: list[str], max_lines: int, max_width: float) -> list[str]:
    """Keep at most `max_lines`, marking the cut with an ellipsis that still fits the width."""
    if len(lines) <= max(max_lines, 1):
        return lines
    kept = lines[: max(max_lines, 1)]
    last = kept[-1]
    while last and text_width(last + ELLIPSIS) > max_width:
        last = last[:-1]
    kept[-1] = last + ELLIPSIS
    return kept


def text_block(
    parent: etree._Element, lines: list[str], cx: float, cy: float, fill: str, halo: bool = False
) -> None:
    """Lines centred on (cx, cy); `halo` draws a white outline so text stays legible over lines."""
    if not lines:
        return
    node = el(parent, "text", x=cx, text_anchor="middle", fill=fill)
    if halo:
        node.set("stroke", "#ffffff")
        node.set("stroke-width", "3")
        node.set("stroke-linejoin", "round")
        node.set("paint-order", "stroke")
    top = cy - len(lines) * LINE_HEIGHT / 2
    for i, line in enumerate(lines):
        # The baseline sits a little below the middle of each line box (about 0.35em).
        el(node, "tspan", line, x=cx, y=top + LINE_HEIGHT * (i + 0.5) + FONT_SIZE * 0.35)


def vertical_text(
    parent: etree._Element, text: str, cx: float, cy: float, length: float, fill: str
) -> None:
    """A pool or lane name read top to bottom; CJK stays upright, Latin runs turn sideways."""
    while text and text_width(text) > length:
        text = text[:-2] + ELLIPSIS if len(text) > 1 else ""
    if text:
        el(parent, "text", text, x=cx, y=cy, fill=fill, text_anchor="middle",
           writing_mode="vertical-rl")  # fmt: skip


# --- Markers and badges -------------------------------------------------------------------


def arrow_id(state: str) -> str:
    return f"bpmn-arrow-{state}"


def add_markers(defs: etree._Element) -> None:
    """Arrowheads per state colour (marker fill cannot follow the line's stroke in SVG 1.1)."""
    for state, style in STYLES.items():
        marker = el(defs, "marker", id=arrow_id(state), viewBox="0 0 10 10", refX=9, refY=5,
                    markerWidth=10, markerHeight=10, markerUnits="userSpaceOnUse",
                    orient="auto")  # fmt: skip
        el(marker, "path", d="M0,1 L10,5 L0,9 Z", fill=style.stroke)
    marker = el(defs, "marker", id="bpmn-arrow-open", viewBox="0 0 10 10", refX=9, refY=5,
                markerWidth=10, markerHeight=10, markerUnits="userSpaceOnUse", orient="auto")  # fmt: skip
    el(marker, "path", d="M1,1 L9,5 L1,9 Z", fill="#ffffff", stroke="#22242a")
    marker = el(defs, "marker", id="bpmn-circle-open", viewBox="0 0 10 10", refX=5, refY=5,
                markerWidth=9, markerHeight=9, markerUnits="userSpaceOnUse")  # fmt: skip
    el(marker, "circle", cx=5, cy=5, r=4, fill="#ffffff", stroke="#22242a")


def badge(parent: etree._Element, state: str, cx: float, cy: float) -> None:
    """A round badge whose glyph tells the state without relying on colour."""
    if state not in STATE_LABELS:
        return
    group = el(parent, "g", class_="bpmn-badge")
    el(group, "circle", cx=cx, cy=cy, r=8, fill=STYLES[state].stroke, stroke="#ffffff",
       stroke_width=1.5)  # fmt: skip
    glyph = {"stroke": "#ffffff", "stroke_width": 2, "fill": "none", "stroke_linecap": "round"}
    if state == "done":  # check mark
        el(group, "path", d=f"M{num(cx - 4)},{num(cy)} l3,3 l5,-6", **glyph)
    elif state == "active":  # "running" triangle
        d = f"M{num(cx - 2.5)},{num(cy - 4)} L{num(cx + 4)},{num(cy)} L{num(cx - 2.5)},{num(cy + 4)} Z"
        el(group, "path", d=d, fill="#ffffff")
    elif state == "waiting":  # clock
        el(group, "circle", cx=cx, cy=cy, r=4.5, **{**glyph, "stroke_width": 1.4})
        el(group, "path", d=f"M{num(cx)},{num(cy - 3)} V{num(cy)} H{num(cx + 2.5)}",
           **{**glyph, "stroke_width": 1.4})  # fmt: skip
    else:  # cancelled: a cross
        d = f"M{num(cx - 3.5)},{num(cy - 3.5)} l7,7 M{num(cx + 3.5)},{num(cy - 3.5)} l-7,7"
        el(group, "path", d=d, **glyph)


# --- Glyphs: task types -------------------------------------------------------------------


def user_glyph(parent: etree._Element, x: float, y: float, colour: str) -> None:
    el(parent, "circle", cx=x + 7, cy=y + 4, r=3.5, fill="none", stroke=colour, stroke_width=1.3)
    d = f"M{num(x)},{num(y + 15)} q0,-7 7,-7 q7,0 7,7 Z"
    el(parent, "path", d=d, fill="none", stroke=colour, stroke_width=1.3)


def script_glyph(parent: etree._Element, x: float, y: float, colour: str) -> None:
    outline = (
        f"M{num(x + 3)},{num(y)} h10 q-4,3.5 0,7.5 q4,3.5 0,7.5 h-10 q4,-3.5 0,-7.5 q-4,-4 0,-7.5 Z"
    )
    lines = " ".join(f"M{num(x + 4.5)},{num(y + dy)} h6" for dy in (3.5, 7.5, 11.5))
    el(parent, "path", d=outline, fill="none", stroke=colour, stroke_width=1.2)
    el(parent, "path", d=lines, fill="none", stroke=colour, stroke_width=1)


def service_glyph(parent: etree._Element, x: float, y: float, colour: str) -> None:
    # A thick dashed ring reads as gear teeth at this size; eight teeth around r = 5.5.
    tooth = 2 * math.pi * 5.5 / 16
    el(parent, "circle", cx=x + 7, cy=y + 7, r=5.5, fill="none", stroke=colour, stroke_width=3,
       stroke_dasharray=f"{num(tooth)} {num(tooth)}")  # fmt: skip
    el(parent, "circle", cx=x + 7, cy=y + 7, r=4.2, fill=colour)
    el(parent, "circle", cx=x + 7, cy=y + 7, r=1.8, fill="#ffffff")


def envelope_glyph(
    parent: etree._Element, cx: float, cy: float, w: float, colour: str, filled: bool
) -> None:
    h = w * 0.68
    x, y = cx - w / 2, cy - h / 2
    el(parent, "rect", x=x, y=y, width=w, height=h, fill=colour if filled else "none",
       stroke=colour, stroke_width=1.2)  # fmt: skip
    d = f"M{num(x)},{num(y)} L{num(cx)},{num(y + h * 0.55)} L{num(x + w)},{num(y)}"
    el(parent, "path", d=d, fill="none", stroke="#ffffff" if filled else colour, stroke_width=1.2)


def rule_glyph(parent: etree._Element, x: float, y: float, colour: str) -> None:
    el(parent, "rect", x=x, y=y + 1, width=14, height=11, fill="none", stroke=colour)
    d = f"M{num(x)},{num(y + 4.5)} h14 M{num(x)},{num(y + 8)} h14 M{num(x + 4.5)},{num(y + 4.5)} v7.5"
    el(parent, "path", d=d, stroke=colour)


def bottom_markers(
    parent: etree._Element, kinds: list[str], cx: float, bottom: float, colour: str
) -> None:
    """Loop, multi-instance and collapsed sub-process markers centred along the bottom edge."""
    x = cx - (len(kinds) * 16 - 4) / 2
    y = bottom - 16
    line = {"stroke": colour, "stroke_width": 1.5, "fill": "none"}
    for kind in kinds:
        if kind == "collapsed":
            el(parent, "rect", x=x, y=y, width=12, height=12, **line)
            el(
                parent,
                "path",
                d=f"M{num(x + 6)},{num(y + 3)} v6 M{num(x + 3)},{num(y + 6)} h6",
                **line,
            )
        elif kind == "parallel":
            el(
                parent,
                "path",
                d=" ".join(f"M{num(x + dx)},{num(y)} v12" for dx in (2, 6, 10)),
                **line,
            )
        elif kind == "sequential":
            el(
                parent,
                "path",
                d=" ".join(f"M{num(x)},{num(y + dy)} h12" for dy in (2, 6, 10)),
                **line,
            )
        elif kind == "loop":
            d = f"M{num(x + 3)},{num(y + 10)} A5,5 0 1 1 {num(x + 9)},{num(y + 10)} l2,-3 m-2,3 l-3,-1"
            el(parent, "path", d=d, **line)
        x += 16


# --- Glyphs: events and gateways ----------------------------------------------------------


def event_glyph(
    parent: etree._Element, kind: str, cx: float, cy: float, r: float, colour: str, filled: bool
) -> None:
    """The inner symbol of an event; `filled` for throwing and end events, as in BPMN."""
    fill = colour if filled else "none"
    line = {"stroke": colour, "stroke_width": 1.3}
    if kind == "timer":
        el(parent, "circle", cx=cx, cy=cy, r=r * 0.58, fill="#ffffff", **line)
        ticks = []
        for i in range(12):
            a = math.pi * i / 6
            ticks.append(
                f"M{num(cx + math.cos(a) * r * 0.44)},{num(cy + math.sin(a) * r * 0.44)} "
                f"L{num(cx + math.cos(a) * r * 0.54)},{num(cy + math.sin(a) * r * 0.54)}"
            )
        el(parent, "path", d=" ".join(ticks), fill="none", **line)
        hands = f"M{num(cx)},{num(cy - r * 0.4)} L{num(cx)},{num(cy)} L{num(cx + r * 0.3)},{num(cy + r * 0.1)}"
        el(parent, "path", d=hands, fill="none", **line)
    elif kind == "terminate":
        el(parent, "circle", cx=cx, cy=cy, r=r * 0.6, fill=colour)
    elif kind == "message":
        envelope_glyph(parent, cx, cy, r * 1.05, colour, filled)
    elif kind == "escalation":
        d = (
            f"M{num(cx)},{num(cy - r * 0.55)} L{num(cx + r * 0.38)},{num(cy + r * 0.45)} "
            f"L{num(cx)},{num(cy + r * 0.1)} L{num(cx - r * 0.38)},{num(cy + r * 0.45)} Z"
        )
        el(parent, "path", d=d, fill=fill, stroke_linejoin="round", **line)
    elif kind == "error":
        s = r * 0.5
        d = (
            f"M{num(cx - s)},{num(cy + s)} L{num(cx - s * 0.5)},{num(cy - s)} L{num(cx + s * 0.2)},"
            f"{num(cy + s * 0.1)} L{num(cx + s * 0.5)},{num(cy - s * 0.6)} L{num(cx + s)},"
            f"{num(cy + s)} L{num(cx + s * 0.2)},{num(cy + s * 0.5)} L{num(cx - s * 0.5)},"
            f"{num(cy - s * 0.2)} Z"
        )
        el(parent, "path", d=d, fill=fill, stroke_linejoin="round", **line)
    elif kind == "signal":
        d = (
            f"M{num(cx)},{num(cy - r * 0.55)} L{num(cx + r * 0.5)},{num(cy + r * 0.35)} "
            f"L{num(cx - r * 0.5)},{num(cy + r * 0.35)} Z"
        )
        el(parent, "path", d=d, fill=fill, stroke_linejoin="round", **line)


def diamond(x: float, y: float, w: float, h: float) -> str:
    return points([(x + w / 2, y), (x + w, y + h / 2), (x + w / 2, y + h), (x, y + h / 2)])


def gateway_glyph(
    parent: etree._Element, kind: str, cx: float, cy: float, size: float, colour: str
) -> None:
    bold = {"stroke": colour, "stroke_width": 3.5, "stroke_linecap": "round", "fill": "none"}
    s = size * 0.2
    cross = f"M{num(cx - s)},{num(cy - s)} L{num(cx + s)},{num(cy + s)} M{num(cx + s)},{num(cy - s)} L{num(cx - s)},{num(cy + s)}"  # noqa: E501
    plus = f"M{num(cx)},{num(cy - s * 1.3)} V{num(cy + s * 1.3)} M{num(cx - s * 1.3)},{num(cy)} H{num(cx + s * 1.3)}"  # noqa: E501
    if kind == "exclusive":
        el(parent, "path", d=cross, **bold)
    elif kind == "parallel":
        el(parent, "path", d=plus, **bold)
    elif kind == "complex":
        el(parent, "path", d=f"{cross} {plus}", **{**bold, "stroke_width": 2.5})
    elif kind == "inclusive":
        el(parent, "circle", cx=cx, cy=cy, r=size * 0.24, **{**bold, "stroke_width": 2.5})
    elif kind == "eventBased":
        thin = {"stroke": colour, "stroke_width": 1, "fill": "none"}
        el(parent, "circle", cx=cx, cy=cy, r=size * 0.3, **thin)
        el(parent, "circle", cx=cx, cy=cy, r=size * 0.25, **thin)
        pent = [
            (cx + math.sin(2 * math.pi * i / 5) * size * 0.15,
             cy - math.cos(2 * math.pi * i / 5) * size * 0.15)
            for i in range(5)
        ]  # fmt: skip
        el(parent, "polygon", points=points(pent), stroke_linejoin="round", **thin)
