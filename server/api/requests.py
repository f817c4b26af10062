"""Handoff requests: one department, one item, one handoff per target community."""

from __future__ import annotations

from flask_smorest import Blueprint

from handoff import fanout, queries
from handoff import requests as handoff

from .. import get_db
from ..auth import current_actor, login_required
from ..schemas import ListQuery, RequestCreate, RequestOut, RequestPage, WithdrawIn, WithdrawOut
from ..views import With
from .contract import may_answer
from .paging import page_body

blp = Blueprint("requests", __name__, description="委托申请 Handoff requests")


@blp.post("/requests")
@blp.arguments(RequestCreate)
@blp.response(201, RequestOut)
@may_answer(403, 404, 409)  # not a department officer; process not deployed; engine failure
@login_required
def create_request(body):
    """Launch a request: it fans out to one handoff per community (one transaction)."""
    db = get_db()
    request_id = handoff.create_request(db, current_actor(), handoff.RequestInput(**body))
    with db.read() as session:
        detail = queries.request_detail(session, current_actor(), request_id)
        return _request_body(detail)


@blp.get("/requests")
@blp.arguments(ListQuery, location="query")
@blp.response(200, RequestPage)
@login_required
def list_requests(q):
    """Requests that touch any of my org units, each with the state of its communities."""
    with get_db().read() as session:
        page = queries.requests(
            session,
            current_actor(),
            q=q.get("q"),
            sort=q["sort"],
            order=q["order"],
            page=q["page"],
            per_page=q["per_page"],
        )
        body = page_body(page)
        body["items"] = [
            _request_body(queries.request_detail(session, current_actor(), r.id))
            for r in page.items
        ]
        return body


@blp.get("/requests/<int:request_id>")
@blp.response(200, RequestOut)
@login_required
def get_request(request_id):
    with get_db().read() as session:
        return _request_body(queries.request_detail(session, current_actor(), request_id))


def _request_body(detail) -> object:
    """The request as this user may see it: only the communities in their scope."""
    communities = detail["communities"]
    instances = [
        With(i, community_code=communities[i.id].code, community_name=communities[i.id].name)
        for i in detail["instances"]
    ]
    return With(detail["request"], instances=instances)


@blp.post("/requests/<int:request_id>/withdraw")
@blp.arguments(WithdrawIn)
@blp.response(200, WithdrawOut)
@may_answer(404)
@login_required
def withdraw(body, request_id):
    """Withdraw several of a request's handoffs at once (each as `POST /instances/{id}/cancel`
    would, in a transaction of its own); those that cannot be withdrawn (signed: terminate them
    instead; reported; ended) are listed with the reason."""
    actor = current_actor()
    with get_db().read() as session:
        allowed = {i.id for i in queries.request_detail(session, actor, request_id)["instances"]}
    result = fanout.withdraw(get_db(), actor, body["instance_ids"], body["reason"], allowed)
    return {
        "withdrawn": result.done,
        "refused": [{"instance_id": i, "reason": why} for i, why in result.refused.items()],
    }
