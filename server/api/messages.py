"""BPMN messages from outside: correlate by name and instance data, deliver, audit."""

from __future__ import annotations

from flask_smorest import Blueprint

from workflows import messages

from .. import get_db
from ..auth import current_actor, login_required
from ..schemas import MessageIn, MessageOut
from .contract import may_answer

blp = Blueprint("messages", __name__, description="消息 BPMN messages")


@blp.post("/messages")
@blp.arguments(MessageIn)
@blp.response(200, MessageOut)
@may_answer(403, 404, 409)  # 409: the step a message starts fails (engine error, a limit)
@login_required
def send_message(body):
    """Deliver a message to every instance waiting for `name` (message catch events, receive
    tasks, message boundary events) whose data equals `correlation` key by key; `data` is
    merged into the instance. 404 when none waits; 409 when the step fails (nothing is
    delivered). Admins, or the roles the process names (its property `messageSenders`, else
    the roles of its tasks and starters), may send."""
    n = messages.deliver(get_db(), current_actor(), body["name"], body["correlation"], body["data"])
    return {"delivered": n}
