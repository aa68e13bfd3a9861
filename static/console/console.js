// The console's shared behaviour: refusals swapped, live timers, the
// reconnecting banner and copy buttons.
(() => {
  "use strict";

  // A refused action answers 4xx with a notice retargeted to #notice
  // (consoleFail) or a form with its error: htmx must swap those too.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "[45]..", swap: true, error: true },
  ];
  // Reconnect soon after a drop, and never wait more than 10 s between
  // tries (a laptop waking up should not wait a minute).
  htmx.config.wsReconnectDelay = (retry) => Math.min(10000, 500 * 2 ** retry) * (0.5 + Math.random() / 2);

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

  // A button with data-copy="#id" copies that element's text.
  document.addEventListener("click", (e) => {
    const b = e.target.closest("[data-copy]");
    const el = b && document.querySelector(b.dataset.copy);
    if (!el) return;
    const done = () => { b.textContent = "Copied"; setTimeout(() => { b.textContent = "Copy"; }, 2000); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(el.textContent).then(done);
    } else {
      const r = document.createRange();
      r.selectNodeContents(el);
      getSelection().removeAllRanges();
      getSelection().addRange(r);
      document.execCommand("copy");
      done();
    }
  });
})();
