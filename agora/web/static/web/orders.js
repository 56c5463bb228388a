// Buying on Agora: the buy box, the cart and checkout on top of htmx. Every page works without this file.
(function () {
  "use strict";
  if (window.agoraOrders) {
    return; // loaded twice (the buy box and a page both include it)
  }
  window.agoraOrders = true;

  function inOrders(element) {
    return element && element.closest && element.closest("[data-orders]");
  }

  // Refused input comes back as 422 (invalid), 409 (conflict: sold out, prices changed) or 402 (declined)
  // with a fragment that says why: swap it in like a success so the shopper sees it where they acted.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if ((status === 422 || status === 409 || status === 402) && inOrders(event.detail.target)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409 || status === 402 || !inOrders(event.detail.elt)) {
      return;
    }
    var box = document.querySelector("[data-orders-error]");
    window.alert((box ? box.getAttribute("data-orders-error") : "Error") + " (" + status + ")");
  });

  // The header's cart count follows the cart: the server sends {"cartChanged": {"count": n}} in HX-Trigger.
  function setCartCount(count) {
    var link = document.querySelector("[data-cart-link]");
    if (!link) {
      return;
    }
    var badge = link.querySelector("[data-cart-count]");
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge";
      badge.setAttribute("data-cart-count", "");
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
    }
    badge.textContent = String(count);
    badge.hidden = !count;
  }
  document.addEventListener("cartChanged", function (event) {
    var detail = event.detail || {};
    if (typeof detail.count === "number") {
      setCartCount(detail.count);
    }
  });

  // Buy box: follow the variant picked in the product's variant picker.
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!(radio instanceof HTMLInputElement) || radio.name !== "variant" || !radio.closest("[data-variant-picker]")) {
      return;
    }
    var box = document.querySelector("[data-buy-box]");
    if (!box) {
      return;
    }
    var hidden = box.querySelector("[data-buy-variant]");
    if (hidden) {
      hidden.value = radio.value;
    }
    var stock = parseInt(radio.dataset.stock || "0", 10);
    var quantity = box.querySelector("input[name=quantity]");
    if (quantity) {
      quantity.max = String(Math.max(stock, 1));
      if (parseInt(quantity.value || "1", 10) > stock && stock > 0) {
        quantity.value = String(stock);
      }
    }
    box.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.disabled = stock <= 0;
    });
    var soldOut = box.querySelector("[data-buy-sold-out]");
    if (soldOut) {
      soldOut.hidden = stock > 0;
    }
    var status = box.querySelector("[data-buy-status]");
    if (status) {
      status.textContent = "";
    }
  });

  // Checkout: a changed country or delivery method asks the server for new totals.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!(field instanceof HTMLElement) || !field.closest("[data-checkout-form]")) {
      return;
    }
    if (field.matches("[data-refresh-totals]") && window.htmx) {
      var form = field.closest("form");
      var url = form && form.getAttribute("data-summary-url");
      if (url) {
        window.htmx.ajax("POST", url, { source: form, target: "#checkout-summary", swap: "outerHTML" });
      }
    }
  });

  // A placed order must not be placed twice: the button goes quiet while the form is on its way.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-place-order")) {
      return;
    }
    if (form.dataset.submitting === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = "1";
    var button = form.querySelector("button[type=submit][data-busy-label]");
    if (button) {
      button.textContent = button.getAttribute("data-busy-label");
      button.setAttribute("aria-busy", "true");
    }
  });
  window.addEventListener("pageshow", function () {
    // Back from the payment page: the form may be used again (the idempotency key still guards it).
    document.querySelectorAll("form[data-place-order]").forEach(function (form) {
      form.dataset.submitting = "";
    });
  });
})();

// Stripe: the card is confirmed in the browser with Stripe.js (loaded from js.stripe.com only on that page, as
// Stripe requires); the webhook then tells the server, and the page waits for it.
(function () {
  "use strict";
  function mount(form) {
    if (!window.Stripe || form.dataset.mounted) {
      return;
    }
    form.dataset.mounted = "1";
    var stripe = window.Stripe(form.dataset.key);
    var card = stripe.elements().create("card");
    card.mount(form.querySelector("[data-stripe-card]"));
    var error = form.querySelector("[data-stripe-error]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      stripe.confirmCardPayment(form.dataset.secret, { payment_method: { card: card } }).then(function (result) {
        if (result.error) {
          error.textContent = result.error.message || "";
          error.hidden = false;
          button.disabled = false;
        } else {
          window.location.href = form.dataset.doneUrl;
        }
      });
    });
  }
  function mountAll() {
    document.querySelectorAll("form[data-stripe-confirm]").forEach(mount);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
