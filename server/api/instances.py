"""Process instances: state, data, open tasks, history, agreement, money, diagram."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from workflows import queries, service

from .. import get_db
from ..auth import current_actor, login_required
from ..schemas import CancelIn, InstanceOut
from .contract import may_answer

blp = Blueprint("instances", __name__, description="流程实例 Process instances")


@blp.get("/instances/<int:instance_id>")
@blp.response(200, InstanceOut)
@login_required
def get_instance(instance_id):
    with get_db().read() as session:
        return queries.instance_detail(session, current_actor(), instance_id)


@blp.get("/instances/<int:instance_id>/diagram.svg")
@blp.response(200, content_type="image/svg+xml")
@login_required
def instance_diagram(instance_id):
    """The BPMN drawn from its diagram interchange, with done / active / waiting marked."""
    from workflows import diagram

    with get_db().read() as session:
        detail = queries.instance_detail(session, current_actor(), instance_id)
        instance = detail["instance"]
        svg = diagram.render_svg(
            instance.definition.bpmn_xml, detail["states"], title=instance.title
        )
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@blp.post("/instances/<int:instance_id>/cancel")
@blp.arguments(CancelIn, required=False)
@blp.response(200, InstanceOut)
@may_answer(403, 409)
@login_required
def cancel_instance(body, instance_id):
    """Cancel a running handoff (the requesting department or an admin)."""
    db = get_db()
    with db.read() as session:  # what you may not see is not there (404), as for reads
        queries.instance_for(session, current_actor(), instance_id)
    service.cancel_instance(db, instance_id, current_actor(), body.get("reason", ""))
    with db.read() as session:
        return queries.instance_detail(session, current_actor(), instance_id)
