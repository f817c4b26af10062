"""The handoff as a process plugin: what `bpmn/handoff.bpmn` needs beside the engine."""

from __future__ import annotations

from sqlalchemy.orm import object_session

from workflows.errors import Conflict
from workflows.plugins import ProcessPlugin
from workflows.service import Actor

from . import agreement, consistency, instalments, money, rules, termination
from .requests import PROCESS_KEY


def _may_cancel(instance, actor: Actor) -> bool:
    """The requesting department (or an admin) withdraws a handoff, until the agreement is in
    force: then it is terminated (`handoff.termination`), and once the work is reported it
    runs to its end. Those refusals are conflicts (409), said to whoever could cancel before."""
    department = instance.scope.get("department")
    if not (actor.is_admin or ("department", department) in actor.pairs):
        return False
    session = object_session(instance)
    if session is not None and instance.status == "running":
        refusal = termination.cancel_refusal(session, instance.id)
        if refusal is not None:
            raise Conflict(refusal)
    return True


def handoff_plugin() -> ProcessPlugin:
    return ProcessPlugin(
        name="handoff",
        process_keys=frozenset({PROCESS_KEY}),
        hooks=agreement.HandoffHooks(),
        form_rules=rules.FORM_RULES,
        hook_fields=rules.HOOK_FIELDS,
        functions={"to_fen": money.to_fen, **instalments.FUNCTIONS},
        consistency_checks=(consistency.money_problems,),
        may_cancel=_may_cancel,
        own_start=True,
        start_hint="POST /api/v1/requests",
    )
