/* Agora social pages: messages for refused HTMX actions, and the composer (photo previews, product tags placed on
   a photo by clicking, poll options). Every page works without this file: the composer then posts text, photos
   and polls, and tags stay a plain list. */
(function () {
  "use strict";
  if (window.agoraSocialLoaded) return; // the script may be included by several parts of one page
  window.agoraSocialLoaded = true;

  function onReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  // --- messages ---------------------------------------------------------------------------
  // Translated texts come from the page: <div data-social-messages data-error="…" data-place="…" …>.
  function label(name, fallback) {
    var box = document.querySelector("[data-social-messages]");
    return (box && box.dataset[name]) || fallback;
  }

  var toastTimer = null;
  function toast(message) {
    var box = document.querySelector("[data-social-toast]");
    if (!box) {
      box = document.createElement("div");
      box.className = "social-toast";
      box.setAttribute("role", "alert");
      box.setAttribute("data-social-toast", "");
      document.body.appendChild(box);
    }
    box.textContent = message;
    box.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () { box.hidden = true; }, 6000);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (!xhr) return;
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = type.indexOf("text/plain") === 0 ? xhr.responseText : "";
    toast(text || label("error", "Something went wrong. Try again."));
  });
  document.addEventListener("htmx:sendError", function () {
    toast(label("offline", "No connection. Try again."));
  });

  // --- live updates (agora/web/static/web/live.js re-dispatches the websocket's events) --------------------
  // "poll": a vote was cast in a poll this person wrote or voted in. An open poll reloads its section through
  // htmx (the server words the totals in the reader's language); without htmx the bars move in place.
  document.addEventListener("agora:poll", function (event) {
    var detail = event.detail || {};
    if (typeof detail.poll_id !== "number") return;
    document.querySelectorAll('[data-poll="' + detail.poll_id + '"]').forEach(function (section) {
      if (window.htmx && section.getAttribute("hx-get")) {
        window.htmx.trigger(section, "poll-refresh");
        return;
      }
      (detail.options || []).forEach(function (option) {
        var row = section.querySelector('[data-poll-result="' + option.id + '"]');
        if (!row || typeof option.percent !== "number") return;
        var bar = row.querySelector(".poll-bar");
        if (bar) bar.style.width = option.percent.toFixed(1) + "%";
        var percent = row.querySelector("[data-poll-percent]");
        if (percent) percent.textContent = Math.round(option.percent) + "%";
      });
    });
  });

  // "like": someone liked or unliked a post of this person: its count follows wherever it is shown.
  document.addEventListener("agora:like", function (event) {
    var detail = event.detail || {};
    if (typeof detail.post_id !== "number" || typeof detail.likes !== "number") return;
    document.querySelectorAll('[data-like-box="' + detail.post_id + '"] [data-like-count]').forEach(function (count) {
      count.textContent = String(detail.likes);
    });
  });

  // --- composer: photos --------------------------------------------------------------------
  var placing = null; // the tag <li> waiting for a click on a photo
  var tagKeys = 0;

  function composerOf(el) { return el.closest("[data-composer]"); }

  function clearPositions(composer) {
    composer.querySelectorAll("[data-tag-item]").forEach(function (item) {
      item.dataset.photo = ""; item.dataset.x = ""; item.dataset.y = "";
      writeTag(item);
    });
    composer.querySelectorAll(".composer-dot").forEach(function (dot) { dot.remove(); });
  }

  function showPreviews(input) {
    var composer = composerOf(input);
    var box = composer && composer.querySelector("[data-photo-previews]");
    if (!box) return;
    var max = parseInt(composer.dataset.maxPhotos || "10", 10);
    var files = Array.prototype.slice.call(input.files || []);
    if (files.length > max) {
      toast(label("tooManyPhotos", "Too many photos."));
      input.value = "";
      files = [];
    }
    box.querySelectorAll("img").forEach(function (img) { URL.revokeObjectURL(img.src); });
    box.innerHTML = "";
    clearPositions(composer);
    files.forEach(function (file, index) {
      var figure = document.createElement("figure");
      figure.className = "composer-photo";
      figure.dataset.photoIndex = String(index);
      var img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = file.name;
      img.setAttribute("data-photo-preview", String(index));
      figure.appendChild(img);
      box.appendChild(figure);
    });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "file" && input.name === "photos" && composerOf(input)) {
      showPreviews(input);
    }
  });

  // --- composer: product tags ----------------------------------------------------------------
  function writeTag(item) {
    var value = [item.dataset.product, item.dataset.variant || "", item.dataset.photo || "",
                 item.dataset.x || "", item.dataset.y || ""].join(":").replace(/:+$/, "");
    var hidden = item.querySelector("input[name=tag]");
    if (hidden) hidden.value = value;
    var where = item.querySelector("[data-tag-where]");
    if (where) {
      where.textContent = item.dataset.photo !== "" && item.dataset.photo !== undefined
        ? "· " + label("onPhoto", "on photo") + " " + (parseInt(item.dataset.photo, 10) + 1)
        : "";
    }
  }

  function startPlacing(item) {
    var composer = composerOf(item);
    composer.querySelectorAll("[data-tag-item]").forEach(function (other) { other.classList.remove("is-placing"); });
    if (!composer.querySelector("[data-photo-preview]")) { placing = null; return; }
    placing = item;
    item.classList.add("is-placing");
    composer.classList.add("is-placing");
  }

  function stopPlacing(composer) {
    placing = null;
    composer.classList.remove("is-placing");
    composer.querySelectorAll("[data-tag-item]").forEach(function (other) { other.classList.remove("is-placing"); });
  }

  function addTag(button) {
    var composer = composerOf(button);
    var list = composer && composer.querySelector("[data-tag-list]");
    if (!list) return;
    var result = button.closest("[data-tag-result]");
    var select = result && result.querySelector("[data-tag-variant]");
    var item = document.createElement("li");
    item.className = "composer-tag";
    item.setAttribute("data-tag-item", "");
    item.dataset.product = button.dataset.productId;
    item.dataset.variant = select ? select.value : "";
    item.dataset.key = String(++tagKeys);
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "tag";
    item.appendChild(hidden);
    var title = document.createElement("span");
    title.className = "composer-tag-title";
    title.textContent = button.dataset.productTitle + (select && select.value ? " · " + select.options[select.selectedIndex].text : "");
    item.appendChild(title);
    var where = document.createElement("span");
    where.className = "muted small";
    where.setAttribute("data-tag-where", "");
    item.appendChild(where);
    var place = document.createElement("button");
    place.type = "button";
    place.className = "link-button small";
    place.setAttribute("data-tag-place", "");
    place.textContent = label("place", "Place on a photo");
    item.appendChild(place);
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button small";
    remove.setAttribute("data-tag-remove", "");
    remove.setAttribute("aria-label", label("remove", "Remove"));
    remove.textContent = "\u00d7";
    item.appendChild(remove);
    list.appendChild(item);
    writeTag(item);
    startPlacing(item);
  }

  function placeDot(composer, item, figure, x, y) {
    var old = composer.querySelector('.composer-dot[data-for="' + item.dataset.key + '"]');
    if (old) old.remove();
    var dot = document.createElement("span");
    dot.className = "composer-dot";
    dot.dataset.for = item.dataset.key;
    dot.style.left = (x * 100).toFixed(2) + "%";
    dot.style.top = (y * 100).toFixed(2) + "%";
    dot.title = item.querySelector(".composer-tag-title").textContent;
    figure.appendChild(dot);
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var add = target.closest("[data-tag-add]");
    if (add) { event.preventDefault(); addTag(add); return; }
    var remove = target.closest("[data-tag-remove]");
    if (remove) {
      var gone = remove.closest("[data-tag-item]");
      var composerOfGone = composerOf(gone);
      var dot = composerOfGone.querySelector('.composer-dot[data-for="' + gone.dataset.key + '"]');
      if (dot) dot.remove();
      if (placing === gone) stopPlacing(composerOfGone);
      gone.remove();
      return;
    }
    var place = target.closest("[data-tag-place]");
    if (place) { startPlacing(place.closest("[data-tag-item]")); return; }
    var preview = target.closest("[data-photo-preview]");
    if (preview && placing) {
      var composer = composerOf(preview);
      var rect = preview.getBoundingClientRect();
      var x = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
      var y = Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height));
      var item = placing;
      item.dataset.photo = preview.getAttribute("data-photo-preview");
      item.dataset.x = x.toFixed(4);
      item.dataset.y = y.toFixed(4);
      writeTag(item);
      placeDot(composer, item, preview.parentElement, x, y);
      stopPlacing(composer);
    }
  });

  // Enter in the product search looks products up instead of publishing the post.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || !(target instanceof HTMLInputElement) || !target.hasAttribute("data-tag-search")) return;
    event.preventDefault();
    if (window.htmx) window.htmx.trigger(target, "search");
  });

  // --- composer: poll options ------------------------------------------------------------------
  onReady(function () {
    document.querySelectorAll("[data-poll-options]").forEach(function (box) {
      var extras = Array.prototype.slice.call(box.querySelectorAll(".poll-extra"));
      var hidden = extras.filter(function (field) {
        var input = field.querySelector("input");
        return input && !input.value;
      });
      if (!hidden.length) return;
      hidden.forEach(function (field) { field.hidden = true; });
      var more = document.createElement("button");
      more.type = "button";
      more.className = "btn btn-small btn-ghost";
      more.textContent = label("addOption", "+ Add an option");
      more.addEventListener("click", function () {
        var next = hidden.shift();
        if (next) { next.hidden = false; var input = next.querySelector("input"); if (input) input.focus(); }
        if (!hidden.length) more.remove();
      });
      box.appendChild(more);
    });
  });
})();
