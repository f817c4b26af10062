"""Camunda's literal ISO 8601 timer forms: recognise them, judge them, hand them to SpiffWorkflow.

Camunda reads a timer's text as a literal (``P10D``, ``2027-01-04T09:00:00+08:00``, ``R3/PT1H``)
unless it is a ``${...}`` expression. SpiffWorkflow instead evaluates every timer text as an
expression, so a literal has to be quoted (``"P10D"``) before parsing: `quote_literal_timers`.
`literal_problem` says, in words for the modeller, why a literal cannot run (or is not sensible).
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Literal

from lxml import etree

__all__ = [
    "ISO_LITERAL",
    "TimerKind",
    "literal_problem",
    "literal_timer",
    "looks_literal",
    "quote_literal_timers",
]

TimerKind = Literal["timeDate", "timeDuration", "timeCycle"]
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# Durations: PnW alone, or years/months/days then T hours/minutes/seconds (fraction on seconds
# only, as SpiffWorkflow's parser accepts a fraction only on the last designator).
_TIME = r"T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?"
_DURATION = rf"P(?:\d+W|(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+D)?(?:{_TIME})?)"
# The offset is optional here because Camunda accepts local times; `literal_problem` refuses them.
_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?"
_CYCLE = rf"R\d*/(?:{_DATETIME}/)?{_DURATION}"

ISO_LITERAL: re.Pattern[str] = re.compile(rf"\A(?:{_CYCLE}|{_DATETIME}|{_DURATION})\Z")
_FORMS: dict[str, re.Pattern[str]] = {
    "timeDate": re.compile(rf"\A{_DATETIME}\Z"),
    "timeDuration": re.compile(rf"\A{_DURATION}\Z"),
    "timeCycle": re.compile(rf"\A{_CYCLE}\Z"),
}
# Text that was meant as a literal (so a typo is reported as a bad literal, not as an unknown
# variable named e.g. P10 that would only fail when the timer starts).
_LITERAL_ATTEMPT = re.compile(r"R\d*/|P(?:T?\d|T?\Z)|\d{4}-\d", re.IGNORECASE)

MAX_DURATION_DAYS = 3652.5  # 10 years: longer is a modelling mistake in this domain
MIN_CYCLE_SECONDS = 60  # shorter cycles only keep the timer workers busy
MAX_REPETITIONS = 1000
YEARS = (1970, 2200)
_DAYS = {"Y": 365.2425, "M": 30.436875, "W": 7.0, "D": 1.0}
_SECONDS = {"H": 3600.0, "M": 60.0, "S": 1.0}

_KIND_ZH = {"timeDate": "日期", "timeDuration": "时长", "timeCycle": "循环"}
_KIND_EN = {"timeDate": "date-time", "timeDuration": "duration", "timeCycle": "cycle"}
_EXAMPLES = {
    "timeDate": ("2027-01-04T09:00:00+08:00", "2027-01-04T09:00:00+08:00"),
    "timeDuration": ("P10D（10 天）或 PT4H（4 小时）", "P10D (10 days) or PT4H (4 hours)"),
    "timeCycle": ("R3/PT1H（每小时一次，共 3 次）或 R/P1D（每天一次）", "R3/PT1H or R/P1D"),
}

Message = tuple[str, str]  # (Chinese, English)


def literal_timer(text: str, kind: TimerKind) -> bool:
    """Whether ``text`` has the form of a Camunda literal of this timer kind (not whether it is
    sensible: see `literal_problem`)."""
    return bool(_FORMS[kind].match(text.strip()))


def looks_literal(text: str) -> bool:
    """Whether ``text`` is, or evidently was meant to be, an ISO literal (not an expression)."""
    text = text.strip()
    return bool(ISO_LITERAL.match(text) or _LITERAL_ATTEMPT.match(text))


def quote_literal_timers(root: etree._Element) -> etree._Element:
    """A copy of ``root`` where each literal timer text is a quoted string expression."""
    result = copy.deepcopy(root)
    for kind in _FORMS:
        for node in result.iter(f"{{{BPMN}}}{kind}"):
            text = (node.text or "").strip()
            if literal_timer(text, kind):  # type: ignore[arg-type]
                node.text = f'"{text}"'  # literals contain no quotes or backslashes
    return result


def literal_problem(text: str, kind: TimerKind) -> Message | None:
    """Why ``text`` is not a usable literal for this timer kind, or None when it is."""
    text = text.strip()
    shown = text if len(text) <= 60 else text[:60] + "…"
    actual = next((k for k, form in _FORMS.items() if form.match(text)), None)
    if actual is None:
        zh, en = _EXAMPLES[kind]
        return (
            f"“{shown}”不是有效的 ISO 8601 {_KIND_ZH[kind]}，应形如 {zh}",
            f"{shown!r} is not a valid ISO 8601 {_KIND_EN[kind]}; write e.g. {en}",
        )
    if actual != kind:
        return (
            f"“{shown}”是{_KIND_ZH[actual]}，但定时器类型是{_KIND_ZH[kind]}（{kind}）："
            f"请把定时器类型改为{_KIND_ZH[actual]}（{actual}），或改写时间",
            f"{shown!r} is a {_KIND_EN[actual]} but the timer type is {kind}: "
            f"change the type to {actual} or rewrite the value",
        )
    if len(text) > 60:  # only absurd numbers make a well-formed literal this long
        return (f"“{shown}”中的数字过大", f"the numbers in {shown!r} are absurdly large")
    if kind == "timeDate":
        return _date_problem(text)
    if kind == "timeDuration":
        return _duration_problem(text)
    return _cycle_problem(text)


def _date_problem(text: str) -> Message | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return (f"日期“{text}”不存在", f"the date {text!r} does not exist")
    if moment.tzinfo is None:  # the server's local zone would be a guess
        return (
            f"日期时间“{text}”没有时区：请加上时区，例如 {text}+08:00（北京时间）或 {text}Z（UTC）",
            f"the date-time {text!r} has no time zone: add one, e.g. {text}+08:00 or {text}Z",
        )
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the first representable UTC
        year = moment.year
    if not YEARS[0] <= year <= YEARS[1]:
        return (
            f"日期“{text}”不合理：年份必须在 {YEARS[0]} 到 {YEARS[1]} 之间",
            f"the date {text!r} is not sensible: the year must be in {YEARS[0]}–{YEARS[1]}",
        )
    return None


def _seconds(duration: str) -> float:
    """Approximate length (average months and years); float, so huge numbers become inf."""
    date_part, _, time_part = duration[1:].partition("T")
    days = sum(float(n) * _DAYS[unit] for n, unit in re.findall(r"(\d+)([YMWD])", date_part))
    seconds = sum(float(n) * _SECONDS[u] for n, u in re.findall(r"([\d.]+)([HMS])", time_part))
    return days * 86400 + seconds


def _duration_problem(text: str) -> Message | None:
    if _seconds(text) > MAX_DURATION_DAYS * 86400:
        return (
            f"时长“{text}”超过 10 年，不合理：请检查数字",
            f"the duration {text!r} is longer than 10 years: check the number",
        )
    return None


def _cycle_problem(text: str) -> Message | None:
    repetitions, *rest = text[1:].split("/")
    if repetitions and not 1 <= float(repetitions) <= MAX_REPETITIONS:
        return (
            f"循环“{text}”的重复次数必须在 1 到 {MAX_REPETITIONS} 之间（R/… 表示不限次数）",
            f"the cycle {text!r} must repeat 1 to {MAX_REPETITIONS} times (R/… repeats forever)",
        )
    if len(rest) == 2 and (problem := _date_problem(rest[0])):
        return problem
    interval = _seconds(rest[-1])
    if interval < MIN_CYCLE_SECONDS:
        return (
            f"循环“{text}”的间隔太短：至少 1 分钟（PT1M）",
            f"the cycle {text!r} repeats too often: the interval must be at least 1 minute (PT1M)",
        )
    return _duration_problem(rest[-1])
