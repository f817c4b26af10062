"""What an e-mail or a group-robot message says, in Chinese (the pages word the same items in
the page's language from their own catalogue; a mail has no page language to follow).

Items are the JSON of `service.Item`: `kind`, `key` and what the enqueuer gave (task_name,
title, due_at, days_left, outcome_name, decision_name, amount, voucher_no …).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from workflows.workdays import SHANGHAI

KIND_NAMES = {
    "task_opened": "新待办",
    "due_soon": "即将到期",
    "overdue": "已超期",
    "escalated": "超期督办",
    "request_decided": "办理结果",
    "money_confirmed": "经费到账",
    "test": "测试消息",
}
TASK_KINDS = frozenset({"task_opened", "due_soon", "overdue", "escalated"})
APP_NAME = "社区工作事项准入与委托"


def when(value: str | None) -> str:
    """An ISO instant as Asia/Shanghai wall time (the stored value is UTC)."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return ""


def link(item: dict[str, Any], base_url: str) -> str:
    """Where the item is seen: its task page, else its instance page ('' without a base)."""
    if not base_url:
        return ""
    base = base_url.rstrip("/")
    if item.get("kind") in TASK_KINDS and item.get("task_id"):
        return f"{base}/tasks/{int(item['task_id'])}"
    if item.get("instance_id"):
        return f"{base}/instances/{int(item['instance_id'])}"
    return base + "/messages"


def line(item: dict[str, Any]) -> str:
    """One line about the item, without its kind."""
    kind = item.get("kind")
    title = str(item.get("title") or "")
    name = str(item.get("task_name") or "")
    due = when(item.get("due_at"))
    head = f"{name}：{title}" if name and title else name or title
    if kind == "task_opened":
        return head + (f"（期限 {due}）" if due else "")
    if kind == "due_soon":
        days = item.get("days_left")
        left = "今天到期" if days == 0 else f"剩余 {days} 个工作日"
        return f"{head}，{left}（期限 {due}）"
    if kind == "overdue":
        return f"{head}，已超过期限 {due}"
    if kind == "escalated":
        return f"{head}，超期未办，已督办（期限 {due}）"
    if kind == "request_decided":
        result = item.get("outcome_name") or item.get("decision_name") or ""
        return f"{title}：{result}" if result else title
    if kind == "money_confirmed":
        voucher = item.get("voucher_no")
        return f"{title}：已拨付 {item.get('amount', '')} 元" + (
            f"（凭证号 {voucher}）" if voucher else ""
        )
    if kind == "test":
        return "这是一条测试消息，收到即说明配置正确。"
    return head


def subject(items: Sequence[dict[str, Any]]) -> str:
    """An e-mail's subject, a robot message's title."""
    if len(items) == 1:
        item = items[0]
        return f"【{KIND_NAMES.get(item.get('kind'), '通知')}】{line(item)}"[:200]
    kinds = {item.get("kind") for item in items}
    if len(kinds) == 1:
        return f"【{KIND_NAMES.get(kinds.pop(), '通知')}】共 {len(items)} 项"
    return f"【通知汇总】共 {len(items)} 项"


def plain(items: Sequence[dict[str, Any]], base_url: str = "") -> str:
    """The body of an e-mail: one numbered entry per item, with its link."""
    out = [f"{APP_NAME}：您有 {len(items)} 条新通知。", ""]
    for n, item in enumerate(items, 1):
        out.append(f"{n}. 【{KIND_NAMES.get(item.get('kind'), '通知')}】{line(item)}")
        url = link(item, base_url)
        if url:
            out.append(f"   {url}")
    out += ["", "—— 本邮件由系统自动发送，请勿直接回复。可在“通知设置”中关闭邮件通知。"]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """Text inside a robot's markdown: no markup of its own."""
    for ch in "\\`*_[]<>#":
        text = text.replace(ch, " ")
    return text


def markdown(items: Sequence[dict[str, Any]], base_url: str = "", limit: int = 4000) -> str:
    """The group robots' markdown, at most `limit` UTF-8 bytes (企业微信 takes 4096): items
    that do not fit are counted in a last line."""
    head = f"**{_md(subject(items))}**"
    lines = [head]
    for n, item in enumerate(items):
        entry = f"- {_md(KIND_NAMES.get(item.get('kind'), '通知'))}：{_md(line(item))}"
        url = link(item, base_url)
        if url:
            entry += f" [查看]({url})"
        rest = f"\n\n……另有 {len(items) - n} 项，请登录系统查看"
        if len("\n".join([*lines, entry]).encode()) + len(rest.encode()) > limit:
            lines.append(rest.strip())
            break
        lines.append(entry)
    return "\n".join(lines)
