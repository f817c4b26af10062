"""Administration: the agreement templates, the fixed clauses of each catalog category's
委托协议 (违约责任、协议变更、协议终止、争议解决、其他约定).

The page saves through `handoff.agreement_templates.set_clauses`, as the API's PUT does, and
shows its refusals next to each clause in the page's language (`pages_admin.refusal`).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from handoff import agreement_templates
from workflows.errors import Invalid

from .. import get_db
from . import signin
from .blueprint import bp
from .i18n import t
from .pages_admin import admin_only, refusal


@bp.get("admin/agreement-templates")
@admin_only
def admin_agreement_templates():
    with get_db().read() as session:
        rows = agreement_templates.templates(session)
    return render_template(
        "admin/agreement_templates.html", rows=rows, clauses=agreement_templates.CLAUSES
    )


def _render(category: str, values=None, errors=None, status=200):
    with get_db().read() as session:
        found = agreement_templates.template(session, category)  # NotFound: no such category
    return render_template(
        "admin/agreement_template.html",
        template=found,
        values=values or found.clauses,
        clauses=agreement_templates.CLAUSES,
        required=agreement_templates.REQUIRED,
        limit=agreement_templates.CLAUSE_MAX,
        errors=errors or {},
    ), status


@bp.get("admin/agreement-templates/<category>")
@admin_only
def admin_agreement_template(category: str):
    return _render(category)


@bp.post("admin/agreement-templates/<category>")
@admin_only
def admin_save_agreement_template(category: str):
    # a clause one character past its limit is refused by the service, never cut to fit
    cut = agreement_templates.CLAUSE_MAX + 1
    values = {key: request.form.get(key, "")[:cut] for key in agreement_templates.CLAUSES}
    try:
        with get_db().write() as session:
            agreement_templates.set_clauses(
                session, category, values, actor_id=signin.actor().user_id
            )
    except Invalid as exc:
        return _render(category, values, *refusal(exc, prefix="clauses."))
    flash(t("common.saved"), "ok")
    return redirect(url_for("web.admin_agreement_templates"))
