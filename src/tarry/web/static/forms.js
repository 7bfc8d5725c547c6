// tarry's answer forms: a field whose value does not match its pattern says what the
// field wants (its data-error-message, the server's message too) instead of the browser's
// "match the requested format". Written for tarry; no build step, no dependencies.
"use strict";

(function () {
  function explain(control) {
    // Cleared first: a custom message would make the field invalid on its own.
    control.setCustomValidity("");
    if (control.validity.patternMismatch) {
      control.setCustomValidity(control.dataset.errorMessage);
    }
  }

  function watch(root) {
    root.querySelectorAll("[data-error-message]").forEach(function (control) {
      if (control.dataset.tarryWatched) {
        return;
      }
      control.dataset.tarryWatched = "1";
      control.addEventListener("input", function () { explain(control); });
      control.addEventListener("invalid", function () { explain(control); });
      explain(control);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { watch(document); });
  // Pages that htmx refreshes bring new fields.
  document.addEventListener("htmx:afterSwap", function (event) { watch(event.target); });
})();
