"""The handoff as a process plugin: what `bpmn/handoff.bpmn` needs beside the engine."""

from __future__ import annotations

from workflows.plugins import ProcessPlugin
from workflows.service import Actor

from . import agreement, consistency, money, rules
from .requests import PROCESS_KEY


def _may_cancel(instance, actor: Actor) -> bool:
    """The requesting department (or an admin) withdraws a handoff."""
    department = instance.scope.get("department")
    return actor.is_admin or ("department", department) in actor.pairs


def handoff_plugin() -> ProcessPlugin:
    return ProcessPlugin(
        name="handoff",
        process_keys=frozenset({PROCESS_KEY}),
        hooks=agreement.HandoffHooks(),
        form_rules=rules.FORM_RULES,
        hook_fields=rules.HOOK_FIELDS,
        functions={"to_fen": money.to_fen},
        consistency_checks=(consistency.money_problems,),
        may_cancel=_may_cancel,
        own_start=True,
        start_hint="POST /api/v1/requests",
    )
