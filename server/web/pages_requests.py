"""Handoff requests: the new-request form, my requests, the request page (its communities,
diagram, timeline and money trail) and the printable agreement."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from handoff import (
    agreement_terms,
    catalog,
    catalog_search,
    fanout,
    negotiation,
    screening,
    termination,
)
from handoff import queries as handoff_queries
from handoff import requests as handoff
from handoff import rules as handoff_rules
from handoff.instalments import InstalmentInput
from handoff.models import Agreement, Request
from handoff.money import parse_yuan, yuan_to_fen
from workflows import clock, queries
from workflows.errors import FormErrors, Invalid, NotFound
from workflows.models import OrgUnit, User

from .. import get_db
from . import agreement_doc, pages_residents, signin
from .blueprint import PER_PAGE, bp, form_text, int_arg, pager
from .i18n import t
from .pages_diagrams import diagram_markup
from .pages_instances import may_cancel, task_names, timeline

log = logging.getLogger(__name__)
FUNDED = set(handoff_rules.FUNDED_CATEGORIES)
CATEGORY_ORDER = ("assisted", "self_governance", "certificate_allowed", "certificate_forbidden")


# --- the new-request form -------------------------------------------------------------------


TERM_FIELDS = {
    "title": "new.title_field",
    "description": "new.description",
    "legal_basis": "new.legal_basis",
}
# the agreement's terms (`handoff.agreement_terms`): posted as terms_<name>, refused as
# terms.<name> (the API's name), shown next to the field terms_<name>
AGREEMENT_FIELDS = agreement_terms.FIELDS
_TERM_LIMITS = {name: limit for name, (limit, _, _) in agreement_terms.TEXTS.items()}


def _terms_state(form) -> dict[str, str]:
    return {
        name: form.get(f"terms_{name}", "")[: _TERM_LIMITS.get(name, 20) + 1]
        for name in AGREEMENT_FIELDS
    }


def _terms_input(state: dict[str, str]) -> dict[str, str] | None:
    """The terms as the service takes them: None when the fieldset was left empty (the
    agreement then leaves them blank, as a request through the API without terms)."""
    if not any(value.strip() for value in state.values()):
        return None
    return dict(state)


def _page_errors(fields: dict[str, str]) -> dict[str, str]:
    return {key.replace("terms.", "terms_", 1): message for key, message in fields.items()}


def _screen(category: str | None, amount: str, hit: screening.Hit | None = None) -> list[str]:
    """What the automatic screening will do with these values (keys of i18n warnings)."""
    warnings = []
    if category == "negative":
        warnings.append("negative")
    if category == "certificate_forbidden":
        warnings.append("forbidden")
    if hit is not None:
        warnings.append("term")
    try:
        amount_fen = yuan_to_fen(parse_yuan(amount)) if amount.strip() else None
    except ValueError:
        amount_fen = None
    if category in FUNDED and amount_fen == 0:
        warnings.append("unfunded")
    return warnings


def _form_state() -> dict[str, Any]:
    """The posted form, each value cut one character past the limit the service checks: a value
    that is too long is refused by `handoff.requests` (as through the API), never cut to fit."""
    f = request.form
    code = handoff.UNIT_CODE_MAX + 1
    return {
        "department_code": f.get("department_code", "")[:code],
        "item_code": f.get("item_code", "")[: handoff.ITEM_CODE_MAX + 1],
        "item_q": form_text("item_q", 100),
        "title": f.get("title", "")[: handoff.MAX_TITLE + 1],
        "amount": f.get("amount", "")[:40],
        "due_date": f.get("due_date", "")[:20],
        "description": f.get("description", "")[: handoff.MAX_DESCRIPTION + 1],
        "legal_basis": f.get("legal_basis", "")[: handoff.MAX_LEGAL_BASIS + 1],
        "conditions": f.get("conditions", "")[: handoff.MAX_CONDITIONS + 1],
        "plan": [
            {k: f.get(f"plan_{k}_{n}", "")[:20].strip() for k in PLAN_FIELDS}
            for n in range(1, PLAN_ROWS + 1)
        ],
        "community_codes": [c[:code] for c in f.getlist("community_codes")][
            : handoff.MAX_COMMUNITIES + 1
        ],
        "streets": [c[:code] for c in f.getlist("streets")][:100],
        "terms": _terms_state(f),
    }


# the payment plan's rows on the page (the API takes up to instalments.MAX_INSTALMENTS)
PLAN_ROWS = 4
PLAN_FIELDS = ("trigger", "share", "amount", "on")


def _plan(rows: list[dict[str, str]]) -> list[InstalmentInput] | None:
    """The rows filled in, as the service's input (none: everything paid on signing). A row's
    number stays its number, so an error names the row the officer sees."""
    filled = [n for n, row in enumerate(rows, start=1) if any(row.values())]
    if not filled:
        return None
    return [
        InstalmentInput(
            trigger=row["trigger"],
            share=row["share"] or None,
            amount=row["amount"] or None,
            on=row["on"] or None,
        )
        for row in rows[: filled[-1]]
    ]


def _options(session, actor) -> dict[str, Any]:
    items = catalog.offered(session, handoff.today())
    streets = list(
        session.scalars(select(OrgUnit).where(OrgUnit.kind == "street").order_by(OrgUnit.code))
    )
    communities: dict[int, list[OrgUnit]] = defaultdict(list)
    for unit in session.scalars(
        select(OrgUnit).where(OrgUnit.kind == "community").order_by(OrgUnit.code)
    ):
        communities[unit.parent_id].append(unit)
    department_ids = [unit for role, unit in actor.pairs if role == "department"]
    departments = list(
        session.scalars(
            select(OrgUnit).where(OrgUnit.id.in_(department_ids)).order_by(OrgUnit.code)
        )
    )
    return {
        "items": items,
        "streets": [(s, communities.get(s.id, [])) for s in streets],
        "departments": departments,
    }


def _chosen_communities(state: dict[str, Any], streets) -> list[str]:
    chosen = set(state["community_codes"])
    whole = set(state["streets"])
    ordered = []
    for street, communities in streets:
        for community in communities:
            if community.code in chosen or street.code in whole:
                ordered.append(community.code)
    known = {c.code for _, cs in streets for c in cs}
    return ordered + sorted(c for c in chosen if c not in known)


def _term_warning(hit: screening.Hit | None, category: str, **placeholders: str) -> str:
    """The warning for a negative-list term in the text (with `placeholders` for app.js)."""
    key = "new.warn_term_unlisted" if category == "unlisted" else "new.warn_term_listed"
    if placeholders:
        return t(key, **placeholders)
    if hit is None:
        return ""
    item = f"{hit.item_code} {hit.item_name}"
    return t(key, field=t(TERM_FIELDS[hit.field]), term=hit.term, item=item)


def _render_new(state, *, errors=None, checked=False, status=200):
    actor = signin.actor()
    with get_db().read() as session:
        options = _options(session, actor)
        items = options["items"]
        by_code = {i.code: i for i in items}
        selected = by_code.get(state["item_code"])
        category = selected.category if selected else "unlisted"
        terms = screening.in_force(session, handoff.today())
        hit = terms.find(
            {
                "title": state["title"],
                "description": state["description"],
                # an empty basis is the item's (as `create_request` has it)
                "legal_basis": state["legal_basis"] or (selected.legal_basis if selected else ""),
            }
        )
        shown_checks = checked or bool(errors)
        placeholders = {"field": "{field}", "term": "{term}", "item": "{item}"}
        shown = [i for i in items if catalog_search.matches(i, state["item_q"]) or i is selected]
        groups = [(c, [i for i in shown if i.category == c]) for c in (*CATEGORY_ORDER, "negative")]
        chosen = set(_chosen_communities(state, options["streets"]))
        page = render_template(
            "request_new.html",
            state=state,
            groups=[(c, rows) for c, rows in groups if rows],
            search_keys=catalog_search.search_keys,
            none_found=bool(state["item_q"].strip()) and not shown,
            streets=options["streets"],
            departments=options["departments"],
            chosen=chosen,
            whole=set(state["streets"]),
            errors=errors or {},
            warnings=_screen(category, state["amount"], hit) if shown_checks else [],
            checked=checked and not errors,
            selected=selected,
            term_warning=_term_warning(hit, category) if shown_checks else "",
            term_templates={
                "unlisted": _term_warning(None, "unlisted", **placeholders),
                "listed": _term_warning(None, "listed", **placeholders),
            },
            screen_terms=terms.as_json(),
            term_fields={k: t(v) for k, v in TERM_FIELDS.items()},
        )
        return page, status


def _empty_state() -> dict[str, Any]:
    return {
        "department_code": "",
        "item_code": request.args.get("item", "")[:32],
        "item_q": "",
        "title": "",
        "amount": "",
        "due_date": "",
        "description": "",
        "legal_basis": "",
        "conditions": "",
        "plan": [dict.fromkeys(PLAN_FIELDS, "") for _ in range(PLAN_ROWS)],
        "community_codes": [],
        "streets": [],
        "terms": dict.fromkeys(AGREEMENT_FIELDS, ""),
    }


@bp.get("requests/new")
@signin.role_required("department")
def new_request():
    return _render_new(_empty_state())


@bp.post("requests/new")
@signin.role_required("department")
def create_request():
    state = _form_state()
    action = request.form.get("action", "submit")
    if action != "submit":
        errors = {}
        if action == "check" and state["amount"].strip():
            try:
                parse_yuan(state["amount"])
            except ValueError as exc:
                errors["amount"] = str(exc)
        return _render_new(state, errors=errors, checked=action == "check")
    actor = signin.actor()
    with get_db().read() as session:
        streets = _options(session, actor)["streets"]
    codes = _chosen_communities(state, streets)
    payload = handoff.RequestInput(
        title=state["title"],
        community_codes=codes,
        amount=state["amount"].strip(),
        item_code=state["item_code"] or None,
        description=state["description"],
        legal_basis=state["legal_basis"],
        due_date=state["due_date"].strip() or None,
        department_code=state["department_code"] or None,
        conditions=state["conditions"],
        payment_plan=_plan(state["plan"]),
        terms=_terms_input(state["terms"]),
    )
    try:
        request_id = handoff.create_request(get_db(), actor, payload)
    except (FormErrors, Invalid) as exc:
        errors = _page_errors(dict(exc.fields or {})) or {
            "_form": getattr(exc, "message", str(exc))
        }
        return _render_new(state, errors=errors, checked=True, status=422)
    with get_db().read() as session:
        number = session.scalar(select(Request.number).where(Request.id == request_id))
    flash(t("new.created_flash", number=number), "ok")
    return redirect(url_for("web.request_page", request_id=request_id))


# --- lists and pages ------------------------------------------------------------------------


@bp.get("requests")
@signin.login_required
def requests_list():
    actor = signin.actor()
    q = (request.args.get("q") or "").strip()[:200] or None
    with get_db().read() as session:
        page = handoff_queries.requests(
            session, actor, q=q, page=int_arg("page"), per_page=PER_PAGE
        )
        rows = []
        for r in page.items:
            instances = handoff_queries.request_detail(session, actor, r.id)["instances"]
            rows.append((r, instances))
        open_tasks = queries.open_tasks_by_instance(session, [i.id for _, ins in rows for i in ins])
        return render_template(
            "requests.html",
            rows=rows,
            open_tasks=open_tasks,
            pages=pager(page, "web.requests_list"),
            q=q or "",
            is_department=actor.has_role("department"),
        )


def _money_total(ledgers: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("agreed_fen", "transferred_fen", "outstanding_fen", "refunded_fen", "kept_fen")
    totals: dict[str, Any] = {key: sum(ledger[key] for ledger in ledgers) for key in keys}
    totals["terminated"] = bool(ledgers) and all(ledger["terminated"] for ledger in ledgers)
    return totals


@bp.get("requests/<int:request_id>")
@signin.login_required
def request_page(request_id: int):
    actor = signin.actor()
    with get_db().read() as session:
        detail = handoff_queries.request_detail(session, actor, request_id)
        req, instances = detail["request"], detail["instances"]
        ids = [i.id for i in instances]
        chosen_id = int_arg("instance", ids[0])
        chosen = next((i for i in instances if i.id == chosen_id), instances[0])
        chosen_detail = handoff_queries.instance_view(session, actor, chosen.id)
        ledgers = {i.id: handoff_queries.ledger(session, i.id) for i in instances}
        visible = set(ids)
        events = [
            e
            for e in handoff_queries.request_history(session, req)
            if e.instance_id is None or e.instance_id in visible
        ]
        communities = {i.id: detail["communities"][i.id].name for i in instances}
        names = task_names({i.definition for i in instances})
        creator = session.get(User, req.created_by_id) if req.created_by_id else None
        open_tasks = queries.open_tasks_by_instance(session, ids)
        glance = fanout.overview(instances, detail["communities"], open_tasks, ledgers, clock.now())
        rounds = negotiation.rounds(session, ids)
        return render_template(
            "request.html",
            req=req,
            creator=creator,
            instances=instances,
            units=detail["communities"],
            chosen=chosen,
            chosen_detail=chosen_detail,
            diagram=diagram_markup(chosen, chosen_detail["states"], chosen_detail["taken"]),
            open_tasks=open_tasks,
            glance=glance,
            may_withdraw={i.id for i in instances if may_cancel(actor, i)},
            ledgers=ledgers,
            totals=_money_total(list(ledgers.values())),
            may_terminate=termination.may_request(session, actor, chosen),
            plan_rows=chosen_detail["instalments"],  # handoff_queries.instance_view's
            negotiated=[r for i in ids for r in rounds[i]],
            communities=communities,
            residents=pages_residents.panel(session, actor, chosen),
            events=timeline(events, names, communities if len(instances) > 1 else None),
        )


@bp.get("instances/<int:instance_id>/agreement")
@signin.login_required
def agreement_page(instance_id: int):
    actor = signin.actor()
    with get_db().read() as session:
        # the printable agreement needs no engine state: the scoped instance row will do
        instance = queries.instance_for(session, actor, instance_id)
        agreement = handoff_queries.agreement_of(session, instance_id)
        if agreement is None:
            raise NotFound("no agreement yet")
        return render_template(
            "agreement.html", instance=instance, **agreement_doc.context(agreement)
        )


@bp.get("agreements/<int:agreement_id>.pdf")
@signin.login_required
def agreement_pdf(agreement_id: int):
    """The agreement as a PDF, in the page's language; readable by whom the page is."""
    with get_db().read() as session:
        agreement = session.get(Agreement, agreement_id)
        agreement = agreement_doc.visible(session, signin.actor(), agreement)
        return agreement_doc.pdf_response(agreement)
