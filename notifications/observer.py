"""The engine's own events as notifications, for every process: a task reached an inbox, a
task was escalated. Registered as an observer (`workflows.plugins.observe`), so it runs after
the process's own hooks, in the step's transaction."""

from __future__ import annotations

from workflows.hooks import HookContext, ProcessHooks
from workflows.models import Task

from . import service


class NotificationHooks(ProcessHooks):
    def task_opened(self, ctx: HookContext, task: Task) -> None:
        service.enqueue(
            ctx.session,
            "task_opened",
            f"task_opened:{task.id}",
            service.task_data(task),
            **service.task_audience(task),
            units=[task.org_unit_id],
            fresh=True,  # the row was inserted in this step
        )

    def task_escalated(self, ctx: HookContext, task: Task) -> None:
        # the task's holders hear it is overdue and escalated; the reviewers it is escalated
        # to hear it is now in their inbox too (task_audience has both)
        service.enqueue(
            ctx.session,
            "escalated",
            f"escalated:{task.id}",
            service.task_data(task),
            **service.task_audience(task),
            units=[u for u in (task.org_unit_id, task.escalation_unit_id) if u is not None],
        )
