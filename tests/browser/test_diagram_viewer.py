"""The zoomable diagram (static/diagram.js over the vendored bpmn-js) in headless Chromium.

One real service for the module, as in production (`flask db upgrade`, `flask seed-demo`,
gunicorn on a seeded SQLite file), with one handoff moved through the street's review over the
API, so its instance has done steps, three active signing steps and taken flows. Playwright drives
Debian's /usr/bin/chromium, signed in through the login page.

What is checked: the viewer draws the stored BPMN with the same states as the server's own SVG
(marker classes, colours, badges), its task names are legible at the default zoom on a desktop
screen (measured, not assumed), its buttons zoom and fit, it falls back to the server's SVG when
it cannot draw, and without JavaScript the server's SVG is what shows. The full-size link opens
the SVG on its own. Without /usr/bin/chromium the test is skipped, except in CI (CI set), where
it must run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "demo-pass-2026"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
LEGIBLE_PX = 9.0  # the smallest size of a name (CSS px on screen) that still reads
SIGNING = ("sign_committee",)  # open after the review: the committee signs (or negotiates) first
FIGURES: dict[str, dict] = {}  # what the legibility checks measured, printed at the end
SHOTS = ROOT / "docs" / "screenshots"

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "no /usr/bin/chromium: install Debian's chromium (scripts/test does) to run the "
        "browser tests",
        allow_module_level=True,
    )
if not os.environ.get("CI"):
    pytest.importorskip("playwright", reason="the playwright package is not installed")

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.live import Client, LiveServer, prepare_database  # noqa: E402
from tests.test_api_handoff import new_request, only  # noqa: E402

pytestmark = pytest.mark.slow


# --- the real service, one handoff in signing -------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('viewer')}/viewer.sqlite3"
    prepare_database(url)
    live = LiveServer(url).start()
    try:
        dept = Client(live.base, "dept.mz")
        body = new_request(dept, ["TB-RG-01"])
        street = Client(live.base, "street.rg")
        review = only(street.inbox(), "street_review", body["id"])
        assert street.complete(review["id"], {"decision": "approve"}).status_code == 200
        instance_id = review["instance_id"]
        # what the server's own drawing marks: the states the viewer must show alike
        svg = dept.get(f"/instances/{instance_id}/diagram.svg")
        assert svg.status_code == 200, svg.text
        yield {"base": live.base, "instance": instance_id, "server_states": _states_of(svg.text)}
    finally:
        live.stop()


def _states_of(svg: str) -> dict[str, str]:
    """{element id: state} as the server SVG draws them (<g id="el-ID" class="… state-S">)."""
    root = etree.fromstring(svg.encode())
    found = {}
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        state = re.search(r"\bstate-(\w+)", g.get("class", ""))
        if g.get("id", "").startswith("el-") and state and state.group(1) != "neutral":
            found[g.get("id")[3:]] = state.group(1)
    return found


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """docs/screenshots/ with UPDATE_SCREENSHOTS=1, else a temporary folder."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        return SHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module", autouse=True)
def report_figures():
    yield
    for page, figures in FIGURES.items():
        print(f"\nlegibility, {page}: {figures}")


class Session:
    """One person's browser context, signed in through the login page."""

    def __init__(self, browser, base: str, username: str = "dept.mz", **context):
        context.setdefault("viewport", DESKTOP)
        self.context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **context)
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.base = base
        self.page.goto(base + "/login")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(PASSWORD)
        self.page.get_by_role("button", name="登录").click()
        expect(self.page.locator("h1")).to_have_text("我的待办")

    def open(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], self.errors


def ready(page: Page) -> None:
    expect(page.locator("[data-diagram-viewer]")).to_have_attribute("data-viewer", "ready")
    expect(page.locator("#diagram .djs-container")).to_be_visible()


def scale(page: Page) -> float:
    """The viewer's zoom: the scale of bpmn-js' viewport group."""
    return page.evaluate(
        "() => document.querySelector('#diagram .djs-container g.viewport')"
        ".transform.baseVal.consolidate().matrix.a"
    )


def names(page: Page) -> list[dict]:
    """Every name drawn (tasks', events' and gateways' labels, flows' conditions, pools' and
    lanes' names): its font size on screen (font-size × the zoom), the height of its box on
    screen, and whether it is inside the visible canvas."""
    return page.evaluate(
        """() => {
          const canvas = document.querySelector('#diagram .diagram-canvas').getBoundingClientRect();
          return Array.from(document.querySelectorAll(
            '#diagram .djs-shape[data-element-id] .djs-visual > text')).map((text) => {
            const shape = text.closest('.djs-shape');
            const box = text.getBoundingClientRect();
            return {
              id: shape.dataset.elementId,
              text: text.textContent,
              // the zoom of its own transform: a lane's name is turned on its side
              px: parseFloat(getComputedStyle(text).fontSize)
                * Math.hypot(text.getScreenCTM().a, text.getScreenCTM().b),
              height: box.height,
              inView: box.left >= canvas.left && box.right <= canvas.right
                && box.top >= canvas.top && box.bottom <= canvas.bottom,
            };
          });
        }"""
    )


def measure(page: Page, name: str, must_see: tuple[str, ...] = ()) -> None:
    labels = [lb for lb in names(page) if lb["text"].strip()]
    assert labels, "no names drawn"
    smallest = min(lb["px"] for lb in labels)
    seen = [lb for lb in labels if lb["inView"]]
    FIGURES[name] = {
        "zoom": round(scale(page), 3),
        "smallest name px": round(smallest, 2),
        "smallest name box height px": round(min(lb["height"] for lb in seen), 2) if seen else None,
        "names in view": len(seen),
    }
    assert smallest >= LEGIBLE_PX, FIGURES[name]
    # the default view shows the steps that matter now
    in_view = {lb["id"] for lb in seen}
    assert set(must_see) <= in_view, (must_see, in_view)
    assert seen and min(lb["height"] for lb in seen) >= LEGIBLE_PX, FIGURES[name]


def zooms_and_fits(page: Page) -> None:
    before = scale(page)
    page.locator('[data-zoom="in"]').click()
    expect_scale(page, lambda s: s > before * 1.05)
    page.locator('[data-zoom="out"]').click()
    page.locator('[data-zoom="out"]').click()
    expect_scale(page, lambda s: s < before)
    page.locator('[data-zoom="fit"]').click()
    # fitted: every shape inside the canvas
    outside = page.evaluate(
        """() => {
          const canvas = document.querySelector('#diagram .diagram-canvas').getBoundingClientRect();
          return Array.from(document.querySelectorAll('#diagram .djs-shape .djs-visual'))
            .map((v) => v.getBoundingClientRect())
            .filter((r) => r.left < canvas.left - 1 || r.right > canvas.right + 1
              || r.top < canvas.top - 1 || r.bottom > canvas.bottom + 1).length;
        }"""
    )
    assert outside == 0


def expect_scale(page: Page, ok) -> None:
    page.wait_for_function("() => true")  # let the click's zoom land
    for _ in range(50):
        if ok(scale(page)):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"zoom did not change as expected: {scale(page)}")


# --- the tests ----------------------------------------------------------------------------------


def test_the_machine_has_a_chinese_font():
    """bpmn-js writes names with the page's font stack; without a CJK font they are boxes."""
    if shutil.which("fc-list"):
        found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
        fonts = found.stdout.split()
    else:  # fontconfig's tools are not always there; the fonts are where Debian puts them
        fonts = [p.name for p in Path("/usr/share/fonts").rglob("*CJK*")]
    assert fonts, "no CJK font: install fonts-noto-cjk (scripts/test does)"


def test_instance_page_draws_the_states_legibly_and_zooms(site, browser, shots):
    person = Session(browser, site["base"])
    page = person.open(f"/instances/{site['instance']}")
    ready(page)
    shapes = page.locator("#diagram .djs-shape[data-element-id]")
    assert shapes.count() > 40  # the whole handoff, not an empty canvas

    # the same states as the server's drawing: marker class, colour and badge
    states = site["server_states"]
    assert {states.get(k) for k in SIGNING} == {"active"}
    assert states.get("street_review") == "done"
    drawn = page.evaluate(
        """() => Object.fromEntries(Array.from(
          document.querySelectorAll('#diagram .djs-element[data-element-id]')).flatMap((e) => {
            const state = (e.getAttribute('class') || '').match(/\\bstate-(\\w+)/);
            return state ? [[e.dataset.elementId, state[1]]] : [];
          }))"""
    )
    assert drawn == states
    assert any(page_has_connection(page, e) for e in states)  # the taken flows too
    stroke = page.evaluate(
        """() => getComputedStyle(document.querySelector(
          '#diagram .djs-element[data-element-id="sign_committee"] .djs-visual > rect')).stroke"""
    )
    assert stroke == "rgb(230, 81, 0)"  # #e65100, the server's active colour
    badges = page.locator("#diagram .djs-overlay-state-badge")
    shapes_marked = sum(1 for e in states if not page_has_connection(page, e))
    assert badges.count() == shapes_marked
    expect(page.locator("#diagram .diagram-legend svg")).to_be_visible()
    expect(page.locator("#diagram .diagram-fallback")).to_be_hidden()

    measure(page, "instance page", must_see=SIGNING)
    page.locator("#diagram").screenshot(path=str(shots / "desktop-12-diagram-viewer.png"))
    zooms_and_fits(page)
    page.locator("#diagram").screenshot(path=str(shots / "desktop-12b-diagram-viewer-fit.png"))
    # printed, the page shows the server drawing: the whole diagram, not the part in view
    page.emulate_media(media="print")
    expect(page.locator("#diagram .diagram-fallback svg")).to_be_visible()
    expect(page.locator("#diagram .diagram-canvas")).to_be_hidden()
    page.emulate_media(media="screen")
    expect(page.locator("#diagram .diagram-canvas")).to_be_visible()
    full_size(page, site["base"])
    person.close()


def page_has_connection(page: Page, element: str) -> bool:
    selector = f'#diagram .djs-connection[data-element-id="{element}"]'
    return page.locator(selector).count() == 1


def full_size(page: Page, base: str) -> None:
    link = page.locator("#diagram a[data-full-size]")
    expect(link).to_have_text("全尺寸查看")
    href = link.get_attribute("href")
    r = page.request.get(base + href)
    assert r.status == 200 and r.headers["content-type"].startswith("image/svg+xml")
    svg = etree.fromstring(r.body())
    width = float(svg.get("width"))
    assert float(svg.get("viewBox").split()[2]) == width  # 1:1, names at their 12px
    assert "图例" in r.text()


def test_process_page_draws_legibly_and_zooms(site, browser):
    person = Session(browser, site["base"], "street.rg")
    page = person.open("/processes/handoff")
    ready(page)
    expect(page.locator("#diagram .djs-element[class*='state-']")).to_have_count(0)  # no instance
    measure(page, "process page", must_see=("street_review",))
    zooms_and_fits(page)
    full_size(page, site["base"])
    # the buttons speak the page's language
    page.goto(site["base"] + "/processes/handoff?lang=en")
    ready(page)
    expect(page.locator('[data-zoom="in"]')).to_have_attribute("aria-label", "Zoom in")
    expect(page.locator("#diagram a[data-full-size]")).to_have_text("Full size")
    page.goto(site["base"] + "/processes/handoff?lang=zh")
    person.close()


def test_without_javascript_the_server_drawing_shows(site, browser, shots):
    person = Session(browser, site["base"], java_script_enabled=False)
    for path in (f"/instances/{site['instance']}", "/processes/handoff"):
        page = person.open(path)
        expect(page.locator("#diagram .diagram-fallback svg")).to_be_visible()
        expect(page.locator("#diagram .diagram-canvas")).to_be_hidden()
        expect(page.locator("#diagram .diagram-tools")).to_be_hidden()
        expect(page.locator("#diagram a[data-full-size]")).to_be_visible()
    page.locator("#diagram").screenshot(path=str(shots / "desktop-12c-diagram-without-js.png"))
    person.close()


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "body": "no"},  # the file cannot be had
        {"status": 200, "body": "<nope/>", "content_type": "application/xml"},  # nor read
    ],
    ids=["http-error", "not-bpmn"],
)
def test_a_viewer_that_cannot_draw_leaves_the_server_drawing(site, browser, answer):
    person = Session(browser, site["base"])
    person.page.route("**/process.xml", lambda route: route.fulfill(**answer))
    page = person.open(f"/instances/{site['instance']}")
    expect(page.locator("[data-diagram-viewer]")).to_have_attribute("data-viewer", "failed")
    expect(page.locator("#diagram .diagram-fallback svg")).to_be_visible()
    for part in ("diagram-canvas", "diagram-tools", "diagram-legend"):
        expect(page.locator(f"#diagram .{part}")).to_be_hidden()
    person.close()


def test_on_a_phone_the_viewer_fits_the_screen(site, browser, shots):
    person = Session(
        browser, site["base"], viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = person.open(f"/instances/{site['instance']}")
    ready(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width}px"
    measure(page, "instance page, phone", must_see=SIGNING[:1])
    page.locator("#diagram").screenshot(path=str(shots / "phone-08-diagram-viewer.png"))

    # a finger drags the diagram (bpmn-js itself pans with a mouse only)
    box = page.locator("#diagram .diagram-canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before = viewport_matrix(page)
    scrolled = page.evaluate("window.scrollY")
    cdp = page.context.new_cdp_session(page)
    for kind, dx in (("touchStart", 0), ("touchMove", -60), ("touchMove", -120), ("touchEnd", 0)):
        points = [] if kind == "touchEnd" else [{"x": x + dx, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
    after = viewport_matrix(page)
    assert after["a"] == pytest.approx(before["a"])  # the same zoom, moved with the finger
    assert after["e"] == pytest.approx(before["e"] - 120, abs=2)
    assert page.evaluate("window.scrollY") == scrolled  # the page did not scroll instead
    person.close()


def viewport_matrix(page: Page) -> dict:
    return page.evaluate(
        """() => { const m = document.querySelector('#diagram .djs-container g.viewport')
          .transform.baseVal.consolidate().matrix; return { a: m.a, e: m.e, f: m.f }; }"""
    )
