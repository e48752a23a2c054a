// The pack page (templates/scan/pack.html): F4 goes to the supervisor's override.
(() => {
  "use strict";
  // F4: to the supervisor's override, when a weighing waits for one (the form is in the page's state).
  document.addEventListener("keydown", (event) => {
    if (event.key !== "F4" || event.ctrlKey || event.metaKey || event.altKey) return;
    const field = document.querySelector("#override-form input[name=username]");
    if (!field) return;
    event.preventDefault();
    field.focus();
  });
})();
