// The admin pages' behaviour: a refused change answers 4xx with a notice
// retargeted to #notice (consoleFail), which htmx must swap too.
(() => {
  "use strict";
  if (typeof htmx === "undefined") return;
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "[45]..", swap: true, error: true },
  ];
})();
