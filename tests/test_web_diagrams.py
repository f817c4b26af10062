"""The diagram card of the instance and process pages and the files behind it, through Flask's
test client on both databases: the BPMN the browser viewer draws and the full-size SVG, each
read under its page's rule; the card's data (the same states as the server drawing), its assets
(the vendored bpmn-js, no inline script) and its fallback. The viewer itself is driven in a real
browser in tests/browser/test_diagram_viewer.py."""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from server import create_app
from server.web import pages_diagrams
from workflows import definitions, diagram, queries, roles, service
from workflows.models import ProcessDefinition, Task

from .test_web_pages import launch, signed_in, text

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "server" / "static"
VENDOR = STATIC / pages_diagrams.BPMN_JS
WEB_PROCESS = (ROOT / "tests" / "fixtures" / "web_process.bpmn").read_text()
MARKS = re.compile(r"data-marks='([^']*)'")


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


@pytest.fixture
def handoff_instance(db, actor) -> int:
    """A handoff to 瑞光社区 past the street's review: done steps, three signing steps active."""
    launch(db, actor, ["TB-RG-01"])
    with db.read() as s:
        review = s.scalars(select(Task).where(Task.key == "street_review")).one()
    service.complete_task(db, review.id, actor("street.rg"), {"decision": "approve"})
    return review.instance_id


def _handoff_version(db) -> ProcessDefinition:
    with db.read() as s:
        return definitions.in_force(s, "handoff")


def _marks(page: str) -> dict:
    found = MARKS.search(page)
    assert found, "no data-marks on the page"
    return json.loads(html.unescape(found.group(1)))


# --- the files behind the card ----------------------------------------------------------------


def test_the_instance_bpmn_is_served_to_who_may_read_the_instance(app, db, handoff_instance):
    path = f"/instances/{handoff_instance}/process.xml"
    r = signed_in(app, "dept.mz").get(path)
    assert r.status_code == 200 and r.mimetype == "application/xml"
    assert r.get_data(as_text=True) == _handoff_version(db).bpmn_xml
    assert r.headers["Cache-Control"] == "no-store"
    # a committee of another community may not read this instance: the id does not exist
    assert signed_in(app, "committee.rg02").get(path).status_code == 404
    assert signed_in(app, "dept.mz").get("/instances/999999/process.xml").status_code == 404
    signed_out = app.test_client().get(path)
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]


def test_the_full_size_instance_svg_has_the_states_and_the_pages_language(
    app, db, actor, handoff_instance
):
    path = f"/instances/{handoff_instance}/diagram.svg"
    browser = signed_in(app, "dept.mz")
    r = browser.get(path + "?lang=en")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    svg = etree.fromstring(r.get_data())
    ns = {"s": "http://www.w3.org/2000/svg"}
    active = svg.find(".//s:g[@id='el-sign_committee']", ns)  # the committee signs first
    assert "state-active" in active.get("class")
    assert "state-done" in svg.find(".//s:g[@id='el-street_review']", ns).get("class")
    legend = "".join(svg.find(".//s:g[@class='bpmn-legend']", ns).itertext())
    assert "Legend" in legend and "done" in legend and "已完成" not in legend
    # at 1:1, so its names are their 12px: the point of "full size"
    assert float(svg.get("width")) == float(svg.get("viewBox").split()[2])
    assert "已完成" in browser.get(path + "?lang=zh").get_data(as_text=True)
    assert signed_in(app, "committee.rg02").get(path).status_code == 404


def test_a_process_versions_files_are_served_to_anyone_signed_in(app, db):
    version = _handoff_version(db)
    base = f"/processes/handoff/versions/{version.id}"
    committee = signed_in(app, "committee.rg01")
    r = committee.get(base + "/process.xml")
    assert r.status_code == 200 and r.get_data(as_text=True) == version.bpmn_xml
    r = committee.get(base + "/diagram.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert "state-active" not in r.get_data(as_text=True)
    # a version is found under its own process only
    assert committee.get(f"/processes/emergency/versions/{version.id}/process.xml").status_code == (
        404
    )
    assert committee.get("/processes/handoff/versions/999999/diagram.svg").status_code == 404
    assert app.test_client().get(base + "/process.xml").status_code == 302


@pytest.fixture
def undrawable(db):
    """A process whose diagram interchange has no shape's bounds: deployable, nothing to draw.
    Its own key and name, so that no other test's process is changed, and no start form: it is
    never deleted (a deployed version never is in the product, and the caches of parsed
    definitions are keyed by the id, which SQLite would hand to the next deployment), so the
    language crawl of a later test walks its pages, and a form's words are data of no
    language."""
    xml = re.sub(r"<dc:Bounds\b[^>]*/>", "", WEB_PROCESS)
    xml = re.sub(r"<camunda:formData>.*?</camunda:formData>", "", xml, count=1, flags=re.S)
    xml = xml.replace('"web_process"', '"diagram_undrawable"').replace("社区走访登记", "无图流程")
    with db.write() as s:
        definition, _ = definitions.deploy(s, xml, None, roles=roles.role_keys(s))
        key, definition_id = definition.key, definition.id
    return key, definition_id, xml


def test_a_version_without_a_layout_says_so_instead_of_failing(app, undrawable):
    key, version_id, xml = undrawable
    with pytest.raises(diagram.DiagramError):
        diagram.render_svg(xml)
    admin = signed_in(app, "admin")
    page = admin.get(f"/processes/{key}")
    assert page.status_code == 200
    assert "流程图暂时无法绘制" in text(page)
    assert "data-diagram-viewer" not in page.get_data(as_text=True)  # nor the viewer
    assert "bpmn-navigated-viewer" not in page.get_data(as_text=True)
    full = admin.get(f"/processes/{key}/versions/{version_id}/diagram.svg")
    assert full.status_code == 404 and "流程图暂时无法绘制" in text(full)
    # the BPMN itself is still there for whoever wants to read it
    assert admin.get(f"/processes/{key}/versions/{version_id}/process.xml").status_code == 200


# --- the card -----------------------------------------------------------------------------------


def test_the_instance_card_carries_the_server_drawings_states(app, db, actor, handoff_instance):
    page = signed_in(app, "dept.mz").get(f"/instances/{handoff_instance}")
    body = page.get_data(as_text=True)
    marks = _marks(body)
    with db.read() as s:
        detail = queries.instance_detail(s, actor("dept.mz"), handoff_instance)
    assert marks["states"] == detail["states"]
    assert set(marks["taken"]) == detail["taken"] and marks["taken"]
    assert marks["styles"] == diagram.state_styles()
    assert f'data-xml-url="/instances/{handoff_instance}/process.xml"' in body
    assert f'href="/instances/{handoff_instance}/diagram.svg"' in body
    assert "全尺寸查看" in text(page)
    # the server drawing is in the page as it was, with its legend: what shows without script
    assert body.count('class="bpmn-legend"') == 2  # the drawing's, and the viewer's key
    assert 'class="diagram diagram-fallback"' in body
    # the viewer's own parts are hidden until its script has drawn
    for part in ("diagram-tools", "diagram-canvas", "diagram-legend"):
        assert re.search(rf'<div class="{part}"[^>]*\bhidden\b', body), part


def test_the_card_loads_the_vendored_viewer_and_no_inline_script(app, db, handoff_instance):
    browser = signed_in(app, "dept.mz")
    for path in (f"/instances/{handoff_instance}", "/processes/handoff"):
        body = browser.get(path).get_data(as_text=True)
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", body, re.S)
        assert scripts and all("src=" in attrs and not code.strip() for attrs, code in scripts)
        for src in re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="(/static/[^"]+)"', body):
            assert browser.get(src).status_code == 200, src
        assert f"/static/{pages_diagrams.BPMN_JS}/bpmn-navigated-viewer" in body
        assert "/static/diagram.js" in body and 'data-zoom="fit"' in body
    english = browser.get("/processes/handoff?lang=en").get_data(as_text=True)
    assert 'aria-label="Zoom in"' in english and ">Full size<" in english


def test_other_pages_do_not_load_the_viewer(app, db):
    body = signed_in(app, "dept.mz").get("/inbox").get_data(as_text=True)
    assert "bpmn-navigated-viewer" not in body and "diagram.js" not in body


# --- what is vendored, and the viewer's line styles ---------------------------------------------


def test_the_vendored_bpmn_js_is_whole_and_pinned():
    sums = (VENDOR / "SHA256SUMS").read_text().split("\n")
    files = dict(reversed(line.split("  ", 1)) for line in sums if line.strip())
    assert set(files) == {
        "bpmn-navigated-viewer.production.min.js",
        "assets/diagram-js.css",
        "assets/bpmn-js.css",
    }
    for name, digest in files.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    viewer = (VENDOR / "bpmn-navigated-viewer.production.min.js").read_text()
    assert f"v{pages_diagrams.BPMN_JS_VERSION} " in viewer[:200]  # the banner names the version
    assert "Camunda" in (VENDOR / "LICENSE").read_text()
    readme = (VENDOR / "README.md").read_text()
    assert pages_diagrams.BPMN_JS_VERSION in readme and "scripts/vendor-bpmn-js" in readme
    script = (ROOT / "scripts" / "vendor-bpmn-js").read_text()
    assert f'VERSION="${{1:-{pages_diagrams.BPMN_JS_VERSION}}}"' in script
    # the strict CSP holds: the viewer needs no eval
    assert "eval(" not in viewer and "new Function" not in viewer


def test_the_viewers_line_styles_are_the_server_drawings():
    css = (STATIC / "diagram.css").read_text()
    for state, style in diagram.state_styles().items():
        rule = re.search(
            rf"\.djs-shape\.state-{state} \.djs-visual > :first-child \{{([^}}]*)\}}", css
        )
        if state == "cancelled":  # drawn at the neutral width: colour and badge only
            assert rule is None
            continue
        assert rule, state
        assert f"stroke-width: {style['width']:g}px" in rule.group(1), state
        if style["dash"]:
            assert f"stroke-dasharray: {style['dash']}" in rule.group(1), state
