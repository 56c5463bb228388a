/* Agora live events: one websocket per signed-in page (/ws/events/). Each server event is re-dispatched on
   `document` as a CustomEvent named "agora:<event>" (e.g. "agora:notification") whose `detail` is the payload,
   so any feature can listen without opening its own socket. Reconnects with backoff; pages work without it. */
(function () {
  "use strict";
  if (!("WebSocket" in window) || !document.body || document.body.dataset.live !== "on") return;
  var delay = 1000;
  var maxDelay = 30000;

  function setUnread(count) {
    document.querySelectorAll("[data-unread-count]").forEach(function (badge) {
      badge.textContent = String(count);
      badge.classList.toggle("hidden", !count);
    });
  }

  document.addEventListener("agora:notification", function (event) {
    var detail = event.detail || {};
    if (typeof detail.unread === "number") setUnread(detail.unread);
  });

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/events/");
    socket.addEventListener("open", function () { delay = 1000; });
    socket.addEventListener("message", function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (!data || typeof data.event !== "string") return;
      document.dispatchEvent(new CustomEvent("agora:" + data.event, { detail: data.payload || {} }));
    });
    socket.addEventListener("close", function (event) {
      if (event.code === 4401) return; // signed out: do not knock again
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, maxDelay);
    });
  }
  connect();
})();
