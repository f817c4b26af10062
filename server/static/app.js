// A little optional help for the pages; every page works without it.
(function () {
  "use strict";

  function each(selector, root, fn) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), fn);
  }

  // Print buttons (the agreement page).
  each("[data-print]", document, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // 居民评议: the number of residents who rated follows while the survey is open (the page's
  // own count is right when loaded; this only spares a reload).
  each("[data-live-count]", document, function (el) {
    var url = el.getAttribute("data-live-count");
    if (!url || !window.fetch) { return; }
    var timer = setInterval(function () {
      if (document.hidden) { return; }
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (!body) { return; }
          el.textContent = String(body.ratings);
          el.setAttribute("data-count", String(body.ratings));
          if (!body.open) { clearInterval(timer); }
        })
        .catch(function () { /* offline for a moment: the next tick tries again */ });
    }, Number(el.getAttribute("data-live-interval")) || 15000);
  });

  var form = document.getElementById("new-request");
  if (!form) { return; }

  // Communities by street: "whole street" checks them all; the count follows.
  var counter = document.getElementById("community-count");
  function updateCount() {
    var n = form.querySelectorAll('input[name="community_codes"]:checked').length;
    if (counter && counter.dataset.template) {
      counter.textContent = counter.dataset.template.replace("{n}", String(n));
    }
  }
  each("fieldset[data-street]", form, function (fieldset) {
    var whole = fieldset.querySelector("[data-whole-street]");
    var boxes = fieldset.querySelectorAll('input[name="community_codes"]');
    if (!whole) { return; }
    whole.addEventListener("change", function () {
      Array.prototype.forEach.call(boxes, function (box) { box.checked = whole.checked; });
      updateCount();
    });
    Array.prototype.forEach.call(boxes, function (box) {
      box.addEventListener("change", function () {
        whole.checked = Array.prototype.every.call(boxes, function (b) { return b.checked; });
        updateCount();
      });
    });
  });
  updateCount();

  // Catalog search filters the item list as you type.
  var select = document.getElementById("item_code");
  var search = document.getElementById("item_q");
  if (search && select) {
    // data-search holds the item's code, names, short names and their pinyin (whole and by
    // initials), normalised as handoff/catalog_search.py does: no spaces, lower case
    var none = document.getElementById("item_none");
    search.addEventListener("input", function () {
      var q = search.value.normalize("NFKC").replace(/\s+/g, "").toLowerCase();
      var found = 0;
      each("option", select, function (option) {
        if (!option.value) { return; }
        var keys = (option.dataset.search || option.textContent.toLowerCase()).split(" ");
        var match = !q || keys.some(function (k) { return k.indexOf(q) >= 0; });
        if (match) { found += 1; }
        option.hidden = !(match || option.selected);
      });
      each("optgroup", select, function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
      if (none) { none.hidden = !q || found > 0; }
    });
  }

  // Screening, live: negative-list items, forbidden certificates, unfunded assisted (or
  // unlisted) items, and negative-list terms in the text (the terms of the negative list in
  // force today, normalised as handoff/screening.py does: NFKC, lower case, letters and digits).
  var amount = document.getElementById("amount");
  var box = document.getElementById("screen");
  var FUNDED = { assisted: true, unlisted: true };
  var TERMS = [], BENIGN = [], FIELDS = {};
  try {
    var spec = JSON.parse((box && box.dataset.terms) || "{}");
    TERMS = spec.terms || [];
    BENIGN = spec.benign || [];
    FIELDS = JSON.parse((box && box.dataset.fields) || "{}");
  } catch (e) { TERMS = []; }
  var NOT_LETTERS = null;
  try { NOT_LETTERS = new RegExp("[^\\p{L}\\p{N}]", "gu"); } catch (e) { NOT_LETTERS = null; }
  function normalise(text) {
    var s = String(text || "");
    if (s.normalize) { s = s.normalize("NFKC"); }
    s = s.toLowerCase();
    if (NOT_LETTERS) { return s.replace(NOT_LETTERS, ""); }
    return s.replace(/[\s!-\/:-@\[-`{-~\u00a0-\u00bf\u2000-\u206f\u3000-\u303f\uff00-\uff0f]/g, "");
  }
  function masked(text) {
    var s = normalise(text);
    BENIGN.forEach(function (word) { s = s.split(word).join("|"); });
    return s;
  }
  function value(id) {
    var el = document.getElementById(id);
    return el ? el.value : "";
  }
  function findTerm(option) {
    var basis = value("legal_basis").trim() || (option && option.dataset.basis) || "";
    var texts = [
      ["title", masked(value("title"))],
      ["description", masked(value("description"))],
      ["legal_basis", masked(basis)]
    ];
    for (var i = 0; i < TERMS.length; i++) {
      for (var j = 0; j < texts.length; j++) {
        if (texts[j][1].indexOf(TERMS[i][0]) >= 0) {
          return { term: TERMS[i][1], item: TERMS[i][2] + " " + TERMS[i][3], field: texts[j][0] };
        }
      }
    }
    return null;
  }
  function isZero(text) {
    var value = text.trim();
    return /^\d{1,12}(\.\d{1,2})?$/.test(value) && Number(value) === 0;
  }
  function screen() {
    var option = select && select.options[select.selectedIndex];
    var category = option ? (option.dataset.category || "unlisted") : "unlisted";
    var negative = category === "negative";
    var forbidden = category === "certificate_forbidden";
    var unfunded = FUNDED[category] === true && amount && isZero(amount.value);
    var hit = findTerm(option);
    each('[data-warn="negative"]', form, function (el) { el.hidden = !negative; });
    each('[data-warn="forbidden"]', form, function (el) { el.hidden = !forbidden; });
    each('[data-warn="unfunded"]', form, function (el) { el.hidden = !unfunded; });
    each('[data-warn="term"]', form, function (el) {
      el.hidden = !hit;
      if (!hit) { return; }
      var template = category === "unlisted" ? el.dataset.unlisted : el.dataset.listed;
      var text = el.querySelector("[data-term-text]");
      if (text && template) {
        text.textContent = template.split("{field}").join(FIELDS[hit.field] || hit.field)
          .split("{term}").join(hit.term).split("{item}").join(hit.item);
      }
    });
    if (negative || forbidden || unfunded || hit) {
      each('[data-warn="ok"]', form, function (el) { el.hidden = true; });
    }
  }
  if (select) { select.addEventListener("change", screen); }
  if (amount) { amount.addEventListener("input", screen); }
  ["title", "description", "legal_basis"].forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { el.addEventListener("input", screen); }
  });
})();
