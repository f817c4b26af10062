"""Finance (费随事转): transfers waiting for confirmation and the confirmed ones with vouchers."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from handoff.models import Agreement, LedgerEntry
from workflows import queries
from workflows.models import ProcessInstance, User

from .. import get_db
from . import signin
from .blueprint import PER_PAGE, bp, int_arg, pager


@bp.get("finance")
@signin.role_required("finance", "admin")
def finance():
    actor = signin.actor()
    with get_db().read() as session:
        waiting = queries.inbox(
            session,
            actor,
            queries.InboxFilter(key="funding"),
            sort="due_at",
            order="asc",
            page=int_arg("page"),
            per_page=PER_PAGE,
        )
        ids = [task.instance_id for task in waiting.items]
        agreed = dict(
            session.execute(
                select(Agreement.instance_id, Agreement.amount_fen).where(
                    Agreement.instance_id.in_(ids)
                )
            ).all()
        )
        instances = {
            i.id: i
            for i in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids)))
        }
        confirmed_stmt = (
            select(LedgerEntry)
            .join(ProcessInstance, ProcessInstance.id == LedgerEntry.instance_id)
            .where(LedgerEntry.kind == "transferred", queries.visible_instances(actor))
            .order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc())
        )
        confirmed = queries.paged(session, confirmed_stmt, int_arg("cpage"), PER_PAGE)
        confirmed_instances = {
            i.id: i
            for i in session.scalars(
                select(ProcessInstance).where(
                    ProcessInstance.id.in_({e.instance_id for e in confirmed.items})
                )
            )
        }
        people = {
            u.id: u
            for u in session.scalars(
                select(User).where(User.id.in_({e.actor_id for e in confirmed.items}))
            )
        }
        return render_template(
            "finance.html",
            waiting=waiting,
            waiting_pages=pager(waiting, "web.finance"),
            agreed=agreed,
            instances=instances,
            confirmed=confirmed,
            confirmed_pages=pager(confirmed, "web.finance", "cpage"),
            confirmed_instances=confirmed_instances,
            people=people,
        )
