"""Process instances: list, state, data, open tasks, history, diagram, cancel."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from handoff import queries as handoff_queries
from workflows import diagram, queries, service

from .. import get_db
from ..auth import current_actor, login_required
from ..schemas import CancelIn, InstanceListQuery, InstanceOut, InstancePage
from .contract import may_answer
from .paging import page_body

blp = Blueprint("instances", __name__, description="流程实例 Process instances")

FILTERS = ("process", "state", "outcome", "started_by_me", "business_key", "q")


@blp.get("/instances")
@blp.arguments(InstanceListQuery, location="query")
@blp.response(200, InstancePage)
@login_required
def list_instances(q):
    """Instances I may read, any process: filter by process key, state, outcome, started by
    me, an org unit among its parties (code) or business key."""
    actor = current_actor()
    with get_db().read() as session:
        unit = None
        if q.get("org_unit"):
            unit = queries.org_unit_id(session, q["org_unit"]) or -1
        f = queries.InstanceFilter(org_unit=unit, **{k: q.get(k) for k in FILTERS if k in q})
        page = queries.instances(
            session,
            actor,
            f,
            sort=q["sort"],
            order=q["order"],
            page=q["page"],
            per_page=q["per_page"],
        )
        return page_body(page)


def instance_body(session, instance_id: int) -> dict:
    return handoff_queries.instance_view(session, current_actor(), instance_id)


@blp.get("/instances/<int:instance_id>")
@blp.response(200, InstanceOut)
@login_required
def get_instance(instance_id):
    with get_db().read() as session:
        return instance_body(session, instance_id)


@blp.get("/instances/<int:instance_id>/diagram.svg")
@blp.response(200, content_type="image/svg+xml")
@login_required
def instance_diagram(instance_id):
    """The BPMN drawn from its diagram interchange, with done / active / waiting marked and
    the path actually taken coloured."""
    with get_db().read() as session:
        detail = queries.instance_detail(session, current_actor(), instance_id)
        instance = detail["instance"]
        svg = diagram.render_svg(
            instance.definition.bpmn_xml,
            detail["states"],
            title=instance.title,
            taken=detail["taken"],
        )
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@blp.post("/instances/<int:instance_id>/cancel")
@blp.arguments(CancelIn, required=False)
@blp.response(200, InstanceOut)
@may_answer(403, 409)
@login_required
def cancel_instance(body, instance_id):
    """Cancel a running instance (the process's rule: by default an admin or its starter; a
    handoff: the requesting department or an admin)."""
    db = get_db()
    with db.read() as session:  # what you may not see is not there (404), as for reads
        queries.instance_for(session, current_actor(), instance_id)
    service.cancel_instance(db, instance_id, current_actor(), body.get("reason", ""))
    with db.read() as session:
        return instance_body(session, instance_id)
