// The teams view: a push never replaces a row while the supervisor is
// editing it. A push that arrives then is dropped (the board says so in
// data-held), and once the field is left the page asks the socket for the
// board again.
(() => {
  "use strict";
  let wrapper = null;
  let stale = false;
  const editing = () => {
    const el = document.activeElement;
    return el !== null && el.matches("input, select") && el.closest("#teams-board") !== null;
  };
  document.addEventListener("htmx:wsBeforeMessage", (e) => {
    wrapper = e.detail.socketWrapper;
    if (editing()) {
      stale = true;
      document.getElementById("teams-board").dataset.held = "true";
      e.preventDefault();
    }
  });
  document.addEventListener("focusout", () => {
    // After the focus has moved on (a submit replaces the row first).
    setTimeout(() => {
      if (stale && !editing() && wrapper) {
        stale = false;
        wrapper.send(JSON.stringify({ type: "refresh" }));
      }
    }, 0);
  });
})();
