// The monitor page around htmx: the socket's hello on every (re)connect
// (the last message index the page shows, so the server sends what it
// missed), one copy of each thread line, the thread kept at its newest
// message, older pages keeping the reader's place, and the composer's
// Enter to send. It never reports reading or typing: watching stays
// invisible. Text from the server is only ever set by htmx's swaps.
(() => {
  "use strict";

  const mon = document.getElementById("mon");
  if (!mon) return;


  const sid = mon.dataset.conversation;
  const thread = () => document.getElementById("thread-" + sid);
  const scroller = () => mon.querySelector(".mon-scroll");
  const lastIndex = () => {
    let last = -1;
    thread()?.querySelectorAll(":scope > li.msg").forEach((li) => {
      last = Math.max(last, Number(li.dataset.index));
    });
    return last;
  };

  mon.addEventListener("htmx:wsOpen", (e) => {
    mon.dataset.synced = "false";
    e.detail.socketWrapper.send(JSON.stringify({ type: "hello", after: lastIndex() }));
  });
  mon.addEventListener("htmx:wsClose", () => (mon.dataset.synced = "false"));

  // A resync may repeat a system line the page has: keep the first.
  const dedupe = () => {
    const seen = new Set();
    thread()?.querySelectorAll(":scope > li[id]").forEach((li) => {
      if (seen.has(li.id)) li.remove();
      else seen.add(li.id);
    });
  };

  let pinned = true;
  const atBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  scroller()?.addEventListener("scroll", (e) => (pinned = atBottom(e.target)));
  const toBottom = () => {
    const s = scroller();
    if (s && pinned) s.scrollTop = s.scrollHeight;
  };

  mon.addEventListener("htmx:wsAfterMessage", () => {
    dedupe();
    toBottom();
    mon.dataset.synced = "true";
  });

  // Older pages keep the reader's place: the scroll moves by what was added above.
  let above = 0;
  document.body.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.elt?.classList?.contains("older")) {
      const s = scroller();
      above = s ? s.scrollHeight - s.scrollTop : 0;
    }
  });
  document.body.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.elt?.classList?.contains("older")) {
      dedupe();
      const s = scroller();
      if (s) s.scrollTop = s.scrollHeight - above;
    }
  });

  // A pushed composer in the same state (after a reconnect's hello) leaves
  // the page's alone, with the draft being typed in it.
  document.body.addEventListener("htmx:oobBeforeSwap", (e) => {
    const target = e.detail.target;
    const incoming = e.detail.fragment?.firstElementChild;
    if (target?.id === "mon-controls" && incoming?.dataset && target.dataset.joined === incoming.dataset.joined) {
      e.detail.shouldSwap = false;
    }
  });

  // Enter sends, Shift+Enter is a new line.
  mon.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || !t.matches?.(".mon-composer textarea")) return;
    e.preventDefault();
    if (t.value.trim() !== "") t.form.requestSubmit();
  });
  // After a send the new composer has the focus again.
  document.body.addEventListener("htmx:afterSettle", (e) => {
    if (e.detail.target?.id === "mon-controls") mon.querySelector(".mon-composer textarea")?.focus();
  });

  toBottom();
})();
