"""Per-process hooks: the records a process keeps beside its engine state.

Hooks run inside the same transaction as the engine step that triggered them. They must not
decide the flow; the BPMN does that.

The same interface serves observers (`plugins.observe`): hooks that hear of every process's
steps, after the process's own hooks, e.g. to tell people what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from .models import ProcessInstance, Task


@dataclass
class HookContext:
    session: Session
    instance: ProcessInstance
    data: dict[str, Any]  # the data of the task concerned (the instance data at that point)
    actor_id: int | None


class ProcessHooks:
    def instance_started(self, ctx: HookContext) -> None:
        """After the first engine run; raising an engine error refuses the start."""

    def task_opened(self, ctx: HookContext, task: Task) -> None:
        pass

    def task_escalated(self, ctx: HookContext, task: Task) -> None:
        """The task's overdue timer fired: it is escalated (`Task.escalation_unit_id`)."""

    def check_completion(
        self, ctx: HookContext, task: Task, form_data: dict[str, Any]
    ) -> dict[str, str]:
        """Before the step: what is wrong with the cleaned form data in the light of the
        process's own records ({field: message}, refused as a 422 like a form rule). For checks
        a pure form rule cannot make (`ProcessPlugin.form_rules`); it must not change anything.
        A step that no form data could make right now (its instance waits on something else)
        is refused by raising `errors.Conflict` (409)."""
        return {}

    def task_completed(self, ctx: HookContext, task: Task, form_data: dict[str, Any]) -> None:
        pass

    def instance_finished(self, ctx: HookContext) -> None:
        pass

    def instance_cancelled(self, ctx: HookContext) -> None:
        pass
