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
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      each("option", select, function (option) {
        var match = !q || !option.value || option.textContent.toLowerCase().indexOf(q) >= 0;
        option.hidden = !(match || option.selected);
      });
      each("optgroup", select, function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
    });
  }

  // Screening, live: negative-list items and unfunded assisted (or unlisted) items.
  var amount = document.getElementById("amount");
  var FUNDED = { assisted: true, unlisted: true };
  function isZero(text) {
    var value = text.trim();
    return /^\d{1,12}(\.\d{1,2})?$/.test(value) && Number(value) === 0;
  }
  function screen() {
    var option = select && select.options[select.selectedIndex];
    var category = option ? (option.dataset.category || "unlisted") : "unlisted";
    var negative = category === "negative";
    var unfunded = FUNDED[category] === true && amount && isZero(amount.value);
    each('[data-warn="negative"]', form, function (el) { el.hidden = !negative; });
    each('[data-warn="unfunded"]', form, function (el) { el.hidden = !unfunded; });
    if (negative || unfunded) {
      each('[data-warn="ok"]', form, function (el) { el.hidden = true; });
    }
  }
  if (select) { select.addEventListener("change", screen); }
  if (amount) { amount.addEventListener("input", screen); }
})();
