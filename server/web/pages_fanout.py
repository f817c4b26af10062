"""A request fanned out to many communities: withdrawing several at once, and the communities
as a spreadsheet (the request page draws the overview itself, `handoff.fanout.overview`)."""

from __future__ import annotations

from decimal import Decimal

from flask import Response, flash, redirect, request, url_for

from handoff import fanout
from handoff import queries as handoff_queries
from workflows import clock, queries

from .. import get_db, sheets
from . import fmt, signin
from .blueprint import bp, form_text
from .i18n import t


@bp.post("requests/<int:request_id>/withdraw")
@signin.login_required
def withdraw(request_id: int):
    """Withdraw the handoffs ticked on the request page (the API's `withdraw`)."""
    actor = signin.actor()
    with get_db().read() as session:
        instances = handoff_queries.request_detail(session, actor, request_id)["instances"]
    chosen = [int(v) for v in request.form.getlist("instance_id")[:2000] if v.isdigit()]
    if not chosen:
        flash(t("fanout.none_chosen"), "error")
        return redirect(url_for("web.request_page", request_id=request_id))
    result = fanout.withdraw(
        get_db(), actor, chosen, form_text("reason", 2000), {i.id for i in instances}
    )
    if result.done:
        flash(t("fanout.withdrawn", n=len(result.done)), "ok")
    if result.refused:
        flash(t("fanout.refused", n=len(result.refused)), "error")
    return redirect(url_for("web.request_page", request_id=request_id))


@bp.get("requests/<int:request_id>/communities.xlsx")
@signin.login_required
def communities_xlsx(request_id: int):
    """The request's communities as the page lists them, for a spreadsheet."""
    actor = signin.actor()
    with get_db().read() as session:
        detail = handoff_queries.request_detail(session, actor, request_id)
        instances = detail["instances"]
        ids = [i.id for i in instances]
        ledgers = {i: handoff_queries.ledger(session, i) for i in ids}
        open_tasks = queries.open_tasks_by_instance(session, ids)
        glance = fanout.overview(instances, detail["communities"], open_tasks, ledgers, clock.now())
        number = detail["request"].number
    rows = [
        [
            group.street.name if group.street else "",
            row.community.name,
            fmt.state_label(row.instance),
            "、".join(fmt.task_name(task.key, task.name) for task in row.tasks),
            fmt.when(min((t.due_at for t in row.tasks if t.due_at), default=None)),
            t("common.yes") if row.overdue else "",
            Decimal(row.ledger["agreed_fen"]) / 100,
            Decimal(row.ledger["transferred_fen"]) / 100,
            Decimal(row.ledger["outstanding_fen"]) / 100,
        ]
        for group in glance.streets
        for row in group.rows
    ]
    headers = [
        t(k)
        for k in (
            "data.street",
            "data.community",
            "instance.state",
            "request.current_step",
            "inbox.due",
            "inbox.overdue",
            "money.agreed",
            "money.transferred",
            "money.outstanding",
        )
    ]
    kinds = ["text"] * 6 + ["money"] * 3
    body = sheets.table_xlsx(number, headers, rows, kinds)
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="{number}.xlsx"',
            "Cache-Control": "no-store",
        },
    )
