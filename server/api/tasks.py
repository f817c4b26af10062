"""My inbox and task actions: claim, unclaim, delegate, complete."""

from __future__ import annotations

from flask_smorest import Blueprint

from workflows import queries, service

from .. import get_db
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
    "request_id",
)


@blp.get("/tasks")
@blp.arguments(InboxQuery, location="query")
@blp.response(200, TaskPage)
@login_required
def inbox(q):
    """我的待办: open tasks whose role and org unit match my memberships, or assigned to me."""
    f = queries.InboxFilter(**{k: q.get(k) for k in FILTERS})
    with get_db().read() as session:
        page = queries.inbox(
            session,
            current_actor(),
            f,
            sort=q["sort"],
            order=q["order"],
            page=q["page"],
            per_page=q["per_page"],
        )
        return page_body(page)


@blp.get("/tasks/<int:task_id>")
@blp.response(200, TaskDetailOut)
@may_answer(403)
@login_required
def get_task(task_id):
    """The task with its form (field names, types, allowed values) and the data it needs."""
    with get_db().read() as session:
        detail = queries.task_detail(session, current_actor(), task_id)
        task = detail["task"]
        return _TaskView(task, detail["form"], detail["data"])


class _TaskView:
    def __init__(self, task, form, data):
        self._task, self.form, self.data = task, form, data
        self.submitted = task.data

    def __getattr__(self, name):
        return getattr(self._task, name)


def _after(task_id):
    with get_db().read() as session:
        return queries.task_for(session, current_actor(), task_id)


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
        from workflows.models import Task

        return session.get(Task, task_id)


@blp.post("/tasks/<int:task_id>/complete")
@blp.arguments(CompleteIn)
@blp.response(200, CompleteOut)
@may_answer(403, 409)
@login_required
def complete(body, task_id):
    """Complete the task with its form data; a second completion is a 409."""
    return service.complete_task(get_db(), task_id, current_actor(), body["data"])
