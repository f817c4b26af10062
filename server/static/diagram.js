// The zoomable diagram of the instance and process pages (templates/_diagram.html).
//
// bpmn-js's NavigatedViewer (vendored in static/vendor, see scripts/vendor-bpmn-js) draws the
// stored BPMN, fetched from the page's own same-origin URL, with the instance's states in the
// server drawing's colours, line styles and badges. The server-drawn SVG under it stays until
// the viewer has drawn, and comes back if anything fails: without JavaScript, with an old
// browser or with a file bpmn-js cannot read, the page shows what it always showed.
(function () {
  "use strict";

  // The default zoom is "fit", but never so small that names cannot be read: bpmn-js writes
  // task names at 12px and other labels at 11px, so at 0.9 they are about 10.8 and 9.9 CSS px.
  // A wide diagram opens at that zoom on its active step; "fit" shows all of it.
  var READABLE_SCALE = 0.9;
  var MIN_HEIGHT = 240; // px: the canvas' height follows the diagram's, within these limits
  var MAX_HEIGHT_SHARE = 0.7; // of the window's height, so the page can still be scrolled
  var DI = "http://www.omg.org/spec/BPMN/20100524/DI";
  var COLOR = "http://www.omg.org/spec/BPMN/non-normative/color/1.0";
  var CONTAINERS = { "bpmn:Participant": 1, "bpmn:Lane": 1 };

  if (!window.BpmnJS || !window.fetch || !window.DOMParser) { return; }
  Array.prototype.forEach.call(document.querySelectorAll("[data-diagram-viewer]"), start);

  function start(box) {
    var marks = JSON.parse(box.getAttribute("data-marks") || "{}");
    marks.states = marks.states || {};
    marks.taken = marks.taken || [];
    marks.styles = marks.styles || {};
    marks.took = {};
    marks.taken.forEach(function (id) { marks.took[id] = true; });
    var fallback = box.querySelector(".diagram-fallback");
    var canvas = box.querySelector(".diagram-canvas");
    var drawn = fallback.querySelector("svg");
    var viewer = new window.BpmnJS({
      container: canvas,
      // the server drawing's fonts, CJK first: bpmn-js' own default is Arial
      textRenderer: {
        defaultStyle: { fontFamily: (drawn && drawn.getAttribute("font-family")) || "sans-serif" }
      }
    });
    box.setAttribute("data-viewer", "loading");
    canvas.hidden = false; // bpmn-js measures its container while it draws
    fetch(box.getAttribute("data-xml-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/xml" }
    })
      .then(function (response) {
        if (!response.ok) { throw new Error("the BPMN file: HTTP " + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(coloured(xml, marks)); })
      .then(function () { shown(box, viewer, marks, fallback); })
      .catch(function (error) { // the page as it was: the server drawing and its key
        Array.prototype.forEach.call(box.querySelectorAll(".diagram-box > *"), function (part) {
          part.hidden = part !== fallback;
        });
        viewer.destroy();
        box.setAttribute("data-viewer", "failed");
        if (window.console) { window.console.warn("diagram viewer:", error); }
      });
  }

  // The state of an element, as the server drawing has it: an explicit state wins, and a
  // sequence flow the instance went along is done.
  function stateOf(marks, id) {
    if (Object.prototype.hasOwnProperty.call(marks.states, id)) { return marks.states[id]; }
    return marks.took[id] ? "done" : null;
  }

  // The BPMN with each marked element's colours in its diagram interchange (the OMG colour
  // extension bpmn-js reads), so shapes, labels and arrowheads take them alike.
  function coloured(xml, marks) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    if (doc.getElementsByTagName("parsererror").length) { return xml; } // bpmn-js will say
    ["BPMNShape", "BPMNEdge"].forEach(function (tag) {
      Array.prototype.forEach.call(doc.getElementsByTagNameNS(DI, tag), function (di) {
        var style = marks.styles[stateOf(marks, di.getAttribute("bpmnElement"))];
        if (!style) { return; }
        di.setAttributeNS(COLOR, "color:border-color", style.stroke);
        if (tag === "BPMNShape") { di.setAttributeNS(COLOR, "color:background-color", style.fill); }
        var label = di.getElementsByTagNameNS(DI, "BPMNLabel")[0];
        if (!label) {
          label = doc.createElementNS(DI, di.prefix ? di.prefix + ":BPMNLabel" : "BPMNLabel");
          di.appendChild(label);
        }
        label.setAttributeNS(COLOR, "color:color", style.text);
      });
    });
    return new XMLSerializer().serializeToString(doc);
  }

  function shown(box, viewer, marks, fallback) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    registry.forEach(function (element) {
      if (element.type === "label") { return; }
      var state = stateOf(marks, element.id);
      if (!state) { return; }
      canvas.addMarker(element, "state-" + state);
      var badge = box.querySelector('template[data-badge="' + state + '"]');
      if (badge && !element.waypoints && !CONTAINERS[element.type]) {
        // where the server drawing puts it: centred 2px in from the top right corner
        var node = document.createElement("div");
        node.className = "state-badge";
        node.appendChild(badge.content.cloneNode(true));
        overlays.add(element, "state-badge", { position: { top: -8, right: 12 }, html: node });
      }
    });

    fallback.hidden = true;
    box.querySelector(".diagram-legend").hidden = false;
    var tools = box.querySelector(".diagram-tools");
    tools.hidden = false;
    var host = box.querySelector(".diagram-canvas");
    host.tabIndex = 0;
    fit(viewer, host, marks);
    wire(viewer, tools, host);
    box.setAttribute("data-viewer", "ready");
  }

  // The default view: the whole diagram if that is readable, else readable on its active steps.
  function fit(viewer, host, marks) {
    var canvas = viewer.get("canvas");
    var inner = canvas.viewbox().inner;
    var width = host.clientWidth;
    var scale = Math.min(1, Math.max(READABLE_SCALE, width / (inner.width + 40)));
    var height = inner.height * scale + 40;
    height = Math.min(Math.max(height, MIN_HEIGHT), window.innerHeight * MAX_HEIGHT_SHARE);
    host.style.height = Math.round(height) + "px";
    canvas.resized();
    canvas.zoom("fit-viewport", "auto");
    if (canvas.viewbox().scale >= READABLE_SCALE) { return; }
    var w = host.clientWidth / READABLE_SCALE;
    var h = host.clientHeight / READABLE_SCALE;
    var x = inner.x - 20; // without an active step: the top left, where the process starts
    var y = inner.y - 20;
    var focus = activeBounds(viewer, marks);
    if (focus) {
      // centred on the active steps, but with no empty margin beyond the diagram's edges
      x = clamp(focus.x + focus.width / 2 - w / 2, inner.x - 20, inner.x + inner.width + 20 - w);
      y = clamp(focus.y + focus.height / 2 - h / 2, inner.y - 20, inner.y + inner.height + 20 - h);
    }
    canvas.viewbox({ x: x, y: y, width: w, height: h });
  }

  function clamp(value, low, high) { return Math.max(low, Math.min(value, high)); }

  function activeBounds(viewer, marks) {
    var registry = viewer.get("elementRegistry");
    var box = null;
    Object.keys(marks.states).forEach(function (id) {
      var element = registry.get(id);
      if (marks.states[id] !== "active" || !element || element.waypoints) { return; }
      var x0 = element.x, y0 = element.y, x1 = element.x + element.width, y1 = element.y + element.height;
      if (box) {
        x0 = Math.min(x0, box.x); y0 = Math.min(y0, box.y);
        x1 = Math.max(x1, box.x + box.width); y1 = Math.max(y1, box.y + box.height);
      }
      box = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    });
    return box;
  }

  function wire(viewer, tools, host) {
    var canvas = viewer.get("canvas");
    var zoomScroll = viewer.get("zoomScroll");
    tools.addEventListener("click", function (event) {
      var button = event.target.closest("[data-zoom]");
      if (!button) { return; }
      var how = button.getAttribute("data-zoom");
      if (how === "fit") {
        canvas.zoom("fit-viewport", "auto");
      } else {
        zoomScroll.stepZoom(how === "in" ? 1 : -1);
      }
    });
    // The wheel scrolls the page as everywhere else; with Ctrl (or a pinch) it zooms. bpmn-js
    // would take every turn of the wheel over the diagram for itself.
    host.addEventListener("wheel", function (event) {
      if (!event.ctrlKey && !event.metaKey) { event.stopPropagation(); }
    }, true);
    // the keyboard: + and − zoom, 0 fits, the arrows move
    host.addEventListener("keydown", function (event) {
      var step = 60;
      var moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (event.key === "+" || event.key === "=") { zoomScroll.stepZoom(1); }
      else if (event.key === "-") { zoomScroll.stepZoom(-1); }
      else if (event.key === "0") { canvas.zoom("fit-viewport", "auto"); }
      else if (moves[event.key]) { canvas.scroll({ dx: moves[event.key][0], dy: moves[event.key][1] }); }
      else { return; }
      event.preventDefault();
    });
    window.addEventListener("resize", function () { canvas.resized(); });
    touch(canvas, host);
  }

  // Fingers: bpmn-js pans and zooms with a mouse only. One finger drags the diagram, two pinch
  // it; the page still scrolls from above and below the canvas, which is never the whole screen.
  function touch(canvas, host) {
    var points = {}; // pointer id -> its last position
    var spread = null; // the distance between two fingers at the last move
    host.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse") { return; }
      points[event.pointerId] = { x: event.clientX, y: event.clientY };
      host.setPointerCapture(event.pointerId);
      spread = null;
    });
    host.addEventListener("pointermove", function (event) {
      var last = points[event.pointerId];
      if (!last) { return; }
      points[event.pointerId] = { x: event.clientX, y: event.clientY };
      var ids = Object.keys(points);
      if (ids.length === 1) {
        canvas.scroll({ dx: event.clientX - last.x, dy: event.clientY - last.y });
      } else if (ids.length === 2) {
        var a = points[ids[0]], b = points[ids[1]];
        var now = Math.hypot(a.x - b.x, a.y - b.y);
        var rect = host.getBoundingClientRect();
        var middle = { x: (a.x + b.x) / 2 - rect.left, y: (a.y + b.y) / 2 - rect.top };
        if (spread) { canvas.zoom(clamp(canvas.zoom() * now / spread, 0.2, 4), middle); }
        spread = now;
      }
    });
    function lifted(event) { delete points[event.pointerId]; spread = null; }
    host.addEventListener("pointerup", lifted);
    host.addEventListener("pointercancel", lifted);
  }
})();
