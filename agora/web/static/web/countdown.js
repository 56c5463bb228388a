/* Live countdowns: any element with data-countdown="<ISO 8601 datetime>" shows the time left, updated every second
   ("2d 03:04:05", "03:04:05", "04:05"). When it reaches zero the element shows its data-countdown-done text (if it
   has one), gets the "countdown-done" class and dispatches a bubbling "agora:countdown-done" event, so a page can
   react (reload a team page, hide a buy button). Elements added later (HTMX swaps) are picked up on the next tick.
   The server-rendered text stays as the fallback without JavaScript. Safe to include more than once. */
(function () {
  "use strict";
  if (window.agoraCountdown) return;
  window.agoraCountdown = true;

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function format(seconds) {
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    var clock = (days || hours ? pad(hours) + ":" : "") + pad(minutes) + ":" + pad(secs);
    return days ? days + "d " + clock : clock;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (el.classList.contains("countdown-done")) return;
      // Python writes microseconds ("…:56.031086+00:00"); ISO 8601 in JavaScript reads milliseconds.
      var end = Date.parse(String(el.getAttribute("data-countdown")).replace(/(\.\d{3})\d+/, "$1"));
      if (isNaN(end)) return;
      var left = Math.max(0, Math.floor((end - now) / 1000));
      if (left > 0) {
        var text = format(left);
        if (el.textContent !== text) el.textContent = text;
        return;
      }
      var done = el.getAttribute("data-countdown-done");
      el.textContent = done !== null ? done : format(0);
      el.classList.add("countdown-done");
      el.dispatchEvent(new CustomEvent("agora:countdown-done", { bubbles: true }));
    });
  }

  function start() {
    tick();
    window.setInterval(tick, 1000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
