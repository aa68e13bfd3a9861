// The agent desktop's behaviour around htmx: the socket's hello on every
// (re)connect, timers, the offer ring and notification, keyboard
// shortcuts, the composer (Enter to send, typing, attachments), grouping of
// the thread by author and day, scrolling and the read horizon. The server
// renders everything; this only arranges and reports. Text from the server
// is only ever set with textContent.
(() => {
  "use strict";

  const desk = document.getElementById("desk");
  if (!desk) return;

  // Error answers carry a notice (retargeted to #notice) or a composer
  // with its error: swap them as well.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "[45]..", swap: true, error: true },
  ];
  // Reconnect soon after a drop, and never wait more than 10 s between
  // tries (a laptop waking up should not wait a minute).
  htmx.config.wsReconnectDelay = (retry) => Math.min(10000, 500 * 2 ** retry) * (0.5 + Math.random() / 2);

  let socket = null; // htmx-ext-ws's socket wrapper, once open
  let lastRead = -1; // the highest index reported read for the open canvas
  let readFor = "";

  const send = (frame) => {
    if (socket) socket.send(JSON.stringify(frame));
  };

  const canvasEl = () => document.querySelector("#canvas .canvas-inner");
  const openSid = () => canvasEl()?.dataset.conversation || "";
  const threadEl = () => {
    const sid = openSid();
    return sid ? document.getElementById("thread-" + sid) : null;
  };
  const scroller = () => document.querySelector("#canvas .thread-scroll");
  const lastIndex = () => {
    let last = -1;
    threadEl()?.querySelectorAll("li.msg").forEach((li) => {
      last = Math.max(last, Number(li.dataset.index));
    });
    return last;
  };

  // hello tells the server which canvas the page shows and up to where, so
  // it sends what the page missed.
  const hello = () => send({ type: "hello", conversation: openSid(), after: lastIndex() });

  // htmx-ext-ws reconnects by itself after an abnormal closure (1006) and
  // after the server's 1011, 1012 and 1013. Any other close of the live
  // socket (a proxy's 1000 or 1001, a close from the page) is a drop too:
  // the page reconnects with the same backoff, at once when the network
  // comes back. Leaving the page is not a drop.
  const htmxRetries = [1006, 1011, 1012, 1013];
  let current = null; // the WebSocket htmx opened last
  let wrapper = null; // htmx-ext-ws's socket wrapper, stable across reconnects
  let retries = 0;
  let retryTimer = 0;
  let leaving = false;
  window.addEventListener("pagehide", () => (leaving = true));
  const reconnect = () => {
    clearTimeout(retryTimer);
    retryTimer = 0;
    wrapper?.reconnect();
  };
  window.addEventListener("online", () => {
    if (retryTimer) reconnect();
  });

  desk.addEventListener("htmx:wsOpen", (e) => {
    current = e.detail.event.target;
    socket = wrapper = e.detail.socketWrapper;
    retries = 0;
    failures = 0;
    document.getElementById("connection").hidden = true;
    desk.dataset.socket = "open";
    hello();
  });
  // A socket that keeps failing may mean the session ended (the server
  // refuses the upgrade): then the page goes to sign in, and comes back.
  let failures = 0;
  const checkSession = () => {
    fetch(location.pathname + location.search, { method: "HEAD", redirect: "manual", credentials: "same-origin" })
      .then((res) => {
        if (res.type === "opaqueredirect" || res.status === 401) location.reload();
      })
      .catch(() => {}); // offline: the next failure asks again
  };

  desk.addEventListener("htmx:wsClose", (e) => {
    const ev = e.detail.event;
    if (ev.target !== current) {
      // A reconnect that failed.
      if (desk.dataset.socket === "closed" && ++failures % 3 === 0) checkSession();
      return;
    }
    socket = null;
    desk.dataset.socket = "closed";
    desk.dataset.synced = "false";
    document.getElementById("connection").hidden = false;
    if (!leaving && !htmxRetries.includes(ev.code)) {
      retryTimer = setTimeout(reconnect, htmx.config.wsReconnectDelay(retries++));
    }
  });
  // data-synced says the page shows what the server sent on this socket's
  // first message: the desk as it is now.
  desk.addEventListener("htmx:wsAfterMessage", () => {
    desk.dataset.synced = "true";
    settle();
  });

  // Times and timers -------------------------------------------------------

  const pad = (n) => String(n).padStart(2, "0");
  const clock = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
  };
  const tick = () => {
    const now = Date.now();
    document.querySelectorAll(".timer[data-since]").forEach((el) => {
      el.textContent = clock(now - Date.parse(el.dataset.since));
    });
    document.querySelectorAll(".timer[data-until]").forEach((el) => {
      const left = Date.parse(el.dataset.until) - now;
      el.textContent = left > 0 ? clock(left) : "0:00";
      el.closest(".offer")?.classList.toggle("ending", left < 15000);
    });
  };
  setInterval(tick, 1000);

  const dayLabel = (d) => {
    const today = new Date();
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (d.toDateString() === today.toDateString()) return "Today";
    if (d.toDateString() === yesterday.toDateString()) return "Yesterday";
    return d.toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
  };

  // regroup keeps the thread in reading order: no item twice (a resync
  // may repeat a system line the socket showed), a day line where the day
  // changes, and consecutive bubbles of one author on one day grouped.
  const regroup = (thread) => {
    const seen = new Set();
    thread.querySelectorAll(":scope > li[id]").forEach((li) => {
      if (seen.has(li.id)) li.remove();
      else seen.add(li.id);
    });
    thread.querySelectorAll(":scope > li.day").forEach((li) => li.remove());
    let day = "";
    let prev = null;
    thread.querySelectorAll(":scope > li.msg, :scope > li.sys").forEach((li) => {
      const when = new Date(li.dataset.time);
      const d = when.toDateString();
      if (d !== day) {
        const sep = document.createElement("li");
        sep.className = "day";
        sep.textContent = dayLabel(when);
        li.before(sep);
        day = d;
        prev = null;
      }
      if (li.classList.contains("msg")) {
        li.classList.toggle("cont", prev !== null && prev.dataset.author === li.dataset.author);
        prev = li;
        const t = li.querySelector("time");
        if (t) t.textContent = when.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
      } else {
        prev = null;
      }
    });
  };

  // Scrolling: a canvas opens at its latest message; new ones scroll into
  // view when the agent was at the bottom already.
  let pinned = true;
  const atBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  document.addEventListener(
    "scroll",
    (e) => {
      if (e.target === scroller()) pinned = atBottom(e.target);
    },
    true,
  );
  const toBottom = () => {
    const s = scroller();
    if (s) s.scrollTop = s.scrollHeight;
  };

  // The read horizon: what the page shows while the agent looks at it.
  const markRead = () => {
    const sid = openSid();
    if (!sid || document.visibilityState !== "visible") return;
    if (readFor !== sid) {
      readFor = sid;
      lastRead = -1;
    }
    const last = lastIndex();
    if (last > lastRead) {
      lastRead = last;
      send({ type: "read", index: last });
    }
  };
  document.addEventListener("visibilitychange", markRead);
  window.addEventListener("focus", markRead);

  // Offers -----------------------------------------------------------------

  const known = new Set(); // offers the page has rung for
  let alertsOn = false;

  const ring = (card) => {
    const audio = document.getElementById("ring");
    audio.currentTime = 0;
    audio
      .play()
      .then(() => (card.dataset.rang = "true"))
      .catch(() => (card.dataset.rang = "blocked"));
    if ("Notification" in window && Notification.permission === "granted") {
      const n = new Notification("Incoming: " + (card.dataset.customer || "a customer"), {
        body: card.dataset.preview || "",
        tag: card.dataset.reservation,
      });
      n.onclick = () => {
        window.focus();
        card.querySelector(".accept")?.focus();
      };
      card.dataset.notified = "true";
    }
  };

  const offers = () => {
    const now = new Set();
    document.querySelectorAll("#tasks .offer[data-reservation]").forEach((card) => {
      const r = card.dataset.reservation;
      now.add(r);
      if (!known.has(r)) {
        known.add(r);
        ring(card);
      } else if (card.dataset.rang === undefined) {
        card.dataset.rang = "true"; // re-rendered: it rang already
      }
    });
    for (const r of known) if (!now.has(r)) known.delete(r);
  };

  const alertsButton = () => document.getElementById("alerts");
  const showAlerts = () => {
    const b = alertsButton();
    if (!b) return;
    b.classList.toggle("on", alertsOn);
    b.textContent = alertsOn ? "Ring & notifications on" : "Turn on ring & notifications";
  };
  desk.addEventListener("click", (e) => {
    if (e.target.closest("#alerts")) {
      // A click lets the page play sound from now on; the notification
      // permission is asked for here, on the agent's gesture.
      const audio = document.getElementById("ring");
      audio.muted = true;
      audio
        .play()
        .catch(() => {})
        .finally(() => {
          audio.pause();
          audio.muted = false;
        });
      const done = () => {
        alertsOn = true;
        showAlerts();
      };
      if ("Notification" in window && Notification.permission === "default") {
        Notification.requestPermission().finally(done);
      } else {
        done();
      }
    }
    const link = e.target.closest(".card-link[hx-get]");
    if (link) {
      document.querySelectorAll("#tasks .card.open").forEach((c) => c.classList.remove("open"));
      link.closest(".card")?.classList.add("open");
    }
    const unattach = e.target.closest(".unattach");
    if (unattach) unattach.closest(".chip")?.remove();
    // A canned response goes into the message at the caret.
    const insert = e.target.closest("[data-insert]");
    if (insert) {
      const area = document.querySelector("#canvas .composer textarea");
      if (!area) return;
      const text = insert.dataset.insert;
      const at = area.selectionStart ?? area.value.length;
      area.setRangeText(text, at, area.selectionEnd ?? at, "end");
      area.focus();
      area.dispatchEvent(new Event("input", { bubbles: true }));
      insert.closest("details")?.removeAttribute("open");
    }
  });

  // Keyboard shortcuts: Alt+A accepts the oldest offer, Alt+R rejects it.
  document.addEventListener("keydown", (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const button =
      e.code === "KeyA"
        ? document.querySelector("#tasks .offer .accept")
        : e.code === "KeyR"
          ? document.querySelector("#tasks .offer .reject")
          : null;
    if (button) {
      e.preventDefault();
      button.click();
    }
  });

  // The composer -----------------------------------------------------------

  let typingUntil = 0;
  let typingTimer = 0;
  const stopTyping = () => {
    clearTimeout(typingTimer);
    if (typingUntil) send({ type: "typing", typing: false });
    typingUntil = 0;
  };
  document.addEventListener("keydown", (e) => {
    const area = e.target.closest?.(".composer textarea");
    if (!area || e.key !== "Enter" || e.shiftKey || e.isComposing) return;
    e.preventDefault();
    const form = area.form;
    if (area.value.trim() === "" && !form.querySelector("input[name=media]")) return;
    stopTyping();
    form.requestSubmit();
  });
  document.addEventListener("input", (e) => {
    if (!e.target.closest?.(".composer textarea")) return;
    const now = Date.now();
    if (now > typingUntil) send({ type: "typing", typing: true });
    typingUntil = now + 1000;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });
  document.addEventListener("submit", (e) => {
    if (e.target.closest(".composer")) stopTyping();
  });

  const notice = (text) => {
    const box = document.getElementById("notice");
    const p = document.createElement("p");
    p.className = "notice-text";
    p.setAttribute("role", "alert");
    p.textContent = text;
    box.replaceChildren(p);
  };

  const addChip = (form, att) => {
    const li = document.createElement("li");
    li.className = "chip";
    const sid = document.createElement("input");
    sid.type = "hidden";
    sid.name = "media";
    sid.value = att.sid;
    const name = document.createElement("input");
    name.type = "hidden";
    name.name = "media_name";
    name.value = att.name;
    const label = document.createElement("span");
    label.textContent = att.name;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "unattach";
    remove.setAttribute("aria-label", "Remove " + att.name);
    remove.textContent = "×";
    li.append(sid, name, label, remove);
    form.querySelector(".attachments").append(li);
  };

  document.addEventListener("change", async (e) => {
    const input = e.target;
    if (!input.matches?.(".composer input[type=file]")) return;
    const form = input.form;
    const maxFiles = Number(form.dataset.maxFiles);
    const maxBytes = Number(form.dataset.maxBytes);
    const files = [...input.files];
    input.value = "";
    const have = form.querySelectorAll("input[name=media]").length;
    if (maxFiles > 0 && have + files.length > maxFiles) {
      notice(`This conversation carries at most ${maxFiles} attachment${maxFiles === 1 ? "" : "s"} per message.`);
      return;
    }
    for (const f of files) {
      if (f.size > maxBytes) {
        notice(`${f.name} is too large: at most ${Math.floor(maxBytes / 1048576)} MB here.`);
        continue;
      }
      form.classList.add("uploading");
      try {
        const res = await fetch(form.dataset.upload + "?filename=" + encodeURIComponent(f.name), {
          method: "POST",
          headers: { "Content-Type": f.type || "application/octet-stream", "X-CSRF-Token": desk.dataset.csrf },
          body: f,
          credentials: "same-origin",
        });
        const body = await res.json().catch(() => ({}));
        if (!res.ok) notice(body.message || `${f.name} could not be attached.`);
        else addChip(form, body);
      } catch {
        notice(`${f.name} could not be attached: the connection failed.`);
      } finally {
        form.classList.remove("uploading");
      }
    }
  });

  // Keep what the agent is doing: a push saying the composer is still
  // writable leaves the draft alone, and a canvas head or page header in
  // the same state leaves an open dialog (transfer, complete), menu or
  // select alone.
  document.body.addEventListener("htmx:oobBeforeSwap", (e) => {
    const target = e.detail.target;
    const incoming = e.detail.fragment?.firstElementChild;
    if (!target?.classList || !incoming?.dataset) return;
    const sameComposer =
      target.classList.contains("composer") && target.dataset.writable === "true" && incoming.dataset.writable === "true";
    const sameHead =
      (target.classList.contains("canvas-head") || target.id === "desk-header") &&
      target.dataset.state === incoming.dataset.state;
    if (sameComposer || sameHead) e.detail.shouldSwap = false;
  });

  // Older pages keep the agent's place: the scroll moves by what was added above.
  let above = 0;
  document.body.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.elt?.classList?.contains("older")) {
      const s = scroller();
      above = s ? s.scrollHeight - s.scrollTop : 0;
    }
  });
  document.body.addEventListener("htmx:afterSwap", (e) => {
    const t = e.detail.target;
    if (t?.id === "canvas") {
      pinned = true;
      hello();
    }
    if (e.detail.elt?.classList?.contains("older")) {
      settle(false);
      const s = scroller();
      if (s) s.scrollTop = s.scrollHeight - above;
      return;
    }
    settle();
  });

  // Typing lines clear themselves if the end is never heard.
  const typingClear = new WeakMap();
  const typing = () => {
    document.querySelectorAll(".typing[data-on=true]").forEach((el) => {
      if (typingClear.has(el)) return;
      typingClear.set(
        el,
        setTimeout(() => {
          el.textContent = "";
          el.dataset.on = "false";
        }, 8000),
      );
    });
  };

  // settle arranges the page after any swap.
  const settle = (scroll = true) => {
    const sid = openSid();
    document.querySelectorAll("#tasks .card[data-conversation]").forEach((c) => {
      c.classList.toggle("open", sid !== "" && c.dataset.conversation === sid);
    });
    const thread = threadEl();
    if (thread) regroup(thread);
    if (scroll && pinned) toBottom();
    tick();
    offers();
    typing();
    showAlerts();
    markRead();
  };

  settle();
})();
