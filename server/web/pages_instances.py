"""Instance pages for any process: state, data, open tasks, the diagram with the path taken,
the timeline, cancelling; a handoff's agreement and money trail are shown beside them."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from handoff import queries as handoff_queries
from handoff import termination
from workflows import definitions, queries, service
from workflows.ending import REASON_MAX
from workflows.errors import Conflict, Invalid
from workflows.models import AuditEvent, ProcessInstance, User
from workflows.routing import can_see

from .. import get_db
from . import fmt, formview, pages_residents, signin
from .blueprint import bp, form_text
from .i18n import one_language, t
from .pages_diagrams import instance_card

FIELD_DETAILS = ("decision", "score", "amount", "voucher_no", "transferred_on", "completed_on")


def task_names(definitions_used) -> dict[str, str]:
    names: dict[str, str] = {}
    for definition in definitions_used:
        try:
            parsed = definitions.loaded(definition)
        except Exception:  # noqa: BLE001 - an old version that no longer parses: keep keys
            continue
        names.update({key: info.name for key, info in parsed.user_tasks.items()})
    return names


def _task_forms(definition) -> dict[str, list[dict[str, Any]]]:
    """task key -> its form's description, to label what each step submitted."""
    try:
        parsed = definitions.loaded(definition)
    except Exception:  # noqa: BLE001 - an old version that no longer parses: plain keys
        return {}
    return {key: info.form.describe() for key, info in parsed.user_tasks.items()}


def _detail_pairs(event: AuditEvent, forms=None) -> list[tuple[str, str]]:
    detail = event.detail or {}
    pairs: list[tuple[str, str]] = []
    data = detail.get("data") if event.action == "task.completed" else None
    if isinstance(data, dict):
        fields = {f["name"]: f for f in (forms or {}).get(detail.get("key"), [])}
        for key, value in data.items():
            if key == "amount":
                value = fmt.yuan_str(value) + " " + t("common.yuan")
            elif forms is not None:
                value = formview.display_value(fields.get(key), key, value)
            elif key == "decision":
                value = fmt.decision(value)
            label = formview.label_of(fields.get(key), key) if forms is not None else None
            pairs.append((label or t(f"field.{key}"), str(value)))
        return pairs
    shown = ("outcome", "number", "party", "amount", "refund", "kept", "voucher_no", "to")
    for key in (*shown, "reason", "error"):
        if key not in detail or detail[key] in (None, ""):
            continue
        value = detail[key]
        if key == "outcome":
            value = t(f"outcome.{value}")
        elif key == "party":
            value = t(f"party.{value}")
        elif key in ("amount", "refund", "kept"):
            value = fmt.yuan_str(value) + " " + t("common.yuan")
        pairs.append((t(f"field.{key}"), str(value)))
    return pairs


def timeline(
    events: list[AuditEvent], names: dict[str, str], communities=None, forms=None
) -> list[dict]:
    """Audit events as rows: who, what, when (Beijing time), and the details that matter.

    `forms` (task key -> form description) labels submitted data by the task's own form."""
    rows = []
    for event in events:
        key = (event.detail or {}).get("key")
        rows.append(
            {
                "at": event.at,
                "who": event.actor.display_name if event.actor else t("common.system"),
                "what": t(f"action.{event.action}"),
                "task": fmt.task_name(key, names.get(key, "")) if key else "",
                "details": _detail_pairs(event, forms),
                "community": (communities or {}).get(event.instance_id, ""),
                "action": event.action,
            }
        )
    return rows


def _start_pairs(session, instance: ProcessInstance, data: dict[str, Any]):
    """What the starter filled in on the start form (for processes other than the handoff)."""
    try:
        form = definitions.loaded(instance.definition).start_form.describe()
    except Exception:  # noqa: BLE001 - an old version that no longer parses
        return []
    given = {f["name"]: data[f["name"]] for f in form if f["name"] in (data or {})}
    return formview.pairs(form, given, formview.unit_labels(session, given))


def may_cancel(actor, instance: ProcessInstance) -> bool:
    if instance.status != "running":
        return False
    try:
        return service.cancel_allowed(instance, actor)
    except Conflict:  # the process says not now (a signed handoff is terminated instead)
        return False


@bp.get("instances/<int:instance_id>")
@signin.login_required
def instance_page(instance_id: int):
    actor = signin.actor()
    with get_db().read() as session:
        detail = handoff_queries.instance_view(session, actor, instance_id)
        instance, req = detail["instance"], detail["request"]
        inbox_ids = {
            task.id
            for task in detail["open_tasks"]
            if actor.is_admin or can_see(set(actor.pairs), actor.user_id, task)
        }
        starter = session.get(User, instance.started_by_id) if instance.started_by_id else None
        return render_template(
            "instance.html",
            instance=instance,
            req=req,
            starter=starter,
            start_pairs=[] if req is not None else _start_pairs(session, instance, detail["data"]),
            detail=detail,
            data=detail["data"],
            diagram=instance_card(instance, detail["states"], detail["taken"]),
            inbox_ids=inbox_ids,
            events=timeline(
                detail["history"],
                task_names([instance.definition]),
                forms=_task_forms(instance.definition),
            ),
            ledger=detail["ledger"],
            agreement=detail["agreement"],
            may_cancel=may_cancel(actor, instance),
            termination=detail["termination"],
            may_terminate=termination.may_request(session, actor, instance),
            residents=pages_residents.panel(session, actor, instance),
        )


@bp.post("instances/<int:instance_id>/cancel")
@signin.login_required
def cancel(instance_id: int):
    actor = signin.actor()
    with get_db().read() as session:
        queries.instance_for(session, actor, instance_id)  # 404 outside the user's scope
    try:
        reason = form_text("reason", REASON_MAX + 1)  # a longer one is refused, not cut
        service.cancel_instance(get_db(), instance_id, actor, reason)
    except Invalid as exc:  # the reason (workflows.ending, as through the API)
        why = one_language((exc.fields or {}).get("reason", exc.message))
        flash(t("instance.cancel_refused", why=why), "error")
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(t("instance.cancelled_flash"), "ok")
    return redirect(url_for("web.instance_page", instance_id=instance_id))
