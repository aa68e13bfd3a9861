// The console's shared behaviour: live timers and the reconnecting banner.
(() => {
  "use strict";

  // Elements with data-since (an ISO time) show how long ago it was, as
  // m:ss or h:mm:ss, updated every second without asking the server.
  const pad = (n) => String(n).padStart(2, "0");
  const elapsed = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
  };
  const tick = () => {
    const now = Date.now();
    for (const el of document.querySelectorAll("[data-since]")) {
      const t = Date.parse(el.dataset.since);
      if (!Number.isNaN(t)) el.textContent = elapsed(now - t);
    }
  };
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("DOMContentLoaded", tick);

  // A live page's socket: say so while it is away (htmx-ext-ws reconnects).
  const banner = () => document.getElementById("connection");
  document.addEventListener("htmx:wsClose", () => { const b = banner(); if (b) b.hidden = false; });
  document.addEventListener("htmx:wsOpen", () => { const b = banner(); if (b) b.hidden = true; });
})();
