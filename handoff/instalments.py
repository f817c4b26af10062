"""The payment plan of a handoff (分期拨付): one or more instalments, each with a trigger.

- `signing` (签署后预拨): paid when the agreement is signed; the work opens when it arrives. Every
  funded plan starts with exactly one (费随事转: no work before money).
- `date` (按约定日期拨付): its funding task opens on that day (Asia/Shanghai), while the work
  goes on.
- `acceptance` (验收合格后拨付尾款): its funding task opens when the work is accepted; at most one,
  and last.

The handoff ends only when every instalment has arrived (bpmn/handoff.bpmn joins the dated and
final instalments' path with the work's). A plan is stored in fen, in the instance data as
`payment_plan` (a list of {seq, trigger, on, amount_fen}) and in the request; an instalment may
be given as an amount or as a share of the total, and the plan must add up to the total to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from workflows.forms import parse_date

from .dates import end_of_day, start_of_day
from .money import fen_to_yuan, parse_yuan, yuan_to_fen

TRIGGERS = ("signing", "date", "acceptance")
MAX_INSTALMENTS = 12
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class InstalmentInput:
    trigger: str
    amount: str | None = None
    share: str | None = None  # percent of the total, at most 2 places: "30", "33.33"
    on: str | None = None  # YYYY-MM-DD, for trigger `date` only


class PlanErrors(ValueError):
    """The plan's problems by field: `payment_plan`, `payment_plan.2.on` …"""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(fields.values()))
        self.fields = fields


def single(total_fen: int) -> list[dict[str, Any]]:
    """The plan when none is given: everything on signing (none without money)."""
    if total_fen <= 0:
        return []
    return [{"seq": 1, "trigger": "signing", "on": None, "amount_fen": total_fen}]


def plan(items: list[InstalmentInput] | None, total_fen: int, today: date) -> list[dict]:
    """The stored plan for `items`, or PlanErrors naming each problem's field."""
    if not items:
        return single(total_fen)
    if total_fen <= 0:
        raise PlanErrors({"payment_plan": "无经费的委托不设拨付计划 no payment plan without money"})
    if len(items) > MAX_INSTALMENTS:
        raise PlanErrors(
            {"payment_plan": f"最多 {MAX_INSTALMENTS} 期 at most {MAX_INSTALMENTS} instalments"}
        )
    errors: dict[str, str] = {}
    parsed = [_one(i, item, today, errors) for i, item in enumerate(items, start=1)]
    if not errors:
        _order(parsed, errors)
    if errors:
        raise PlanErrors(errors)
    return _to_fen(parsed, total_fen)


def _one(n: int, item: InstalmentInput, today: date, errors: dict[str, str]) -> dict:
    key = f"payment_plan.{n}"
    out: dict[str, Any] = {"seq": n, "trigger": item.trigger, "on": None}
    if item.trigger not in TRIGGERS:
        errors[f"{key}.trigger"] = "请选择拨付时点 choose when it is paid"
    if (item.amount is None) == (item.share is None):
        errors[f"{key}.amount"] = "金额与比例填写其一 give either an amount or a share"
    elif item.amount is not None:
        try:
            out["amount_fen"] = yuan_to_fen(parse_yuan(item.amount))
            if out["amount_fen"] <= 0:
                errors[f"{key}.amount"] = "金额须大于 0 must be more than 0"
        except ValueError as exc:
            errors[f"{key}.amount"] = str(exc)
    else:
        share = _share(item.share)
        if share is None:
            errors[f"{key}.share"] = (
                "比例为大于 0、不超过 100 的数，最多两位小数 a percentage above 0 and at most 100"
            )
        out["share"] = share
    if item.trigger == "date":
        try:
            day = parse_date(item.on or "")
            if day <= today:
                errors[f"{key}.on"] = "拨付日期须晚于今天 must be after today"
            out["on"] = day.isoformat()
        except ValueError:
            errors[f"{key}.on"] = "按日期拨付须填写日期 YYYY-MM-DD a date is required"
    elif item.on:
        errors[f"{key}.on"] = "仅按日期拨付的一期填写日期 only a dated instalment has a date"
    return out


def _share(text: str | None) -> Decimal | None:
    try:
        share = Decimal(str(text).strip())
    except InvalidOperation:
        return None
    if not share.is_finite() or share.as_tuple().exponent < -2 or not 0 < share <= HUNDRED:
        return None
    return share


def _order(parsed: list[dict], errors: dict[str, str]) -> None:
    triggers = [p["trigger"] for p in parsed]
    if triggers[0] != "signing" or triggers.count("signing") != 1:
        errors["payment_plan"] = (
            "首期须为签署后预拨，且只有一期（费随事转：经费到位才开工） "
            "the first instalment, and only it, is paid on signing: no work before money"
        )
    elif "acceptance" in triggers and (
        triggers.count("acceptance") != 1 or triggers[-1] != "acceptance"
    ):
        errors["payment_plan"] = "尾款只有一期，且为最后一期 the final payment is one, and last"
    days = [p["on"] for p in parsed if p["trigger"] == "date"]
    if days != sorted(set(days)):
        errors["payment_plan"] = "各期拨付日期须依次递增 instalment dates must increase"


def _to_fen(parsed: list[dict], total_fen: int) -> list[dict]:
    """Amounts as given; shares of the total rounded down, the last share taking the fen left
    over, so that the plan adds up exactly (or the plan is refused)."""
    fixed = sum(p["amount_fen"] for p in parsed if "amount_fen" in p)
    shares = [p for p in parsed if "share" in p]
    share_total = sum((p["share"] for p in shares), Decimal(0))
    if Decimal(fixed) + Decimal(total_fen) * share_total / HUNDRED != total_fen:
        raise PlanErrors(
            {
                "payment_plan": (
                    f"各期合计须等于委托金额 {fen_to_yuan(total_fen)} 元 "
                    f"the instalments must add up to the amount, {fen_to_yuan(total_fen)}"
                )
            }
        )
    for p in shares:
        p["amount_fen"] = int(
            (Decimal(total_fen) * p.pop("share") / HUNDRED).to_integral(ROUND_DOWN)
        )
    if shares:
        shares[-1]["amount_fen"] += total_fen - sum(p["amount_fen"] for p in parsed)
    return [{k: p[k] for k in ("seq", "trigger", "on", "amount_fen")} for p in parsed]


def rescale(plan: list[dict] | None, total_fen: int) -> list[dict]:
    """The plan in the same proportions for a negotiated total (rounded down, the last
    instalment taking what is left over); everything on signing when there was none."""
    plan = list(plan or [])
    old = sum(int(p["amount_fen"]) for p in plan)
    if total_fen <= 0:
        return []
    if not plan or old <= 0:
        return single(total_fen)
    out = [{**p, "amount_fen": int(p["amount_fen"]) * total_fen // old} for p in plan]
    out[-1]["amount_fen"] += total_fen - sum(p["amount_fen"] for p in out)
    return out


# --- for the BPMN's expressions (plugin functions) -----------------------------------------


def dated(plan: list[dict] | None) -> list[dict]:
    """The instalments paid on a date, in order."""
    return [p for p in plan or [] if p.get("trigger") == "date"]


def final(plan: list[dict] | None) -> dict | None:
    """The instalment paid after acceptance, if any."""
    return next((p for p in plan or [] if p.get("trigger") == "acceptance"), None)


def has_final(plan: list[dict] | None) -> bool:
    return final(plan) is not None


def start_of(plan: list[dict] | None, index: int) -> str:
    """When the `index`-th dated instalment's funding task opens: the start of its day in
    Asia/Shanghai, as an ISO 8601 UTC string (what a timer's timeDate expression yields)."""
    return start_of_day(dated(plan)[int(index)]["on"])


def due_fen(task_key: str, data: dict[str, Any]) -> tuple[int, int]:
    """(instalment seq, amount in fen) that the funding task `task_key` confirms.

    Instances started before payment plans (no `payment_plan`) pay everything at once."""
    plan = data.get("payment_plan")
    if plan is None:
        return 1, int(data.get("amount_fen", 0))
    if task_key == "funding_instalment":
        item = dated(plan)[int(data.get("instalment_index", 0))]
    elif task_key == "funding_final":
        item = final(plan)
    else:
        item = plan[0] if plan else {"seq": 1, "amount_fen": 0}
    return int(item["seq"]), int(item["amount_fen"])


FUNCTIONS = {
    "dated_instalments": dated,
    "has_final_instalment": has_final,
    "instalment_start": start_of,
    "rescale_plan": rescale,
    "end_of_day": end_of_day,
}
FUNDING_TASKS = ("funding", "funding_instalment", "funding_final")


def progress(plan: list[dict] | None, entries, open_tasks, now) -> list[dict[str, Any]]:
    """Each instalment of an agreed plan with what arrived (ledger transfers of its `seq`), what
    is outstanding, and whether its funding task is open past its due date.

    `open_tasks` are the handoff's open task rows; a transfer recorded before plans existed
    (no `instalment`) pays the first."""
    paid: dict[int, int] = {}
    for e in entries:
        if e.kind == "transferred":
            seq = e.instalment or 1
            paid[seq] = paid.get(seq, 0) + e.amount_fen
    late = {_seq_of_task(plan, t, paid): t for t in open_tasks if t.key in FUNDING_TASKS}
    out = []
    for p in plan or []:
        task = late.get(p["seq"])
        transferred = paid.get(p["seq"], 0)
        out.append(
            {
                **p,
                "transferred_fen": transferred,
                "outstanding_fen": max(p["amount_fen"] - transferred, 0),
                "open": task is not None,
                "overdue": task is not None and task.due_at is not None and task.due_at < now,
            }
        )
    return out


def _seq_of_task(plan: list[dict] | None, task, paid: dict[int, int]) -> int | None:
    if task.key == "funding":
        return 1
    if task.key == "funding_final":
        last = final(plan)
        return last["seq"] if last else None
    # dated instalments open one at a time, in order: the first one not paid yet is open
    return next((p["seq"] for p in dated(plan) if paid.get(p["seq"], 0) < p["amount_fen"]), None)
