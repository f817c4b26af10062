"""Formatting for the pages: Beijing time, money in yuan, labels of data values."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoInspectionAvailable

from handoff.money import fen_to_yuan
from workflows import calendar, clock, workdays

from .. import get_db
from .i18n import STRINGS, lang, t, t_or

SHANGHAI = ZoneInfo("Asia/Shanghai")
DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
BIG_UNITS = ("", "万", "亿", "万亿")


def local(dt: datetime | None) -> datetime | None:
    return dt.astimezone(SHANGHAI) if dt is not None else None


def when(dt: datetime | None, with_seconds: bool = False) -> str:
    if dt is None:
        return ""
    return local(dt).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def iso(dt: datetime | date | None) -> str:
    if dt is None:
        return ""
    return local(dt).isoformat() if isinstance(dt, datetime) else dt.isoformat()


def yuan(fen: int | None) -> str:
    """12345600 -> '123,456.00'."""
    text = fen_to_yuan(int(fen or 0))
    whole, _, cents = text.partition(".")
    return f"{int(whole):,}.{cents}"


def yuan_str(value: str | None) -> str:
    """A yuan string from the data ('5000.00') grouped like yuan()."""
    try:
        return yuan(int(Decimal(str(value)) * 100))
    except (ArithmeticError, ValueError):
        return str(value or "")


def rmb_words(fen: int) -> str:
    """Chinese uppercase amount for the printed agreement: 500000 -> 人民币伍仟元整."""
    fen = int(fen)
    if fen < 0:
        return ""
    whole, cents = divmod(fen, 100)
    jiao, fen_part = divmod(cents, 10)
    out = "人民币"
    if whole:
        out += _integer_words(whole) + "元"
    if not jiao and not fen_part:
        return out + ("整" if whole else "零元整")
    if jiao:
        out += DIGITS[jiao] + "角"
    elif whole:
        out += "零"
    if fen_part:
        out += DIGITS[fen_part] + "分"
    return out


def _integer_words(n: int) -> str:
    groups: list[int] = []
    while n:
        n, rest = divmod(n, 10000)
        groups.append(rest)
    out = ""
    zero_pending = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(out)
            continue
        if out and (zero_pending or group < 1000):
            out += "零"
        out += _group_words(group) + BIG_UNITS[index]
        zero_pending = False
    return out


def _group_words(n: int) -> str:
    digits = [int(c) for c in f"{n:04d}"]
    out, zero = "", False
    for i, d in enumerate(digits):
        unit = SMALL_UNITS[3 - i]
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += DIGITS[d] + unit
    return out


def cn_number(n: int) -> str:
    """1..99 in Chinese numerals, as articles are numbered: 1 -> 一, 12 -> 十二, 20 -> 二十."""
    tens, ones = divmod(int(n), 10)
    small = "零一二三四五六七八九"
    if not 0 < n < 100:
        return str(n)
    head = "" if tens == 0 else ("十" if tens == 1 else small[tens] + "十")
    return head + (small[ones] if ones else "")


def article_no(n: int) -> str:
    """An agreement's article number: 第一条 in Chinese, Article 1 in English."""
    return t("agreement.article_no", n=cn_number(n) if lang() == "zh" else n)


def doc_date(value: date | datetime | str | None) -> str:
    """A day as a document writes it: 2026年7月1日 (Chinese), 2026-07-01 (English); a datetime
    is its day in Beijing."""
    if not value:
        return ""
    if isinstance(value, datetime):
        day = local(value).date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value)
    if lang() == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return day.isoformat()


def trigger_label(trigger: Any) -> str:
    """When an instalment of a payment plan is transferred (signing, date, acceptance)."""
    key = f"agreement.trigger.{trigger}"
    return t(key) if key in STRINGS else str(trigger or "")


def is_overdue(task: Any) -> bool:
    return bool(task.status == "open" and task.due_at is not None and task.due_at < clock.now())


def days_left(task: Any) -> str:
    """An open task's working days until its due date ("剩余 3 个工作日", "今日到期"), or how many
    it is overdue ("已超期 2 个工作日"), by the calendar in force; "" when it has no due date."""
    if task.status != "open" or task.due_at is None:
        return ""
    today = workdays.shanghai_date(clock.now())
    due_day = workdays.shanghai_date(task.due_at)
    with get_db().read() as session:  # cached per database: no query on most pages
        cal = calendar.current(session)
    if is_overdue(task):
        n = workdays.between(due_day, today, cal)
        return t("due.days_over", n=n) if n > 0 else t("due.over_today")
    n = workdays.between(today, due_day, cal)
    return t("due.days_left", n=n) if n > 0 else t("due.today")


def stage_label(stage: str) -> str:
    """A fan-out stage (`handoff.fanout.stage_of`): a task's name, or an outcome in words."""
    if stage.startswith("outcome:"):
        outcome = stage.split(":", 1)[1]
        key = f"outcome.{outcome}" if f"outcome.{outcome}" in STRINGS else f"state.{outcome}"
        return t(key)
    return t(f"taskname.{stage}") if f"taskname.{stage}" in STRINGS else stage


def option_label(option: Any) -> str:
    """An enum option of a BPMN form: the catalogue's words for the shipped processes' values
    (`decision.`, `category.` or `option.<value>`), else the option's own label (the process's
    data)."""
    for kind in ("decision", "category", "option"):
        if f"{kind}.{option['value']}" in STRINGS:
            return t_or(f"{kind}.{option['value']}", option["label"])
    return option["label"]


def state_label(instance: Any) -> str:
    """The state a person cares about: the outcome when finished, else the status."""
    if instance.outcome:
        return outcome_label(instance)
    return t(f"state.{instance.status}")


def outcome_label(instance: Any) -> str:
    """An instance's outcome in words; a process may word an outcome its own way
    (`outcome.<process key>.<outcome>`: a termination `refused` is no committee refusing to
    sign). Only a definition already loaded is asked for its key (no query from a template)."""
    key = None
    try:
        if "definition" not in sa_inspect(instance).unloaded:
            key = instance.definition.key
    except NoInspectionAvailable:
        pass
    if key and f"outcome.{key}.{instance.outcome}" in STRINGS:
        return t(f"outcome.{key}.{instance.outcome}")
    return t(f"outcome.{instance.outcome}")


def state_class(instance: Any) -> str:
    if instance.status == "running":
        return "running"
    if instance.outcome == "completed":
        return "ok"
    if instance.status == "error":
        return "bad"
    return "stopped"


def task_name(key: str, name: str = "") -> str:
    return t_or(f"taskname.{key}", name or key)


def decision(value: Any) -> str:
    return t_or(f"decision.{value}", "") or str(value)
