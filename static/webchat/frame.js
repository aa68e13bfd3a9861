/*
 * Switchboard webchat frame: the customer's side of a chat, inside the iframe that webchat.js adds
 * (or opened on its own). The pre-engagement form creates a session; from then on the frame speaks
 * the chat protocol (docs/chat-protocol.md) over one WebSocket, and keeps the session in
 * localStorage so that a reload resumes the thread until the token expires.
 *
 * Message indexes are the truth: after a dropped connection the frame subscribes again from the last
 * index it showed, and it places every message by index, so nothing is lost or shown twice.
 * Text from messages and the server only ever reaches the page through textContent.
 */
(function () {
  "use strict";

  function $(id) {
    return document.getElementById(id);
  }

  var cfg = document.body.dataset;
  var storeKey = "switchboard-webchat:" + cfg.key;
  var embedded = window.parent !== window;
  var parentOrigin = embedded ? findParentOrigin() : "";
  var thread = $("thread"), scroller = $("scroll"), composer = $("composer"), input = $("body"), startForm = $("start-form");
  var imageTypes = { "image/jpeg": 1, "image/png": 1, "image/gif": 1 };
  var maxUpload = 16 << 20, maxBody = 32 << 10;

  var session = loadSession();
  var ws = null; // the current socket, null while disconnected
  var live = false; // authenticated, subscribed and caught up: sends go out at once
  var attempt = 0, retryTimer = 0, beatTimer = 0, heard = 0;
  var conv = null, self = "", people = {}, msgs = {}, pending = {}, typers = {};
  var shown = -1; // the highest message index on the page
  var readUpTo = -1; // our read horizon
  var unread = -1, seq = 0, typingSent = 0, typingIdle = 0, stick = true, laying = false, ended = false;
  var isOpen = !embedded; // the frame is on screen (the loader says when)

  // --- session storage

  function loadSession() {
    try {
      var s = JSON.parse(localStorage.getItem(storeKey) || "null");
      if (s && s.token && s.conversation_sid && Date.parse(s.expires_at) > Date.now()) return s;
      localStorage.removeItem(storeKey);
    } catch (e) {
      // Storage blocked (privacy settings): the chat works, a reload starts over.
    }
    return null;
  }

  function save() {
    try {
      if (session) localStorage.setItem(storeKey, JSON.stringify(session));
      else localStorage.removeItem(storeKey);
    } catch (e) {
      // as above
    }
  }

  // --- small DOM helpers

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function announce(text) {
    var region = $("announce");
    region.appendChild(el("p", "", text));
    while (region.children.length > 5) region.removeChild(region.firstChild);
  }

  function banner(on) {
    $("banner").hidden = !on;
  }

  function showError(id, text) {
    $(id).textContent = text || "";
  }

  function readable(hex) {
    var n = hex.slice(1);
    if (n.length === 3) n = n.replace(/./g, "$&$&");
    var lum = [0, 2, 4].map(function (i) {
      var c = parseInt(n.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2] > 0.4 ? "#000" : "#fff";
  }

  // --- talking to the loader on the host page

  function findParentOrigin() {
    var a = location.ancestorOrigins;
    if (a && a.length) return a[0];
    var o = new URLSearchParams(location.search).get("origin");
    if (o) return o;
    try {
      return new URL(document.referrer).origin;
    } catch (e) {
      return "";
    }
  }

  function tell(msg) {
    if (!embedded || !parentOrigin) return;
    msg.sbwc = 1;
    window.parent.postMessage(msg, parentOrigin);
  }

  window.addEventListener("message", function (e) {
    if (!embedded || e.source !== window.parent || e.origin !== parentOrigin) return;
    var m = e.data;
    if (!m || m.sbwc !== 1) return;
    if (m.type === "open") {
      isOpen = true;
      focusFirst();
      markRead();
    } else if (m.type === "close") {
      isOpen = false;
    }
  });

  function focusFirst() {
    var target;
    if (!$("chat").hidden) target = ended ? $("transcript") : input;
    else target = startForm.querySelector("input, textarea, select, button");
    if (target) target.focus();
  }

  // --- HTTP

  function api(url, opts) {
    return fetch(url, opts).then(
      function (r) {
        if (r.ok) return r;
        return r.json().then(
          function (body) {
            throw failure(body.message || r.statusText, r.status, body.code);
          },
          function () {
            throw failure("The chat service answered " + r.status + " " + r.statusText + ".", r.status);
          }
        );
      },
      function () {
        throw failure("Could not reach the chat service. Check your connection and try again.", 0);
      }
    );
  }

  function failure(message, status, code) {
    var e = new Error(message);
    e.status = status;
    e.code = code;
    return e;
  }

  // authed calls the API with the session's token, renewing it once if it has expired.
  function authed(url, opts, renewed) {
    var o = Object.assign({}, opts);
    o.headers = Object.assign({ Authorization: "Bearer " + session.token }, opts.headers);
    return api(url, o).catch(function (err) {
      if (err.status !== 401 || renewed) throw err;
      return refresh().then(function () {
        return authed(url, opts, true);
      });
    });
  }

  function refresh() {
    var s = session;
    return api("/webchat/v1/token", { method: "POST", headers: { Authorization: "Bearer " + s.token } })
      .then(function (r) {
        return r.json();
      })
      .then(function (t) {
        if (session !== s) return;
        s.token = t.token;
        s.expires_at = t.expires_at;
        save();
        if (ws && ws.readyState === WebSocket.OPEN) send({ type: "auth", token: t.token });
      });
  }

  // --- the socket

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  function connect() {
    clearTimeout(retryTimer);
    if (!session || ws || navigator.onLine === false) return;
    var s = new WebSocket(location.origin.replace(/^http/, "ws") + "/v1/chat/ws");
    ws = s;
    s.onopen = function () {
      s.send(JSON.stringify({ type: "auth", token: session.token }));
    };
    s.onmessage = function (e) {
      if (ws !== s) return;
      heard = Date.now();
      var f;
      try {
        f = JSON.parse(e.data);
      } catch (x) {
        return;
      }
      onFrame(f);
    };
    s.onclose = function (e) {
      if (ws === s) dropped(e.code);
    };
  }

  // hangUp leaves the socket without waiting for its close handshake.
  function hangUp() {
    var s = ws;
    ws = null;
    live = false;
    clearInterval(beatTimer);
    if (s) {
      s.onclose = null;
      s.close(1000);
    }
  }

  // dropped reconnects after a lost connection: 1 s doubling to 30 s, with jitter, or at once when
  // the browser comes back online.
  function dropped(code) {
    hangUp();
    if (!session) return;
    if (ended && code === 4401) return; // a closed chat's token is not renewed; the page stays as it is
    banner(true);
    if (code === 4401) {
      refresh().then(connect, function (err) {
        if (err.status === 401 || err.status === 403 || err.status === 404) expired();
        else retry();
      });
      return;
    }
    retry();
  }

  function retry() {
    var d = Math.min(30000, 1000 * Math.pow(2, attempt++));
    retryTimer = setTimeout(connect, d / 2 + (Math.random() * d) / 2);
  }

  // A connection that hears nothing (not even a pong) for 40 s is dead, whatever the browser thinks.
  function heartbeat() {
    clearInterval(beatTimer);
    beatTimer = setInterval(function () {
      var quiet = Date.now() - heard;
      if (quiet > 40000) dropped(1006);
      else if (quiet > 20000) send({ type: "ping" });
    }, 5000);
  }

  window.addEventListener("offline", function () {
    if (ws) dropped(1006);
  });
  window.addEventListener("online", function () {
    attempt = 0;
    connect();
  });

  function mine(m) {
    return session && m.author === session.identity;
  }

  function onFrame(f) {
    var sid = session.conversation_sid;
    if (f.conversation_sid && f.conversation_sid !== sid) return;
    switch (f.type) {
      case "ready":
        session.expires_at = f.expires_at;
        save();
        if (ws.subscribed) return; // a renewed token
        ws.subscribed = true;
        attempt = 0;
        (f.conversations || []).forEach(function (c) {
          if (c.sid === sid && c.last_read_message_index != null) readUpTo = Math.max(readUpTo, c.last_read_message_index);
        });
        heartbeat();
        send(shown >= 0 ? { type: "subscribe", id: "subscribe", conversation_sid: sid, after_index: shown } : { type: "subscribe", id: "subscribe", conversation_sid: sid });
        break;
      case "subscribed":
        people = {};
        (f.participants || []).forEach(person);
        setConversation(f.conversation);
        break;
      case "history":
        (f.messages || []).forEach(upsert);
        if (!f.complete) send({ type: "resync", conversation_sid: sid, after_index: shown });
        else caughtUp();
        break;
      case "message_added":
      case "message_updated":
        upsert(f.message);
        break;
      case "message_removed":
        if (msgs[f.index]) {
          msgs[f.index].el.remove();
          delete msgs[f.index];
          layout();
        }
        break;
      case "participant_joined":
        person(f.participant);
        if (f.participant.sid !== self) systemLine(f.participant.display_name + " joined the chat");
        break;
      case "participant_updated":
        person(f.participant);
        break;
      case "participant_left":
        delete people[f.participant.sid];
        if (f.participant.sid === self) setConversation(Object.assign({}, conv, { state: "closed" }));
        else systemLine(f.participant.display_name + " left the chat");
        ticks();
        break;
      case "conversation_removed":
        lost("This chat is no longer available. Start a new one below.");
        break;
      case "typing":
        typing(f);
        break;
      case "delivery":
        if (msgs[f.index]) {
          msgs[f.index].m.delivery = f.delivery;
          state(msgs[f.index]);
        }
        break;
      case "conversation_updated":
        if (f.conversation && f.conversation.sid === sid) setConversation(f.conversation);
        break;
      case "token_expiring":
        refresh().catch(function () {
          // The server closes with 4401 when the token expires; dropped() deals with it.
        });
        break;
      case "ack":
        if (pending[f.id]) {
          pending[f.id].el.remove();
          delete pending[f.id];
        }
        if (f.message) upsert(f.message);
        break;
      case "error":
        onError(f);
        break;
    }
  }

  function onError(f) {
    if (f.id === "subscribe") {
      if (f.code === 20404) lost("This chat is no longer available. Start a new one below.");
      return;
    }
    var p = pending[f.id];
    if (p) failed(p, f.code === 20429 ? "Too many messages at once. Wait a moment, then retry." : f.message);
  }

  // caughtUp: the thread holds everything up to now; queued and unanswered sends go (again).
  function caughtUp() {
    live = true;
    banner(false);
    Object.keys(pending).forEach(function (id) {
      var p = pending[id];
      if (p.frame && !p.failed) send(p.frame);
    });
    markRead();
  }

  function person(p) {
    people[p.sid] = p;
    if (p.identity && session && p.identity === session.identity) self = p.sid;
    ticks();
  }

  function setConversation(c) {
    conv = c;
    var closed = c.state === "closed";
    if (closed === ended) return;
    ended = closed;
    $("ended").hidden = !closed;
    composer.hidden = closed;
    if (closed) {
      stopTyping();
      typers = {};
      showTypers();
      announce("The chat has ended.");
      if (document.activeElement === input) $("transcript").focus();
    }
  }

  // --- the thread

  function upsert(m) {
    if (!m || typeof m.index !== "number") return;
    var id = clientId(m);
    if (id && pending[id]) {
      pending[id].el.remove();
      delete pending[id];
    }
    var prev = msgs[m.index];
    var entry = { m: m, el: bubble(m) };
    if (prev) thread.replaceChild(entry.el, prev.el);
    else place(entry.el);
    msgs[m.index] = entry;
    state(entry);
    if (!mine(m)) {
      if (typers[m.participant_sid]) {
        clearTimeout(typers[m.participant_sid].timer);
        delete typers[m.participant_sid];
        showTypers();
      }
      // Announce what the customer has not seen before, here or on an earlier visit.
      if (!prev && m.index > (session.last_index == null ? -1 : session.last_index)) {
        announce(nameOf(m) + ": " + (m.body || "sent an attachment"));
      }
    }
    if (m.index > shown) shown = m.index;
    if (session.last_index == null || m.index > session.last_index) {
      session.last_index = m.index;
      save();
    }
    layout();
  }

  function clientId(m) {
    try {
      var a = JSON.parse(m.attributes || "{}");
      return a && typeof a.webchat_client_id === "string" ? a.webchat_client_id : "";
    } catch (e) {
      return "";
    }
  }

  // place inserts an item in index order (data-order); pending sends stay last.
  function place(item) {
    var order = Number(item.dataset.order), kids = thread.children;
    for (var i = 0; i < kids.length; i++) {
      if (Number(kids[i].dataset.order) > order) {
        thread.insertBefore(item, kids[i]);
        return;
      }
    }
    thread.appendChild(item);
  }

  function nameOf(m) {
    var p = people[m.participant_sid];
    return m.author_name || (p && p.display_name) || m.author || "Agent";
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function bubble(m) {
    var me = mine(m);
    var li = el("li", "msg " + (me ? "mine" : "theirs"));
    li.dataset.order = m.index;
    li.dataset.index = m.index;
    li.dataset.sid = m.sid;
    li.dataset.author = m.author || "";
    li.dataset.time = m.date_created;
    li.appendChild(el("span", "who", me ? "You" : nameOf(m)));
    var b = el("div", m.body ? "bubble" : "bubble bare");
    if (m.body) b.appendChild(el("p", "text", m.body));
    (m.media || []).forEach(function (x) {
      b.appendChild(attachment(x));
    });
    li.appendChild(b);
    var meta = el("div", "meta");
    var t = el("time", "", clock(m.date_created));
    t.dateTime = m.date_created;
    meta.appendChild(t);
    if (me) meta.appendChild(el("span", "state"));
    li.appendChild(meta);
    return li;
  }

  function safeURL(u) {
    try {
      var url = new URL(u, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
    } catch (e) {
      return "";
    }
  }

  function size(n) {
    return n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB";
  }

  function attachment(x) {
    var url = safeURL(x.url);
    var image = /^image\//.test(x.content_type) && x.content_type !== "image/svg+xml";
    var name = x.filename || (image ? "image" : x.content_type === "application/pdf" ? "document.pdf" : "attachment");
    if (!url) return el("span", "file", name + " (unavailable)");
    var a = el("a", image ? "image" : "file");
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener";
    if (image) {
      var img = document.createElement("img");
      img.alt = name;
      img.src = url;
      img.addEventListener("load", follow);
      a.appendChild(img);
    } else {
      a.appendChild(el("span", "kind", x.content_type === "application/pdf" ? "PDF" : "File"));
      a.appendChild(document.createTextNode(" " + name + (x.size ? " (" + size(x.size) + ")" : "")));
    }
    return a;
  }

  function readByOthers(index) {
    for (var sid in people) {
      var r = people[sid].last_read_message_index;
      if (sid !== self && r != null && r >= index) return true;
    }
    return false;
  }

  function some(v) {
    return v && v !== "none";
  }

  // state shows how far one of the customer's messages got: sent, delivered or read.
  function state(entry) {
    var s = entry.el.querySelector(".state");
    if (!s) return;
    var d = entry.m.delivery || {}, st, label;
    if (some(d.failed) || some(d.undelivered)) (st = "failed"), (label = "Not delivered");
    else if (some(d.read) || readByOthers(entry.m.index)) (st = "read"), (label = "Read");
    else if (some(d.delivered)) (st = "delivered"), (label = "Delivered");
    else (st = "sent"), (label = "Sent");
    s.className = "state " + st;
    s.title = label;
    s.textContent = "";
    s.appendChild(el("span", "", st === "sent" ? "✓" : st === "failed" ? "!" : "✓✓")).setAttribute("aria-hidden", "true");
    s.appendChild(el("span", "sr", label));
  }

  function ticks() {
    for (var i in msgs) state(msgs[i]);
  }

  function systemLine(text) {
    var li = el("li", "system", text);
    li.dataset.order = shown + 0.5;
    li.dataset.time = new Date().toISOString();
    place(li);
    announce(text);
    layout();
  }

  function dayLabel(d) {
    var today = new Date(), yesterday = new Date(Date.now() - 864e5);
    if (d.toDateString() === today.toDateString()) return "Today";
    if (d.toDateString() === yesterday.toDateString()) return "Yesterday";
    var o = { weekday: "long", day: "numeric", month: "long" };
    if (d.getFullYear() !== today.getFullYear()) o.year = "numeric";
    return d.toLocaleDateString([], o);
  }

  // layout redraws day separators and author grouping once per batch of changes, then keeps the
  // newest message in view and the read horizon and unread count current.
  function layout() {
    if (laying) return;
    laying = true;
    Promise.resolve().then(function () {
      laying = false;
      Array.prototype.slice.call(thread.querySelectorAll(".day")).forEach(function (d) {
        d.remove();
      });
      var day = "", author = null;
      Array.prototype.slice.call(thread.children).forEach(function (li) {
        var d = new Date(li.dataset.time || Date.now());
        if (d.toDateString() !== day) {
          day = d.toDateString();
          author = null;
          var sep = el("li", "day", dayLabel(d));
          sep.setAttribute("role", "separator");
          thread.insertBefore(sep, li);
        }
        if (li.classList.contains("msg")) {
          li.classList.toggle("cont", li.dataset.author === author);
          author = li.dataset.author;
        } else author = null;
      });
      follow();
      markRead();
    });
  }

  function follow() {
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  }

  scroller.addEventListener("scroll", function () {
    stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  });
  // The thread's box shrinks when the composer grows or the chat ends: the newest message stays in view.
  new ResizeObserver(follow).observe(scroller);

  // --- reading, unread count, typing

  function markRead() {
    if (live && isOpen && document.visibilityState === "visible" && shown > readUpTo) {
      readUpTo = shown;
      send({ type: "read", conversation_sid: session.conversation_sid, index: shown });
    }
    var n = 0;
    for (var i in msgs) if (Number(i) > readUpTo && !mine(msgs[i].m)) n++;
    if (n !== unread) {
      unread = n;
      tell({ type: "unread", count: n });
    }
  }

  document.addEventListener("visibilitychange", markRead);
  window.addEventListener("focus", function () {
    isOpen = true;
    markRead();
  });

  function typing(f) {
    var sid = f.participant_sid;
    if (sid === self) return;
    if (typers[sid]) clearTimeout(typers[sid].timer);
    delete typers[sid];
    if (f.typing) {
      typers[sid] = {
        name: f.display_name || "Someone",
        timer: setTimeout(function () {
          delete typers[sid];
          showTypers();
        }, 6000)
      };
    }
    showTypers();
  }

  function showTypers() {
    var names = Object.keys(typers).map(function (k) {
      return typers[k].name;
    });
    var text = "";
    if (names.length === 1) text = names[0] + " is typing…";
    else if (names.length > 1) text = names.slice(0, -1).join(", ") + " and " + names[names.length - 1] + " are typing…";
    $("typing").textContent = text;
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSent && live) send({ type: "typing", conversation_sid: session.conversation_sid, typing: false });
    typingSent = 0;
  }

  // --- sending

  function pendingBubble(text) {
    var li = el("li", "msg mine pending");
    li.dataset.order = "Infinity";
    li.dataset.author = session ? session.identity : "";
    li.dataset.time = new Date().toISOString();
    li.appendChild(el("span", "who", "You"));
    var b = el("div", "bubble");
    b.appendChild(el("p", "text", text));
    li.appendChild(b);
    var meta = el("div", "meta");
    meta.appendChild(el("span", "state", "Sending…"));
    li.appendChild(meta);
    place(li);
    stick = true;
    layout();
    return li;
  }

  // post sends a message; its client id (in the attributes) recognises it in the history if the
  // connection drops before the answer, so a resend never stores it twice.
  function post(fields, li) {
    var id = "w" + Date.now().toString(36) + "-" + seq++;
    var frame = { type: "send", id: id, conversation_sid: session.conversation_sid, attributes: JSON.stringify({ webchat_client_id: id }) };
    if (fields.body) frame.body = fields.body;
    if (fields.media_sids) frame.media_sids = fields.media_sids;
    pending[id] = { el: li, frame: frame };
    if (live) send(frame);
  }

  function failed(p, why) {
    p.failed = true;
    p.el.classList.add("failed");
    var s = p.el.querySelector(".state");
    s.textContent = "Not sent: " + (why || "the server refused the message") + " ";
    var again = el("button", "link", "Retry");
    again.type = "button";
    again.addEventListener("click", function () {
      p.failed = false;
      p.el.classList.remove("failed");
      s.textContent = "Sending…";
      if (live) send(p.frame);
    });
    s.appendChild(again);
  }

  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });

  input.addEventListener("input", function () {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
    if (!live || !input.value) return;
    var now = Date.now();
    if (now - typingSent > 2000) {
      typingSent = now;
      send({ type: "typing", conversation_sid: session.conversation_sid, typing: true });
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 3000);
  });

  composer.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    if (new Blob([text]).size > maxBody) {
      showError("composer-error", "That message is too long (at most 32 KB). Shorten it or send it in parts.");
      return;
    }
    showError("composer-error", "");
    if (!session) {
      // Without a form, the first message starts the chat and goes out once connected.
      start({}, $("send"), function () {
        post({ body: text }, pendingBubble(text));
      });
      return;
    }
    stopTyping();
    input.value = "";
    input.style.height = "auto";
    post({ body: text }, pendingBubble(text));
  });

  $("attach").addEventListener("click", function () {
    $("file").click();
  });

  $("file").addEventListener("change", function () {
    var f = this.files[0];
    this.value = "";
    if (!f) return;
    if (!imageTypes[f.type] && f.type !== "application/pdf") {
      showError("composer-error", f.name + " cannot be sent: attach a JPG, PNG or GIF image or a PDF.");
      return;
    }
    if (f.size > maxUpload) {
      showError("composer-error", f.name + " is " + size(f.size) + ": attachments are at most 16 MB.");
      return;
    }
    if (!session) {
      showError("composer-error", "Send a message first to start the chat, then attach the file.");
      return;
    }
    showError("composer-error", "");
    var li = pendingBubble("Uploading " + f.name + "…");
    authed("/webchat/v1/media?filename=" + encodeURIComponent(f.name), { method: "POST", headers: { "Content-Type": f.type }, body: f })
      .then(function (r) {
        return r.json();
      })
      .then(
        function (media) {
          li.querySelector(".text").textContent = f.name;
          post({ media_sids: [media.sid] }, li);
        },
        function (err) {
          li.remove();
          showError("composer-error", f.name + " could not be uploaded: " + err.message);
        }
      );
  });

  // --- starting, ending and restarting

  function fieldLabel(field) {
    var l = startForm.querySelector('label[for="' + field.id + '"]');
    return l ? l.dataset.name || l.textContent.trim() : field.name;
  }

  startForm.addEventListener("submit", function (e) {
    e.preventDefault();
    showError("start-error", "");
    var data = {}, first = null;
    Array.prototype.forEach.call(startForm.elements, function (f) {
      if (!f.name) return;
      var v = f.type === "checkbox" ? f.checked : f.value.trim(), problem = "";
      if (f.required && !v) problem = fieldLabel(f) + " is required.";
      else if (f.type === "email" && v && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) problem = "Enter an email address like name@example.com.";
      showError(f.id + "-error", problem);
      if (problem) f.setAttribute("aria-invalid", "true");
      else f.removeAttribute("aria-invalid");
      if (problem && !first) first = f;
      data[f.name] = v;
    });
    if (first) {
      first.focus();
      return;
    }
    start(data, startForm.querySelector("button[type=submit]"), function () {});
  });

  // start creates the session: from the form, or from the first message when the form is off. The
  // form's question becomes the first message on the server.
  function start(data, button, then) {
    var body = Object.assign({ deployment_key: cfg.key }, data);
    button.disabled = true;
    api("/webchat/v1/sessions", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) {
        return r.json();
      })
      .then(
        function (s) {
          button.disabled = false;
          session = { token: s.token, expires_at: s.expires_at, identity: s.identity, conversation_sid: s.conversation_sid, service_sid: s.service_sid, last_index: -1 };
          save();
          input.value = "";
          showChat();
          connect();
          then();
          input.focus();
        },
        function (err) {
          button.disabled = false;
          showError(cfg.form === "on" ? "start-error" : "composer-error", err.message);
        }
      );
  }

  function showChat() {
    $("start").hidden = true;
    $("chat").hidden = false;
    // Before a form-less chat starts, the welcome shows here; once it starts, the server posts it.
    if ($("intro")) $("intro").hidden = !!session;
  }

  function showStart(notice) {
    if (cfg.form === "on") {
      $("start").hidden = false;
      $("chat").hidden = true;
      startForm.reset();
    } else showChat();
    showError(cfg.form === "on" ? "start-notice" : "composer-error", notice);
  }

  function reset(notice) {
    hangUp();
    clearTimeout(retryTimer);
    banner(false);
    session = null;
    save();
    conv = null;
    self = "";
    people = {};
    msgs = {};
    pending = {};
    Object.keys(typers).forEach(function (k) {
      clearTimeout(typers[k].timer);
    });
    typers = {};
    showTypers();
    shown = readUpTo = -1;
    ended = false;
    thread.textContent = "";
    $("ended").hidden = true;
    composer.hidden = false;
    showError("ended-error", "");
    showStart(notice);
    markRead();
  }

  function expired() {
    reset("Your chat session has expired. Start a new chat to continue.");
  }

  function lost(notice) {
    reset(notice);
  }

  $("restart").addEventListener("click", function () {
    reset("");
    focusFirst();
  });

  $("transcript").addEventListener("click", function () {
    var button = this;
    button.disabled = true;
    showError("ended-error", "");
    authed("/webchat/v1/conversations/" + encodeURIComponent(session.conversation_sid) + "/transcript", {})
      .then(function (r) {
        return r.blob();
      })
      .then(
        function (blob) {
          var a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = "chat-transcript.txt";
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () {
            URL.revokeObjectURL(a.href);
          }, 10000);
          button.disabled = false;
        },
        function (err) {
          button.disabled = false;
          showError("ended-error", "The transcript could not be downloaded: " + err.message);
        }
      );
  });

  $("close").hidden = !embedded;
  $("close").addEventListener("click", function () {
    tell({ type: "close" });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && embedded) tell({ type: "close" });
  });

  // --- boot

  if (/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(cfg.color || "")) {
    document.documentElement.style.setProperty("--brand", cfg.color);
    document.documentElement.style.setProperty("--brand-fg", readable(cfg.color));
  }
  if (session && Date.parse(session.expires_at) - Date.now() < 120000) {
    showChat();
    refresh().then(connect, function (err) {
      if (err.status >= 400 && err.status < 500) expired();
      else connect();
    });
  } else if (session) {
    showChat();
    connect();
  } else showStart("");
  tell({ type: "ready", color: cfg.color, title: cfg.title });
  markRead();
})();
