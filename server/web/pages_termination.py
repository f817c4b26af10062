"""申请终止: the department asks to terminate a signed handoff (`handoff.termination`).

The page shows what is being settled (the agreement, the money transferred so far) beside the
start form of `bpmn/handoff_termination.bpmn`, and starts it through
`workflows.starting.start_process`: the API's own write path
(`POST /process-definitions/handoff_termination/start`), so both accept exactly the same.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from handoff import queries as handoff_queries
from handoff import termination
from handoff.money import fen_to_yuan
from workflows import queries, starting
from workflows.errors import Conflict, EngineFailure, FormErrors, Invalid, NotFound
from workflows.forms import MAX_TEXT

from .. import get_db
from . import signin
from .blueprint import bp, form_text
from .i18n import t

FIELDS = ("reason", "refund", "kept")


def _render(instance_id: int, *, values=None, errors=None, message=None, status=200):
    actor = signin.actor()
    with get_db().read() as session:
        instance = queries.instance_for(session, actor, instance_id)  # 404 outside the scope
        extras = handoff_queries.instance_extras(session, instance_id)
        if extras["request"] is None:
            raise NotFound("not a handoff")
        ledger = extras["ledger"]
        if values is None:
            # the usual case first: nothing done yet, so everything goes back
            values = {"refund": fen_to_yuan(ledger["transferred_fen"]), "kept": "0.00"}
        return render_template(
            "termination_new.html",
            instance=instance,
            req=extras["request"],
            community=extras["community_name"],
            agreement=extras["agreement"],
            ledger=ledger,
            values=values,
            errors=errors or {},
            message=message,
        ), status


def _refused(instance_id: int, message: str):
    flash(message, "error")
    return redirect(url_for("web.instance_page", instance_id=instance_id))


@bp.get("instances/<int:instance_id>/terminate")
@signin.role_required("department")
def termination_form(instance_id: int):
    actor = signin.actor()
    with get_db().read() as session:
        instance = queries.instance_for(session, actor, instance_id)
        if not termination.may_request(session, actor, instance):
            refusal = termination.request_refusal(session, instance)
            return _refused(instance_id, refusal or t("error.forbidden_text"))
    return _render(instance_id)


@bp.post("instances/<int:instance_id>/terminate")
@signin.role_required("department")
def termination_submit(instance_id: int):
    # the start form's own limits apply (workflows.forms): one past the longest text it allows
    values: dict[str, Any] = {name: form_text(name, MAX_TEXT + 1) for name in FIELDS}
    data = {"handoff_instance": instance_id, **{k: v for k, v in values.items() if v}}
    with get_db().read() as session:
        queries.instance_for(session, signin.actor(), instance_id)  # 404 outside the scope
    try:
        starting.start_process(get_db(), termination.PROCESS_KEY, signin.actor(), data)
    except FormErrors as exc:
        return _render(instance_id, values=values, errors=exc.fields, status=422)
    except Invalid as exc:
        errors = dict(exc.fields or {})
        return _render(instance_id, values=values, errors=errors, message=exc.message, status=422)
    except (Conflict, EngineFailure) as exc:
        return _render(instance_id, values=values, message=exc.message, status=409)
    flash(t("termination.started_flash"), "ok")
    return redirect(url_for("web.instance_page", instance_id=instance_id))
