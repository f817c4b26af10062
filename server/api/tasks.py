"""My inbox and task actions: claim, unclaim, delegate, complete."""

from __future__ import annotations

from flask_smorest import Blueprint

from handoff import queries as handoff_queries
from workflows import queries, service
from workflows.models import Task

from .. import get_db, metrics
from ..auth import current_actor, login_required
from ..schemas import (
    CompleteIn,
    CompleteOut,
    DelegateIn,
    InboxQuery,
    TaskDetailOut,
    TaskOut,
    TaskPage,
)
from ..views import With
from .contract import may_answer
from .paging import page_body

blp = Blueprint("tasks", __name__, description="待办任务 Tasks and the inbox")

FILTERS = (
    "role",
    "process",
    "key",
    "due_before",
    "due_after",
    "overdue",
    "claimed",
    "q",
    "business_key",
)


@blp.get("/tasks")
@blp.arguments(InboxQuery, location="query")
@blp.response(200, TaskPage)
@login_required
def inbox(q):
    """我的待办: open tasks whose role and org unit match my memberships, or assigned to me."""
    with get_db().read() as session:
        values = {k: q.get(k) for k in FILTERS}
        if q.get("request_id"):  # the handoff's own filter: its request number is the key
            number = handoff_queries.request_number(session, q["request_id"])
            values["business_key"] = number or "-"
        f = queries.InboxFilter(**values)
        page = queries.inbox(
            session,
            current_actor(),
            f,
            sort=q["sort"],
            order=q["order"],
            page=q["page"],
            per_page=q["per_page"],
        )
        page.items = with_request_ids(session, page.items)
        return page_body(page)


def with_request_ids(session, tasks):
    """Tasks with the id of their handoff request (None for other processes)."""
    ids = handoff_queries.request_ids(session, [t.instance_id for t in tasks])
    return [With(t, request_id=ids.get(t.instance_id)) for t in tasks]


@blp.get("/tasks/<int:task_id>")
@blp.response(200, TaskDetailOut)
@may_answer(403)
@login_required
def get_task(task_id):
    """The task with its form (field names, types, allowed values) and the data it needs."""
    with get_db().read() as session:
        detail = queries.task_detail(session, current_actor(), task_id)
        task = detail["task"]
        (task,) = with_request_ids(session, [task])
        return With(task, form=detail["form"], data=detail["data"], submitted=task.data)


def _after(task_id):
    with get_db().read() as session:
        return with_request_ids(session, [queries.task_for(session, current_actor(), task_id)])[0]


@blp.post("/tasks/<int:task_id>/claim")
@blp.response(200, TaskOut)
@may_answer(403, 409)
@login_required
def claim(task_id):
    service.claim_task(get_db(), task_id, current_actor())
    return _after(task_id)


@blp.post("/tasks/<int:task_id>/unclaim")
@blp.response(200, TaskOut)
@may_answer(403, 409)
@login_required
def unclaim(task_id):
    service.unclaim_task(get_db(), task_id, current_actor())
    return _after(task_id)


@blp.post("/tasks/<int:task_id>/delegate")
@blp.arguments(DelegateIn)
@blp.response(200, TaskOut)
@may_answer(403, 409)
@login_required
def delegate(body, task_id):
    service.delegate_task(get_db(), task_id, current_actor(), body["username"])
    with get_db().read() as session:
        return with_request_ids(session, [session.get(Task, task_id, populate_existing=True)])[0]


@blp.post("/tasks/<int:task_id>/complete")
@blp.arguments(CompleteIn)
@blp.response(200, CompleteOut)
@may_answer(403, 409)
@login_required
def complete(body, task_id):
    """Complete the task with its form data; a second completion is a 409."""
    return metrics.complete_task(get_db(), task_id, current_actor(), body["data"])
