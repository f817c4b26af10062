"""The 委托协议 as a document: one template (`_agreement_document.html`) and one stylesheet
(`static/agreement.css`) for its page, its print and its PDF.

The PDF is the document WeasyPrint lays out from the same template and stylesheet, as print
media: A4, the parties by their full legal names, numbered articles, signature and seal lines.
Who may read it is who may read the page: the parties of its handoff (`queries.instance_for`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, render_template
from sqlalchemy.orm import Session

from handoff import agreement as handoff_agreement
from handoff import agreement_templates
from handoff.models import Agreement
from workflows import queries
from workflows.errors import NotFound
from workflows.service import Actor

from .. import pdf

STYLESHEET = Path(__file__).resolve().parent.parent / "static" / "agreement.css"


def context(agreement: Agreement) -> dict[str, Any]:
    """What `_agreement_document.html` needs."""
    return {
        "agreement": agreement,
        "content": agreement.content or {},
        "signatures": {s.party: s for s in agreement.signatures},
        "parties_order": list(handoff_agreement.SIGN_TASKS.values()),
        "clause_keys": agreement_templates.CLAUSES,
    }


def visible(session: Session, actor: Actor, agreement: Agreement | None) -> Agreement:
    """`agreement` if `actor` may read it (a party of its handoff), else NotFound (what you
    may not see is not there)."""
    if agreement is None:
        raise NotFound("agreement not found")
    queries.instance_for(session, actor, agreement.instance_id)
    return agreement


def pdf_response(agreement: Agreement) -> Response:
    """The agreement as a PDF download, in the current language (`i18n.lang`)."""
    html = render_template("agreement_pdf.html", **context(agreement))
    body = pdf.render(html, [STYLESHEET])
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{agreement.number}.pdf"',
            "Cache-Control": "no-store",
        },
    )
