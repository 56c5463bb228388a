/* Agora: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function onReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  // Selects that submit their form as soon as they change (language switcher).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit ? target.form.requestSubmit() : target.form.submit();
    }
  });

  // Forms that ask before doing something that cannot be undone.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Product gallery: a thumbnail shows its photo in the main frame.
  document.addEventListener("click", function (event) {
    var thumb = event.target instanceof Element ? event.target.closest(".gallery-thumb") : null;
    if (!thumb) return;
    var gallery = thumb.closest("[data-gallery]");
    var main = gallery && gallery.querySelector("[data-gallery-main]");
    if (!main) return;
    main.src = thumb.dataset.src;
    main.alt = thumb.dataset.alt || "";
    var link = gallery.querySelector("[data-gallery-link]");
    if (link) link.href = thumb.dataset.full;
    gallery.querySelectorAll(".gallery-thumb").forEach(function (other) {
      other.classList.toggle("active", other === thumb);
    });
  });

  // Variant picker: price, stock, SKU and weight follow the picked option.
  var LOW_STOCK = 5;
  function showVariant(picker, radio) {
    var stock = parseInt(radio.dataset.stock || "0", 10);
    var price = picker.querySelector("[data-price-display]");
    var stockEl = picker.querySelector("[data-stock-display]");
    var sku = picker.querySelector("[data-sku-display]");
    var weight = picker.querySelector("[data-weight-display]");
    if (price) price.textContent = radio.dataset.price;
    if (sku) sku.textContent = radio.dataset.sku;
    if (weight) weight.textContent = radio.dataset.weight;
    if (stockEl) {
      var state = stock <= 0 ? "sold_out" : stock <= LOW_STOCK ? "low" : "in_stock";
      stockEl.className = "stock stock-" + state;
      stockEl.textContent =
        state === "sold_out" ? picker.dataset.labelSoldOut
        : state === "low" ? picker.dataset.labelLow.replace("__N__", String(stock))
        : picker.dataset.labelInStock;
    }
  }
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!(radio instanceof HTMLInputElement) || radio.name !== "variant") return;
    var picker = radio.closest("[data-variant-picker]");
    if (picker) showVariant(picker, radio);
  });

  // Avatar upload: preview the picked picture before saving.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file" || input.name !== "avatar") return;
    var preview = document.querySelector("[data-avatar-preview]");
    var file = input.files && input.files[0];
    if (!preview || !file || !file.type.startsWith("image/")) return;
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    var placeholder = document.querySelector("[data-avatar-placeholder]");
    if (placeholder) placeholder.hidden = true;
  });

  // Copy a secret (API token) to the clipboard.
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var field = document.querySelector(button.dataset.copy);
    if (!field) return;
    field.select();
    var done = function () { button.textContent = button.dataset.copiedLabel || button.textContent; };
    if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, function () {});
    else if (document.execCommand("copy")) done();
  });

  // The header's <details> menu closes on a click elsewhere or on Escape.
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target instanceof Element ? event.target.closest("details.menu") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });

  onReady(function () {
    document.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
      field.addEventListener("focus", function () { field.select(); });
    });
  });
})();
