/* Live SLA countdown: every badge with a `data-due` time (`incidents.admin.base.sla_badge`) is reworded
   every 30 seconds from the browser's clock, and turns amber at `data-warn` and red past `data-due`, so a
   page left open never shows a clock that has moved on. The wording comes from the badge itself
   (`data-in-time`, `data-late`: "respond in {}", "response late {}"); durations read as the server writes
   them (`incidents.formatting.human_duration`: "3 h 59 min", "1 day 2 h", "< 1 min"). */
(function () {
  "use strict";

  var TICK_MS = 30000;
  var UNITS = [["day", "days", 86400], ["h", "h", 3600], ["min", "min", 60]];
  var TONES = ["itsm-sla-ok", "itsm-sla-warn", "itsm-sla-breach"];

  function humanDuration(ms) {
    var seconds = Math.floor(Math.abs(ms) / 1000);
    if (seconds < 60) {
      return seconds ? "< 1 min" : "0 min";
    }
    var words = [];
    var counted = 0;
    for (var i = 0; i < UNITS.length && counted < 2; i++) {
      var amount = Math.floor(seconds / UNITS[i][2]);
      seconds -= amount * UNITS[i][2];
      if (amount || words.length) {
        counted++;
      }
      if (amount) {
        words.push(amount + " " + (amount === 1 ? UNITS[i][0] : UNITS[i][1]));
      }
    }
    return words.join(" ");
  }

  function update(badge, now) {
    var due = Date.parse(badge.dataset.due);
    if (isNaN(due)) {
      return;
    }
    var warn = Date.parse(badge.dataset.warn);
    var late = now > due;
    var tone = late ? "itsm-sla-breach" : (!isNaN(warn) && now >= warn ? "itsm-sla-warn" : "itsm-sla-ok");
    var words = (late ? badge.dataset.late : badge.dataset.inTime) || "{}";
    badge.textContent = words.replace("{}", humanDuration(due - now));
    TONES.forEach(function (name) {
      badge.classList.toggle(name, name === tone);
    });
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".itsm-badge[data-due]").forEach(function (badge) {
      update(badge, now);
    });
  }

  window.itsmClocks = {humanDuration: humanDuration, tick: tick};  // for the browser tests

  function start() {
    tick();
    window.setInterval(tick, TICK_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
