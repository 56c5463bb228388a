// Seller dashboard behaviour on top of htmx.
(function () {
  "use strict";

  // Refused input comes back as 422 (invalid) or 409 (conflict) with the fragment showing the errors:
  // swap it in like a success so the seller sees the message where they typed.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Other failures (403, 404, 500, network) would otherwise go unnoticed.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status !== 422 && status !== 409) {
      var box = document.querySelector("[data-error-message]");
      window.alert((box ? box.getAttribute("data-error-message") : "Error") + " (" + status + ")");
    }
  });

  // Plain (non-htmx) forms whose button asks for a confirmation.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // New content from htmx: put the focus in the first field with an error, or in an edit row's first field.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.querySelector) {
      return;
    }
    var field = elt.querySelector(".field-invalid input, .field-invalid select, input[aria-invalid='true']");
    if (!field && elt.classList.contains("editing")) {
      field = elt.querySelector("input:not([type='hidden'])");
    }
    if (field) {
      field.focus();
    }
  });
})();
