"""The diagram card of the instance and process pages, and the files behind it.

Each card holds the server-drawn SVG (`workflows.diagram`), which is what a reader without
JavaScript sees, what prints and what "full size" opens on its own, and the data for
server/static/diagram.js, which draws the same stored BPMN with bpmn-js's NavigatedViewer
(vendored in server/static/vendor, see scripts/vendor-bpmn-js) for zoom and pan, marking the
instance's states with the server drawing's colours and badges.

The BPMN and the full-size SVG are served here, beside the pages, because the pages sign in with
a cookie and the API with a bearer token; each is read under the same rule as its page: an
instance's only by who may read the instance, a process version's by anyone signed in.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from flask import Response, url_for
from markupsafe import Markup

from workflows import diagram, queries
from workflows.errors import NotFound
from workflows.models import ProcessDefinition, ProcessInstance

from .. import get_db
from . import signin
from .blueprint import bp
from .i18n import t

log = logging.getLogger(__name__)

# the vendored bpmn-js; scripts/vendor-bpmn-js puts a new version beside it
BPMN_JS_VERSION = "18.31.1"
BPMN_JS = f"vendor/bpmn-js-{BPMN_JS_VERSION}"
STATES = ("done", "active", "waiting", "cancelled")


def legend_words() -> dict[str, str]:
    """The diagram's key in the page's language."""
    return {"title": t("diagram.legend"), **{s: t(f"diagram.{s}") for s in STATES}}


def card(
    svg: Markup | None,
    *,
    xml_url: str,
    full_url: str,
    states: Mapping[str, str] | None = None,
    taken: Collection[str] = (),
) -> dict[str, Any] | None:
    """What templates/_diagram.html's card needs, or None when not even the SVG could be drawn
    (the card then says so, and the browser viewer is not offered either)."""
    if svg is None:
        return None
    return {
        "bpmn_js": BPMN_JS,
        "svg": svg,
        "xml_url": xml_url,
        "full_url": full_url,
        "marks": {
            "states": dict(states or {}),
            "taken": sorted(taken),
            "styles": diagram.state_styles(),
        },
        # static, script-free SVG drawn by workflows.diagram from fixed shapes and our words
        "legend": Markup(diagram.legend_svg(legend_words())),  # noqa: S704
        "badges": {s: Markup(diagram.badge_svg(s)) for s in STATES},  # noqa: S704
    }


def _svg_response(svg: Markup | None):
    if svg is None:  # a file without a usable layout: said on the page, not a server error
        from . import _error_page

        return _error_page(404, t("diagram.unavailable"))
    # an instance's picture changes as it moves on: never a stale one
    return Response(str(svg), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


def _xml_response(xml: str) -> Response:
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "no-store"})


def _version(session, key: str, definition_id: int) -> ProcessDefinition:
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None or definition.key != key:
        raise NotFound("no such version")
    return definition


@bp.get("instances/<int:instance_id>/process.xml")
@signin.login_required
def instance_bpmn(instance_id: int):
    """The BPMN the instance runs on, as deployed (for the browser viewer)."""
    with get_db().read() as session:
        instance = queries.instance_for(session, signin.actor(), instance_id)
        return _xml_response(instance.definition.bpmn_xml)


@bp.get("instances/<int:instance_id>/diagram.svg")
@signin.login_required
def instance_svg(instance_id: int):
    """The instance's diagram at full size, its key in the page's language."""
    with get_db().read() as session:
        detail = queries.instance_detail(session, signin.actor(), instance_id)
        svg = diagram_markup(detail["instance"], detail["states"], detail["taken"])
    return _svg_response(svg)


@bp.get("processes/<key>/versions/<int:definition_id>/process.xml")
@signin.login_required
def process_bpmn(key: str, definition_id: int):
    """A process version's BPMN, as deployed (for the browser viewer)."""
    with get_db().read() as session:
        return _xml_response(_version(session, key, definition_id).bpmn_xml)


@bp.get("processes/<key>/versions/<int:definition_id>/diagram.svg")
@signin.login_required
def process_svg(key: str, definition_id: int):
    """A process version's diagram at full size."""
    with get_db().read() as session:
        definition = _version(session, key, definition_id)
        svg = _drawn(definition.bpmn_xml, f"definition {definition.id}", title=definition.name)
    return _svg_response(svg)


def _drawn(xml: str, what: str, **kw) -> Markup | None:
    try:
        svg = diagram.render_svg(xml, legend=legend_words(), **kw)
    except Exception:  # noqa: BLE001 - the page stays useful without its picture
        log.exception("diagram failed for %s", what)
        return None
    return Markup(svg)  # noqa: S704 - the renderer emits static, script-free SVG


def diagram_markup(
    instance: ProcessInstance, states: Mapping[str, str], taken: Collection[str]
) -> Markup | None:
    """The instance's diagram as inline SVG, or None when it cannot be drawn."""
    return _drawn(
        instance.definition.bpmn_xml,
        f"instance {instance.id}",
        states=states,
        title=instance.title,
        taken=taken,
    )


def instance_card(
    instance: ProcessInstance, states: Mapping[str, str], taken: Collection[str]
) -> dict[str, Any] | None:
    return card(
        diagram_markup(instance, states, taken),
        xml_url=url_for("web.instance_bpmn", instance_id=instance.id),
        full_url=url_for("web.instance_svg", instance_id=instance.id),
        states=states,
        taken=taken,
    )


def process_card(definition: ProcessDefinition) -> dict[str, Any] | None:
    svg = _drawn(definition.bpmn_xml, f"definition {definition.id}", title=definition.name)
    ids = {"key": definition.key, "definition_id": definition.id}
    return card(
        svg,
        xml_url=url_for("web.process_bpmn", **ids),
        full_url=url_for("web.process_svg", **ids),
    )
