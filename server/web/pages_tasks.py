"""我的待办 (the inbox) and the task pages: claim, release, delegate, complete."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from handoff import queries as handoff_queries
from handoff.models import Agreement
from workflows import attachments, definitions, queries, service
from workflows.admin import USERNAME_MAX
from workflows.errors import Conflict, EngineFailure, FormErrors, Invalid
from workflows.models import ProcessDefinition, ProcessInstance, Task

from .. import get_db, metrics
from . import fmt, formview, signin
from .blueprint import PER_PAGE, bp, form_text, int_arg, pager
from .i18n import t

REVISABLE = {"title", "description", "legal_basis", "amount", "due_date"}
SORTS = {"created": ("created_at", "desc"), "due": ("due_at", "asc")}


def _tristate(name: str) -> bool | None:
    value = request.args.get(name, "")
    return {"1": True, "0": False}.get(value)


@bp.get("inbox")
@signin.login_required
def inbox():
    actor = signin.actor()
    roles = sorted({role for role, _ in actor.pairs if role != "admin"})
    role = request.args.get("role") or None
    f = queries.InboxFilter(
        role=role if role in roles else None,
        process=(request.args.get("process") or "")[:100] or None,
        overdue=_tristate("overdue"),
        claimed=_tristate("claimed"),
        q=(request.args.get("q") or "").strip()[:200] or None,
    )
    sort_key = request.args.get("sort") if request.args.get("sort") in SORTS else "created"
    sort, order = SORTS[sort_key]
    with get_db().read() as session:
        page = queries.inbox(
            session, actor, f, sort=sort, order=order, page=int_arg("page"), per_page=PER_PAGE
        )
        counts = queries.inbox_counts(session, actor)
        processes = session.execute(
            select(ProcessDefinition.key, ProcessDefinition.name)
            .distinct()
            .order_by(ProcessDefinition.key)
        ).all()
        return render_template(
            "inbox.html",
            page=page,
            pages=pager(page, "web.inbox"),
            counts=counts,
            roles=roles,
            processes=dict(processes),
            f=f,
            sort=sort_key,
            args=request.args,
        )


def _steps(session, instance_id: int) -> list[Task]:
    """The instance's finished steps, oldest first: what earlier hands decided and said."""
    return list(
        session.scalars(
            select(Task)
            .where(Task.instance_id == instance_id, Task.status == "completed")
            .order_by(Task.completed_at, Task.id)
        )
    )


def _submitted(form: list[dict[str, Any]]) -> dict[str, Any]:
    """The posted values of the form's own fields, typed as the form cleaner expects."""
    return formview.submitted(form)


def _step_details(session, steps: list[Task]) -> dict[int, list[tuple[str, str]]]:
    """task id -> (label, value) of what each earlier step submitted, labelled by its form."""
    forms: dict[tuple[int, str], list[dict[str, Any]]] = {}
    out = {}
    for step in steps:
        if not step.data:
            continue
        key = (step.instance_id, step.key)
        if key not in forms:
            forms[key] = _form_of(session, step)
        out[step.id] = formview.pairs(forms[key], step.data)
    return out


def _form_of(session, task: Task) -> list[dict[str, Any]]:
    instance = session.get(ProcessInstance, task.instance_id)
    try:
        info = definitions.loaded_by_id(session, instance.definition_id).user_tasks.get(task.key)
    except Exception:  # noqa: BLE001 - an old version that no longer parses: plain keys
        return []
    return info.form.describe() if info is not None else []


def _start_pairs(session, instance: ProcessInstance, data: dict[str, Any]):
    """What the starter filled in, for instances started from a start form."""
    parsed = definitions.loaded_by_id(session, instance.definition_id)
    form = parsed.start_form.describe()
    given = {f["name"]: data[f["name"]] for f in form if f["name"] in data}
    return formview.pairs(form, given, formview.unit_labels(session, given))


def _render_task(task_id: int, *, values=None, errors=None, message=None, status=200):
    actor = signin.actor()
    with get_db().read() as session:
        detail = queries.task_detail(session, actor, task_id)
        task = detail["task"]
        instance = detail["instance"]
        mine = task.assignee_id == actor.user_id
        can_act = task.status == "open" and task.assignee_id in (None, actor.user_id)
        steps = _steps(session, instance.id)
        is_handoff = handoff_queries.link_of(session, instance.id) is not None
        page = render_template(
            "task.html",
            task=task,
            instance=instance,
            form=detail["form"],
            data=detail["data"] or {},
            steps=steps,
            step_details=_step_details(session, steps),
            is_handoff=is_handoff,
            start_pairs=[] if is_handoff else _start_pairs(session, instance, detail["data"] or {}),
            values=values if values is not None else (task.data or {}),
            errors=errors or {},
            message=message,
            mine=mine,
            can_act=can_act,
            overdue=fmt.is_overdue(task),
            has_agreement=_has_agreement(session, instance.id),
            hints=_hints(task.key, detail["form"], detail["data"] or {}) if is_handoff else {},
            attachments=attachments.of_instance(session, actor, instance.id),
        )
        return page, status


def _hints(key: str, form: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, str]:
    """What a field is measured against: the agreed amount, or today's values when revising."""
    hints: dict[str, str] = {}
    names = {f["name"] for f in form}
    if key == "revise":
        for name in REVISABLE & names:
            if data.get(name) not in (None, ""):
                value = fmt.yuan_str(data[name]) if name == "amount" else str(data[name])
                hints[name] = t("task.current_value", value=value)
    elif "amount" in names and data.get("amount"):
        amount = fmt.yuan_str(data["amount"])
        hints["amount"] = f"{t('task.agreed_amount')}: ¥{amount}"
    return hints


def _has_agreement(session, instance_id: int) -> bool:
    found = session.scalar(select(Agreement.id).where(Agreement.instance_id == instance_id))
    return found is not None


@bp.get("tasks/<int:task_id>")
@signin.login_required
def task(task_id: int):
    return _render_task(task_id)


@bp.post("tasks/<int:task_id>")
@signin.login_required
def complete(task_id: int):
    actor = signin.actor()
    with get_db().read() as session:
        detail = queries.task_detail(session, actor, task_id)
        form, name = detail["form"], fmt.task_name(detail["task"].key, detail["task"].name)
    values = formview.posted_values(form)
    data = _submitted(form)
    try:
        metrics.complete_task(get_db(), task_id, actor, data)
    except FormErrors as exc:
        return _render_task(task_id, values=values, errors=exc.fields, status=422)
    except Invalid as exc:
        return _render_task(
            task_id, values=values, errors=exc.fields or {}, message=exc.message, status=422
        )
    except (Conflict, EngineFailure) as exc:
        return _render_task(task_id, values=values, message=exc.message, status=409)
    flash(t("task.completed_flash", name=name), "ok")
    return redirect(url_for("web.inbox"))


def _back(task_id: int) -> str:
    return signin.safe_next(request.form.get("next"), url_for("web.task", task_id=task_id))


@bp.post("tasks/<int:task_id>/claim")
@signin.login_required
def claim(task_id: int):
    try:
        service.claim_task(get_db(), task_id, signin.actor())
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(t("inbox.claimed_flash"), "ok")
    return redirect(_back(task_id))


@bp.post("tasks/<int:task_id>/release")
@signin.login_required
def release(task_id: int):
    try:
        service.unclaim_task(get_db(), task_id, signin.actor())
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(t("inbox.released_flash"), "ok")
    return redirect(_back(task_id))


@bp.post("tasks/<int:task_id>/delegate")
@signin.login_required
def delegate(task_id: int):
    username = form_text("username", USERNAME_MAX + 1)  # a longer one names nobody
    try:
        service.delegate_task(get_db(), task_id, signin.actor(), username)
    except Invalid as exc:
        errors = exc.fields or {"username": exc.message}
        message = errors.get("username", exc.message)
        return _render_task(task_id, errors={"_delegate": message}, status=422)
    except Conflict as exc:
        return _render_task(task_id, message=exc.message, status=409)
    flash(t("task.delegated_flash", name=username), "ok")
    return redirect(url_for("web.inbox"))
