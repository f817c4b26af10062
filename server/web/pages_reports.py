"""减负看板: the burden-reduction dashboard (charts drawn here as SVG, tables, filters by period,
department and street) and the handoffs behind every number. Same figures and scoping as the
API (`workflows/reports.py`); the exports reuse the API's builders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import render_template, request, url_for
from markupsafe import Markup, escape

from handoff import reports
from handoff import requests as handoff
from workflows.errors import Invalid
from workflows.queries import Page

from .. import get_db
from ..api import reports as api_reports
from . import signin
from .blueprint import PER_PAGE, bp, int_arg, pager
from .i18n import t

FILTER_ARGS = ("from", "to", "department", "street", "community")
GROUPINGS_ARGS = ("department", "street", "community")
DRILL_ARGS = ("outcome", "figure", "key")
OUTCOME_ARGS = (*reports.OUTCOMES, *reports.STATUSES, "blocked")
# the columns of the group tables: (row key, label key, drill-down arguments)
COLUMNS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("requests", "reports.fig.requests", {}),
    ("instances", "reports.fig.instances", {}),
    (
        "blocked_negative_list",
        "outcome.blocked_negative_list",
        {"outcome": "blocked_negative_list"},
    ),
    (
        "blocked_forbidden_certificate",
        "outcome.blocked_forbidden_certificate",
        {"outcome": "blocked_forbidden_certificate"},
    ),
    ("blocked_unfunded", "outcome.blocked_unfunded", {"outcome": "blocked_unfunded"}),
    ("rejected", "outcome.rejected", {"outcome": "rejected"}),
    ("refused", "outcome.refused", {"outcome": "refused"}),
    ("completed", "outcome.completed", {"outcome": "completed"}),
    ("running", "reports.fig.running", {"outcome": "running"}),
    ("cancelled", "outcome.cancelled", {"outcome": "cancelled"}),
    ("terminated", "outcome.terminated", {"outcome": "terminated"}),
    ("agreed", "money.agreed", {"figure": "funded"}),
    ("transferred", "money.transferred", {"figure": "funded"}),
    ("outstanding", "money.outstanding", {"figure": "outstanding"}),
    ("refunded", "money.refunded", {"outcome": "terminated"}),
    ("kept", "money.kept", {"outcome": "terminated"}),
    ("work_before_money", "reports.fig.work_before_money", {"figure": "work_before_money"}),
    ("overdue_now", "reports.fig.overdue_now", {"figure": "overdue_now"}),
    ("overdue_tasks", "reports.fig.overdue_tasks", {"figure": "overdue"}),
    ("avg_score", "reports.fig.avg_score", {"figure": "evaluated"}),
)
MONEY = {"agreed", "transferred", "outstanding", "refunded", "kept"}
# the blocked handoffs per department, stacked in this order, with their colours
BLOCKED_SERIES = {
    "blocked_unfunded": "#c2410c",
    "blocked_negative_list": "#7c3aed",
    "blocked_forbidden_certificate": "#be185d",
}
HOLD_ROLE = {"department": "department", "street": "street_office", "community": "committee"}


# --- reading the question from the query string ---------------------------------------------


def _date(name: str, errors: dict[str, str]) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        errors[name] = t("reports.bad_date")
        return None


def _question() -> tuple[reports.Period, reports.Filters, dict[str, str], dict[str, str]]:
    """The period and filters asked for, errors shown beside the filters, and the arguments that
    the links on the page keep."""
    errors: dict[str, str] = {}
    start, end = _date("from", errors), _date("to", errors)
    if start and end and end <= start:
        errors["to"] = t("reports.bad_period")
        end = None
    period = reports.Period(start, end)
    chosen = {k: request.args.get(k, "").strip()[:64] for k in GROUPINGS_ARGS}
    filters = reports.Filters(**{k: v or None for k, v in chosen.items()})
    keep = {
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
        **chosen,
    }
    return period, filters, errors, {k: v for k, v in keep.items() if v}


def _summary(
    actor, period, filters, errors, *, group_percentiles: bool = False
) -> tuple[dict[str, Any], reports.Filters]:
    """The figures; the page shows stage durations for the totals only, the exports per group."""
    options = {"group_percentiles": group_percentiles}
    try:
        return api_reports.summary_dict(actor, period, filters, **options), filters
    except Invalid as exc:  # an unknown unit: say so, and show the rest without that filter
        errors.update(exc.fields or {})
        bad = set(exc.fields or {})
        kept = reports.Filters(
            **{k: None if k in bad else getattr(filters, k) for k in GROUPINGS_ARGS}
        )
        return api_reports.summary_dict(actor, period, kept, **options), kept


# --- links and charts -----------------------------------------------------------------------


def drill_url(keep: dict[str, str], extra: dict[str, Any] | None = None, **args: Any) -> str:
    """The drill-down list for the page's period and filters plus `extra` and `args`."""
    chosen = {**(extra or {}), **args}
    query = {**keep, **{k: v for k, v in chosen.items() if v not in (None, "")}}
    return url_for("web.reports_requests") + ("?" + urlencode(query) if query else "")


def bar_chart(
    rows: list[dict[str, Any]],
    series: list[tuple[str, str, str]],
    *,
    label: str,
    unit: str = "",
    decimals: int = 0,
) -> Markup:
    """A horizontal (stacked) bar chart as inline SVG. rows: {name, values: {series key: n},
    links: {series key: href}}; series: (key, legend, colour). Every bar is a link."""
    width, left, right, bar_h, gap, top = 480, 150, 64, 18, 7, 28 if len(series) > 1 else 6
    height = top + len(rows) * (bar_h + gap) + 4
    biggest = max([sum(r["values"].get(k, 0) or 0 for k, _l, _c in series) for r in rows] + [0])
    scale = (width - left - right) / biggest if biggest else 0
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'style="max-width:{width}px;font-size:13px">',
        f"<title>{escape(label)}</title>",
    ]
    if len(series) > 1:
        x = left
        for _key, legend, colour in series:
            parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
            parts.append(f'<text x="{x + 16}" y="16">{escape(legend)}</text>')
            x += 24 + 13 * len(legend)
    for index, row in enumerate(rows):
        y = top + index * (bar_h + gap)
        name = str(row["name"])
        short = name if len(name) <= 10 else name[:9] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{y + bar_h - 5}" text-anchor="end">'
            f"<title>{escape(name)}</title>{escape(short)}</text>"
        )
        x, total = float(left), 0.0
        for key, legend, colour in series:
            value = row["values"].get(key) or 0
            total += value
            w = value * scale
            if w <= 0:
                continue
            href = row["links"].get(key, "")
            tip = f"{name} · {legend}: {_number(value, decimals)}{unit}"
            parts.append(
                f'<a href="{escape(href)}"><rect x="{x:.1f}" y="{y}" width="{w:.1f}" '
                f'height="{bar_h}" fill="{colour}" rx="2"><title>{escape(tip)}</title></rect></a>'
            )
            x += w
        shown = row.get("shown") or f"{_number(total, decimals)}{unit}"
        parts.append(f'<text x="{x + 6:.1f}" y="{y + bar_h - 5}">{escape(shown)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _number(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}" if decimals else str(int(value))


def _unfunded_chart(data, keep) -> tuple[Markup, list[dict[str, Any]]]:
    rows = sorted(
        data["by_department"],
        key=lambda r: (-r["blocked_unfunded"], -r["blocked_negative_list"], r["code"] or ""),
    )
    chart_rows = [
        {
            "name": r["name"],
            "values": {o: r[o] for o in BLOCKED_SERIES},
            "links": {o: drill_url(keep, department=r["code"], outcome=o) for o in BLOCKED_SERIES},
        }
        for r in rows
    ]
    series = [(o, t(f"outcome.{o}"), BLOCKED_SERIES[o]) for o in BLOCKED_SERIES]
    return bar_chart(chart_rows, series, label=t("reports.q_unfunded"), unit=""), rows


def _holding_chart(data, keep) -> tuple[Markup, list[dict[str, Any]]]:
    rows = sorted(
        data["by_street"],
        key=lambda r: (-(r["hold_days"]["street_office"] or 0), r["code"] or ""),
    )
    chart_rows = [
        {
            "name": r["name"],
            "values": {"hold": r["hold_days"]["street_office"] or 0},
            "shown": "—" if r["hold_days"]["street_office"] is None else "",
            "links": {"hold": drill_url(keep, street=r["code"])},
        }
        for r in rows
    ]
    series = [("hold", t("reports.hold_days"), "#1d4ed8")]
    unit = t("reports.days_unit")
    return bar_chart(chart_rows, series, label=t("reports.q_holding"), unit=unit, decimals=2), rows


# --- pages ----------------------------------------------------------------------------------


@bp.get("reports")
@signin.login_required
def reports_page():
    actor = signin.actor()
    period, filters, errors, keep = _question()
    data, filters = _summary(actor, period, filters, errors)
    keep = {k: v for k, v in keep.items() if k not in errors}
    unfunded_svg, unfunded_rows = _unfunded_chart(data, keep)
    holding_svg, holding_rows = _holding_chart(data, keep)
    top_unfunded = (
        unfunded_rows[0] if unfunded_rows and unfunded_rows[0]["blocked_unfunded"] else None
    )
    top_holding = (
        holding_rows[0] if holding_rows and holding_rows[0]["hold_days"]["street_office"] else None
    )
    with get_db().read() as session:
        options = reports.unit_options(session, actor)
    return render_template(
        "reports.html",
        active_page="reports",
        data=data,
        keep=keep,
        errors=errors,
        args={k: request.args.get(k, "") for k in FILTER_ARGS},
        options=options,
        columns=COLUMNS,
        money=MONEY,
        hold_role=HOLD_ROLE,
        unit_labels={
            "department": t("reports.unit_department"),
            "street": t("reports.unit_street"),
            "community": t("reports.unit_community"),
        },
        hold_labels={
            "department": t("reports.hold_department"),
            "street": t("reports.hold_street"),
            "community": t("reports.hold_community"),
        },
        stage_names={k: t(f"taskname.{k}") for k in reports.STAGES},
        unfunded_svg=unfunded_svg,
        holding_svg=holding_svg,
        top_unfunded=top_unfunded,
        top_holding=top_holding,
        drill_url=drill_url,
        export_query=urlencode(keep),
        presets=_presets(keep),
    )


def _presets(keep: dict[str, str]) -> list[tuple[str, str]]:
    """(label key, url) of this month, this year and all time, keeping the unit filters."""
    today = handoff.today()
    month = today.replace(day=1)
    next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    year = today.replace(month=1, day=1)
    units = {k: v for k, v in keep.items() if k in GROUPINGS_ARGS}
    periods = [
        ("reports.this_month", {"from": month.isoformat(), "to": next_month.isoformat()}),
        (
            "reports.this_year",
            {"from": year.isoformat(), "to": year.replace(year=year.year + 1).isoformat()},
        ),
        ("reports.all_time", {}),
    ]
    return [(label, url_for("web.reports_page", **period, **units)) for label, period in periods]


@bp.get("reports/requests")
@signin.login_required
def reports_requests():
    actor = signin.actor()
    period, filters, errors, keep = _question()
    drill = reports.Drill(
        outcome=_choice("outcome", OUTCOME_ARGS),
        figure=_choice("figure", reports.FIGURES),
        key=_choice("key", reports.STAGES),
    )
    try:
        page = api_reports.drill_page(actor, period, filters, drill, int_arg("page"), PER_PAGE)
    except Invalid as exc:
        errors.update(exc.fields or {})
        page = {"items": [], "total": 0, "page": 1, "per_page": PER_PAGE}
    paged = Page(page["items"], page["total"], page["page"], page["per_page"])
    what = []
    if drill.outcome:
        what.append(
            t("reports.fig.running") if drill.outcome == "running" else _outcome(drill.outcome)
        )
    if drill.figure:
        what.append(t(f"reports.figure.{drill.figure}"))
    if drill.key:
        what.append(t(f"taskname.{drill.key}"))
    return render_template(
        "reports_requests.html",
        active_page="reports",
        page=paged,
        pages=pager(paged, "web.reports_requests"),
        what=what,
        keep=keep,
        errors=errors,
        back=url_for("web.reports_page") + ("?" + urlencode(keep) if keep else ""),
    )


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


def _outcome(value: str) -> str:
    if value == "blocked":
        return t("reports.fig.blocked")
    if value == "error":
        return t("state.error")
    return t(f"outcome.{value}")


@bp.get("reports/summary.csv")
@signin.login_required
def reports_csv():
    period, filters, errors, _keep = _question()
    data, _ = _summary(signin.actor(), period, filters, errors, group_percentiles=True)
    if request.args.get("table") == "stages":
        name = api_reports.filename(data, "csv").replace(".csv", "_stages.csv")
        return api_reports.download(api_reports.stages_csv_bytes(data), name, "text/csv")
    body = api_reports.csv_bytes(data)
    return api_reports.download(body, api_reports.filename(data, "csv"), "text/csv")


@bp.get("reports/summary.xlsx")
@signin.login_required
def reports_xlsx():
    period, filters, errors, _keep = _question()
    data, _ = _summary(signin.actor(), period, filters, errors, group_percentiles=True)
    body = api_reports.xlsx_bytes(data)
    return api_reports.download(body, api_reports.filename(data, "xlsx"), api_reports.XLSX)
