// A label just made opens to print (templates/scan/label_print.html says how).
(() => {
  "use strict";
  const frame = document.getElementById("label-print");
  const state = document.getElementById("scan-state");
  function open() {
    const link = state && state.querySelector("a[data-label-open]");
    if (!link) return;
    link.removeAttribute("data-label-open");
    frame.src = link.href;
    document.body.dataset.label = link.getAttribute("href");
  }
  if (state) new MutationObserver(open).observe(state, { childList: true, subtree: true });
  open();  // a page an answer led back to (the supervisor's override)
})();
