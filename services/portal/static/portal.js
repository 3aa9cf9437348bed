// Doorstroom portal: small enhancements. Every page works without this file.
(function () {
  "use strict";

  // Progress bars: the width comes from data-percent (no inline styles under the CSP).
  document.querySelectorAll(".progress-bar[data-percent]").forEach(function (bar) {
    bar.style.setProperty("--p", Math.max(0, Math.min(100, parseInt(bar.dataset.percent, 10) || 0)) + "%");
  });

  // An error summary takes the focus, so screen readers announce it and Tab leads to the fields.
  var summary = document.querySelector("[data-autofocus]");
  if (summary) { summary.focus(); }

  // Ask before an action that cannot simply be undone.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  // A long task in one request (a roster import): say so, and prevent a second submit.
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var status = document.createElement("p");
      status.className = "notice";
      status.setAttribute("role", "status");
      status.textContent = form.dataset.busy;
      form.appendChild(status);
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });

  // Long tasks (a batch of letters): show the progress as it goes, then the finished page.
  var poll = document.querySelector("[data-poll]");
  if (poll && window.fetch) {
    var tick = function () {
      window.fetch(poll.dataset.poll, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { return; }
          var bar = poll.querySelector("progress");
          if (bar && p.total) { bar.max = p.total; bar.value = p.done; bar.textContent = p.done + " van " + p.total; }
          var label = poll.querySelector("[data-poll-label]");
          if (label && p.label) { label.textContent = p.label; }
          var count = poll.querySelector("[data-poll-count]");
          if (count) { count.textContent = p.done + " van " + (p.total || "?"); }
          if (p.finished || p.page !== window.location.pathname) { window.location.assign(p.page); return; }
          window.setTimeout(tick, 1500);
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    };
    window.setTimeout(tick, 1000);
  }

  // Questions that only apply after a certain answer are hidden until then.
  function answers(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) { return; }
      if (el.type === "radio") {
        if (el.checked) { values[el.name] = el.value === "ja" ? true : el.value === "nee" ? false : el.value; }
        else if (!(el.name in values)) { values[el.name] = null; }
      } else {
        values[el.name] = el.value === "" ? null : el.value;
      }
    });
    return values;
  }
  function holds(cond, values) {
    if (cond.any_of) { return cond.any_of.some(function (c) { return holds(c, values); }); }
    var value = values[cond.field];
    if (cond.answered !== undefined) { return (value !== null && value !== undefined) === cond.answered; }
    return value === cond.equals;
  }
  document.querySelectorAll("form[data-conditional]").forEach(function (form) {
    var blocks = form.querySelectorAll("[data-visible-when]");
    function update() {
      var values = answers(form);
      blocks.forEach(function (block) {
        try { block.hidden = !holds(JSON.parse(block.dataset.visibleWhen), values); } catch (e) { block.hidden = false; }
      });
    }
    form.addEventListener("change", update);
    update();
  });

  // the programme field: the fields for "Een school die niet in de lijst staat" only when chosen
  document.querySelectorAll("fieldset.other-school").forEach(function (fieldset) {
    var select = document.getElementById(fieldset.id.replace(/^other-/, "f-"));
    if (!select) { return; }
    function update() { fieldset.hidden = select.value !== "anders"; }
    select.addEventListener("change", update);
    update();
  });

})();
