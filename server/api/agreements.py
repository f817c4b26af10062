"""委托协议: the templates of its fixed clauses (one per catalog category; admins write) and
an agreement as a PDF (the printed document, `server.web.agreement_doc`)."""

from __future__ import annotations

from flask import g
from flask_smorest import Blueprint

from handoff import agreement_templates
from handoff import queries as handoff_queries

from .. import get_db
from ..auth import admin_required, current_actor, login_required
from ..schemas import (
    AgreementPdfQuery,
    AgreementTemplateIn,
    AgreementTemplateOut,
    AgreementTemplates,
)
from ..web import agreement_doc
from .contract import may_answer

blp = Blueprint("agreements", __name__, description="委托协议 Agreements and their templates")


@blp.get("/agreement-templates")
@blp.response(200, AgreementTemplates)
@login_required
def list_templates():
    """Every category's clauses as in force: what an agreement drafted now copies."""
    with get_db().read() as session:
        items = agreement_templates.templates(session)
    return {"items": items, "total": len(items)}


@blp.get("/agreement-templates/<category>")
@blp.response(200, AgreementTemplateOut)
@login_required
def get_template(category: str):
    with get_db().read() as session:
        return agreement_templates.template(session, category)


@blp.put("/agreement-templates/<category>")
@blp.arguments(AgreementTemplateIn)
@blp.response(200, AgreementTemplateOut)
@admin_required
def put_template(body, category: str):
    """Replace a category's clauses (`breach`, `variation`, `termination`, `dispute` required;
    `other` may be empty). Agreements drafted before keep the clauses they were drafted with."""
    with get_db().write() as session:
        return agreement_templates.set_clauses(
            session, category, body["clauses"], actor_id=current_actor().user_id
        )


@blp.get("/instances/<int:instance_id>/agreement.pdf")
@blp.arguments(AgreementPdfQuery, location="query")
@blp.response(200, content_type="application/pdf")
@may_answer(503)  # PDF rendering (WeasyPrint, pango, fonts) not installed
@login_required
def agreement_pdf(q, instance_id: int):
    """The handoff's agreement as the PDF a street office files (A4, full legal names,
    numbered articles, signature and seal lines); 404 before it is drafted."""
    g.lang = q["lang"]  # the document's own words (`server.web.i18n`)
    with get_db().read() as session:
        agreement = handoff_queries.agreement_of(session, instance_id)
        agreement = agreement_doc.visible(session, current_actor(), agreement)
        return agreement_doc.pdf_response(agreement)
