"""减负看板 Burden-reduction reports: the figures as JSON, CSV and Excel, and the handoffs behind
every number (drill-down). The figures and their definitions are in `workflows/reports.py`."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from handoff import reports
from handoff.reports import OUTCOMES, STAGES, STATUSES

from .. import get_db
from ..auth import current_actor, login_required
from ..schemas import LocalDateTime, PageQuery, Strict
from ..sheets import safe as _xlsx_safe
from ..web.i18n import STRINGS
from .contract import may_answer

blp = Blueprint("reports", __name__, description="减负看板 Burden-reduction reports")

GROUPING_LABELS = {"department": "按部门", "street": "按街道", "community": "按社区"}
UNIT_HEADERS = {"department": "部门", "street": "街道", "community": "社区"}
# (row key, Chinese header, kind) in the order of the exports; kind: int | money | number
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("requests", "委托申请数", "int"),
    ("instances", "委托事项数（按社区）", "int"),
    ("blocked", "被拦截", "int"),
    ("blocked_negative_list", "负面清单拦截", "int"),
    ("blocked_forbidden_certificate", "不得出具证明拦截", "int"),
    ("blocked_unfunded", "无经费拦截", "int"),
    ("rejected", "审核驳回", "int"),
    ("refused", "社区拒签", "int"),
    ("completed", "已完成", "int"),
    ("running", "办理中", "int"),
    ("cancelled", "已撤销", "int"),
    ("terminated", "已终止", "int"),
    ("error", "出错", "int"),
    ("agreed", "协议金额（元）", "money"),
    ("transferred", "已拨付（元）", "money"),
    ("outstanding", "待拨付（元）", "money"),
    ("refunded", "终止退回（元）", "money"),
    ("kept", "终止留用（元）", "money"),
    ("work_before_money", "经费未到先开工", "int"),
    ("overdue_now", "当前超期待办", "int"),
    ("overdue_tasks", "曾超期环节数", "int"),
    ("evaluated", "已评价", "int"),
    ("avg_score", "平均评分", "number"),
    ("hold_days.department", "部门平均压件天数", "number"),
    ("hold_days.street_office", "街道平均压件天数", "number"),
    ("hold_days.committee", "社区平均压件天数", "number"),
)
STAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("tasks", "环节任务数", "int"),
    ("completed", "已办结", "int"),
    ("overdue", "曾超期", "int"),
    ("overdue_now", "当前超期", "int"),
    ("median_hours", "办理时长中位数（小时）", "number"),
    ("p90_hours", "办理时长90分位（小时）", "number"),
)
# one name per stage everywhere: the pages' catalogue names them as the BPMN does
STAGE_NAMES = {key: STRINGS[f"taskname.{key}"][0] for key in STAGES}
DEFINITIONS = (
    ("统计口径", "统计期内（北京时间 [起始日期, 结束日期)）发起的委托申请；每个目标社区一条委托。"),
    ("委托申请数", "不重复的委托申请数；委托事项数按社区计。"),
    ("拦截、驳回、拒签、完成、撤销、终止", "委托的办理结果；办理中为仍在运行的委托。"),
    (
        "被拦截",
        "负面清单拦截（负面清单事项，或文本含负面清单用语的清单外事项）、"
        "不得出具证明拦截与无经费拦截之和。",
    ),
    (
        "协议金额、已拨付、待拨付",
        "经费账目中约定与拨付到账之和（精确到分）；待拨付 = 协议 − 已拨付，已终止的委托不计。",
    ),
    (
        "已终止、终止退回、终止留用",
        "协议生效后经三方确认终止的委托数；终止时已拨付经费中退回部门与由社区留用的金额。",
    ),
    ("经费未到先开工", "协议有经费、但在财政确认拨付前就生成了社区办理任务的委托数，应为 0。"),
    ("当前超期待办", "现在仍未办结且已过办理期限的待办数。"),
    ("曾超期", "过期后才办结、被超期上报，或现在仍超期的待办数。"),
    ("办理时长", "已办结待办从到达到办结的小时数：中位数与 90 分位（线性插值）。"),
    ("平均评分", "街道评价环节评分的平均值。"),
    ("平均压件天数", "各方待办在手的时间（到办结、撤回或现在）按委托合计，再对经手的委托取平均。"),
)


# --- query strings --------------------------------------------------------------------------


class ReportQuery(Strict):
    from_ = fields.Date(data_key="from", metadata={"description": "first day (Asia/Shanghai)"})
    to = fields.Date(metadata={"description": "the day after the last (exclusive)"})
    department = fields.String(validate=validate.Length(min=1, max=64))
    street = fields.String(validate=validate.Length(min=1, max=64))
    community = fields.String(validate=validate.Length(min=1, max=64))

    @validates_schema
    def _period(self, data, **_kwargs):
        start, end = data.get("from_"), data.get("to")
        if start and end and end <= start:
            raise ValidationError("结束日期须晚于开始日期 'to' must be after 'from'", "to")


class DrillQuery(ReportQuery, PageQuery):
    outcome = fields.String(validate=validate.OneOf((*OUTCOMES, *STATUSES, "blocked")))
    figure = fields.String(validate=validate.OneOf(reports.FIGURES))
    key = fields.String(validate=validate.OneOf(STAGES))


# --- answers --------------------------------------------------------------------------------


class StageOut(Schema):
    key = fields.String()
    tasks = fields.Integer()
    completed = fields.Integer()
    overdue = fields.Integer()
    overdue_now = fields.Integer()
    median_hours = fields.Float(allow_none=True)
    p90_hours = fields.Float(allow_none=True)


class HoldOut(Schema):
    department = fields.Float(allow_none=True)
    street_office = fields.Float(allow_none=True)
    committee = fields.Float(allow_none=True)


class FiguresOut(Schema):
    requests = fields.Integer()
    instances = fields.Integer()
    blocked = fields.Integer()
    blocked_negative_list = fields.Integer()
    blocked_forbidden_certificate = fields.Integer()
    blocked_unfunded = fields.Integer()
    rejected = fields.Integer()
    refused = fields.Integer()
    completed = fields.Integer()
    running = fields.Integer()
    cancelled = fields.Integer()
    terminated = fields.Integer(metadata={"description": "ended by termination after signing"})
    error = fields.Integer()
    agreed = fields.String(metadata={"description": "yuan, 2 places"})
    transferred = fields.String()
    outstanding = fields.String(metadata={"description": "agreed - transferred, not terminated"})
    refunded = fields.String(metadata={"description": "refunded when terminated"})
    kept = fields.String(metadata={"description": "kept by the committee when terminated"})
    work_before_money = fields.Integer()
    overdue_now = fields.Integer()
    overdue_tasks = fields.Integer()
    evaluated = fields.Integer()
    avg_score = fields.Float(allow_none=True)
    hold_days = fields.Nested(HoldOut)
    stages = fields.List(fields.Nested(StageOut))


class GroupRowOut(FiguresOut):
    code = fields.String(allow_none=True)
    name = fields.String()


class PeriodOut(Schema):
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)
    timezone = fields.String()


class EmergencyOut(Schema):
    """临时性紧急事项 ordered in the period, and their filings afterwards."""

    orders = fields.Integer()
    late_filings = fields.Integer(metadata={"description": "filings escalated as overdue"})
    open_filings = fields.Integer()
    filed = fields.Integer()


class NegotiationOut(Schema):
    """协商: how often and by how much the communities negotiated, per requesting department."""

    department = fields.String()
    department_name = fields.String()
    reached_signing = fields.Integer(metadata={"description": "handoffs with an agreement"})
    negotiated = fields.Integer(metadata={"description": "of those, counter-proposed"})
    rounds = fields.Integer()
    requested = fields.String(metadata={"description": "yuan first requested (negotiated ones)"})
    agreed = fields.String(metadata={"description": "yuan in their agreements now"})
    change = fields.String()
    change_percent = fields.Float(allow_none=True)


class InstalmentsOut(Schema):
    """分期拨付 of the agreements in force, by when an instalment is paid."""

    trigger = fields.String(metadata={"description": "signing | date | acceptance"})
    instalments = fields.Integer()
    agreed = fields.String()
    transferred = fields.String()
    outstanding = fields.String()
    overdue = fields.Integer(metadata={"description": "funding tasks open past their due date"})


class SummaryOut(Schema):
    period = fields.Nested(PeriodOut)
    filters = fields.Dict()
    scope = fields.String()
    generated_at = fields.String()
    totals = fields.Nested(FiguresOut)
    by_department = fields.List(fields.Nested(GroupRowOut))
    by_street = fields.List(fields.Nested(GroupRowOut))
    by_community = fields.List(fields.Nested(GroupRowOut))
    emergency = fields.Nested(EmergencyOut)
    negotiation = fields.List(fields.Nested(NegotiationOut))
    instalments = fields.List(fields.Nested(InstalmentsOut))


class DrillItemOut(Schema):
    instance_id = fields.Integer()
    request_id = fields.Integer()
    number = fields.String()
    title = fields.String()
    item_code = fields.String(allow_none=True)
    item_category = fields.String()
    department = fields.String()
    department_name = fields.String()
    street = fields.String(allow_none=True)
    street_name = fields.String()
    community = fields.String(allow_none=True)
    community_name = fields.String()
    state = fields.String()
    outcome = fields.String(allow_none=True)
    created_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)
    agreed = fields.String()
    transferred = fields.String()
    outstanding = fields.String()
    score = fields.Integer(allow_none=True)


class DrillPageOut(Schema):
    items = fields.List(fields.Nested(DrillItemOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


# --- shared with the pages ------------------------------------------------------------------


def question(q: dict[str, Any]) -> tuple[reports.Period, reports.Filters]:
    period = reports.Period(q.get("from_"), q.get("to"))
    filters = reports.Filters(q.get("department"), q.get("street"), q.get("community"))
    return period, filters


def summary_dict(
    actor, period: reports.Period, filters: reports.Filters, *, group_percentiles: bool = True
) -> dict[str, Any]:
    with get_db().read() as session:
        return reports.cached_report(
            session, actor, period, filters, group_percentiles=group_percentiles
        )


def drill_page(actor, period, filters, drill, page: int, per_page: int) -> dict[str, Any]:
    with get_db().read() as session:
        stmt, units = reports.drill_statement(session, actor, period, filters, drill)
        items, total = reports.drill_rows(session, stmt, units, page, per_page)
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def _value(row: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        row = row.get(part) if isinstance(row, dict) else None
    return row


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "money":
        return Decimal(value)
    return value


def _sheets(data: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]], list[str]]]:
    """(title, headers, rows, kinds) of every table of the report."""
    kinds = [kind for _k, _h, kind in COLUMNS]
    out = []
    for name in ("department", "street", "community"):
        headers = [f"{UNIT_HEADERS[name]}编码", UNIT_HEADERS[name]] + [h for _k, h, _ in COLUMNS]
        rows = [
            [r["code"], r["name"], *(_cell(_value(r, k), kind) for k, _h, kind in COLUMNS)]
            for r in data[f"by_{name}"]
        ]
        totals = data["totals"]
        rows.append(["", "合计", *(_cell(_value(totals, k), kind) for k, _h, kind in COLUMNS)])
        out.append((GROUPING_LABELS[name], headers, rows, ["str", "str", *kinds]))
    stage_kinds = [kind for _k, _h, kind in STAGE_COLUMNS]
    headers = ["分组", "编码", "名称", "环节", "环节名称"] + [h for _k, h, _ in STAGE_COLUMNS]
    rows = []
    for label, grouped in [("合计", [dict(data["totals"], code="", name="全部")])] + [
        (UNIT_HEADERS[name], data[f"by_{name}"]) for name in ("department", "street", "community")
    ]:
        for r in grouped:
            for stage in r["stages"]:
                rows.append(
                    [
                        label,
                        r["code"],
                        r["name"],
                        stage["key"],
                        STAGE_NAMES.get(stage["key"], stage["key"]),
                        *(_cell(stage[k], kind) for k, _h, kind in STAGE_COLUMNS),
                    ]
                )
    out.append(("环节时长与超期", headers, rows, ["str"] * 5 + stage_kinds))
    return out


def _period_text(data: dict[str, Any]) -> str:
    p = data["period"]
    return f"{p['from'] or '不限'} 至 {p['to'] or '不限'}（不含结束日，北京时间）"


def csv_bytes(data: dict[str, Any]) -> bytes:
    """One CSV: a 分组 column, then the unit and its figures; the stage table after a blank line.
    UTF-8 with a byte order mark so that Excel reads the Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    headers = ["分组", "编码", "名称"] + [h for _k, h, _ in COLUMNS]
    writer.writerow(headers)
    for name in ("department", "street", "community"):
        for r in data[f"by_{name}"]:
            writer.writerow(
                [UNIT_HEADERS[name], r["code"] or "", r["name"]]
                + [_text(_value(r, k)) for k, _h, _kind in COLUMNS]
            )
    totals = data["totals"]
    writer.writerow(["合计", "", "全部"] + [_text(_value(totals, k)) for k, _h, _ in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def stages_csv_bytes(data: dict[str, Any]) -> bytes:
    title, headers, rows, _kinds = _sheets(data)[-1]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def xlsx_bytes(data: dict[str, Any]) -> bytes:
    """The workbook: one sheet per grouping (totals last), the stages, and the definitions.
    Chinese headers on the first row; money as numbers with 2 decimals."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE7F0")
    for title, headers, rows, kinds in _sheets(data):
        sheet = book.create_sheet(title)
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font, cell.fill = bold, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for row in rows:
            sheet.append([_xlsx_safe(value) for value in row])
        for index, kind in enumerate(kinds, start=1):
            fmt = {"money": "#,##0.00", "number": "0.00", "int": "0"}.get(kind)
            if fmt:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = fmt
            width = 14 if index > 2 else 18
            sheet.column_dimensions[get_column_letter(index)].width = width
        if rows and rows[-1][1] == "合计":
            for cell in sheet[sheet.max_row]:
                cell.font = bold
        sheet.freeze_panes = "C2"
    notes = book.create_sheet("说明")
    notes.append(["项目", "说明"])
    for cell in notes[1]:
        cell.font, cell.fill = bold, head_fill
    notes.append(["统计期", _period_text(data)])
    filters = ", ".join(f"{k}={v}" for k, v in data["filters"].items() if v) or "无"
    notes.append(["筛选", _xlsx_safe(filters)])
    notes.append(["生成时间", data["generated_at"]])
    for name, text in DEFINITIONS:
        notes.append([name, text])
    notes.column_dimensions["A"].width = 22
    notes.column_dimensions["B"].width = 90
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(data: dict[str, Any], ext: str) -> str:
    p = data["period"]
    return f"reports_{p['from'] or 'start'}_{p['to'] or 'now'}.{ext}"


def download(body: bytes, name: str, mimetype: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- endpoints ------------------------------------------------------------------------------


class SummaryQuery(ReportQuery):
    group_percentiles = fields.Boolean(
        load_default=True,
        metadata={"description": "false: stage medians and p90s for the totals only (faster)"},
    )


@blp.get("/reports/summary")
@blp.arguments(SummaryQuery, location="query")
@blp.response(200, SummaryOut)
@may_answer(403)  # no membership a report can be scoped to
@login_required
def summary(q):
    """The figures per department, street and community, and in total, for the requests
    created in [from, to) (Asia/Shanghai), within what the reader may see."""
    group_percentiles = q.pop("group_percentiles")
    return summary_dict(current_actor(), *question(q), group_percentiles=group_percentiles)


class CsvQuery(ReportQuery):
    table = fields.String(load_default="summary", validate=validate.OneOf(["summary", "stages"]))


@blp.get("/reports/summary.csv")
@blp.arguments(CsvQuery, location="query")
@blp.response(200, content_type="text/csv")
@may_answer(403)  # no membership a report can be scoped to
@login_required
def summary_csv(q):
    """The same figures as CSV (UTF-8 with BOM, Chinese headers); `table=stages` for the stage
    durations and overdue counts."""
    table = q.pop("table")
    data = summary_dict(current_actor(), *question(q))
    body = stages_csv_bytes(data) if table == "stages" else csv_bytes(data)
    suffix = "_stages" if table == "stages" else ""
    return download(body, filename(data, "csv").replace(".csv", f"{suffix}.csv"), "text/csv")


@blp.get("/reports/summary.xlsx")
@blp.arguments(ReportQuery, location="query")
@blp.response(200, content_type=XLSX)
@may_answer(403)  # no membership a report can be scoped to
@login_required
def summary_xlsx(q):
    """The same figures as an Excel workbook: one sheet per grouping, the stages, definitions."""
    data = summary_dict(current_actor(), *question(q))
    return download(xlsx_bytes(data), filename(data, "xlsx"), XLSX)


@blp.get("/reports/requests")
@blp.arguments(DrillQuery, location="query")
@blp.response(200, DrillPageOut)
@may_answer(403)  # no membership a report can be scoped to
@login_required
def drill_down(q):
    """The handoffs behind a number: the same period and filters, plus `outcome` (an outcome,
    `running`, `error` or `blocked`), `figure` and `key` (a stage, for the overdue figures)."""
    drill = reports.Drill(q.get("outcome"), q.get("figure"), q.get("key"))
    return drill_page(current_actor(), *question(q), drill, q["page"], q["per_page"])
