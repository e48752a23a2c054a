// The scan pages' frame (templates/scan/base.html says what it does), served as a file: the pages allow no
// inline script (Content-Security-Policy).
(() => {
  "use strict";
  const body = document.body;
  const form = document.getElementById("scan-form");
  const input = document.getElementById("scan-input");
  const banner = document.getElementById("scan-answer");
  const texts = document.getElementById("scan-texts").dataset;
  const CONTROLS = "a[href], button, input, select, textarea, label, summary, [tabindex], [contenteditable]";

  // --- sound: tones made here (Web Audio), no files. Browsers start audio only after a key or a tap; a
  // scanner's keys are keys, and the first one unlocks it.
  const TONES = {
    ok: [[1320, 0.08, "sine"]],
    warning: [[740, 0.1, "triangle"], [740, 0.1, "triangle"]],
    error: [[220, 0.16, "square"], [160, 0.34, "square"]],
  };
  let audio = null;
  function audioContext() {
    if (!audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      audio = new Context();
    }
    if (audio.state === "suspended") audio.resume();
    return audio;
  }
  function sound(level) {
    const tones = TONES[level];
    if (!tones) return;
    try {
      const context = audioContext();
      if (context) {
        let at = context.currentTime + 0.01;
        for (const [frequency, length, type] of tones) {
          const oscillator = context.createOscillator();
          const gain = context.createGain();
          oscillator.type = type;
          oscillator.frequency.value = frequency;
          gain.gain.setValueAtTime(0.0001, at);
          gain.gain.exponentialRampToValueAtTime(0.3, at + 0.01);
          gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
          oscillator.connect(gain);
          gain.connect(context.destination);
          oscillator.start(at);
          oscillator.stop(at + length + 0.02);
          at += length + 0.05;
        }
        body.dataset.sound = level;
      }
    } catch (error) {
      // No sound on this device: the colour and the words still say it.
    }
    if (level === "error" && navigator.vibrate) navigator.vibrate([120, 60, 120]);
  }
  const unlock = () => { try { audioContext(); } catch (error) { /* no audio */ } };
  document.addEventListener("keydown", unlock, { once: true, capture: true });
  document.addEventListener("pointerdown", unlock, { once: true, capture: true });

  // --- focus: the input has it, always.
  function refocus() {
    if (input && document.activeElement !== input) input.focus({ preventScroll: true });
  }
  const typedInto = (element) => element && element.matches("input, select, textarea, [contenteditable]");
  if (input) {
    input.addEventListener("blur", () => setTimeout(() => {
      const active = document.activeElement;
      if (!active || active === body || active === document.documentElement) refocus();
    }, 0));
    document.addEventListener("click", (event) => {
      if (!event.target.closest(CONTROLS)) refocus();
    });
    document.addEventListener("keydown", (event) => {
      if (event.target === input) {
        if (event.key === "Escape") input.value = "";
        return;
      }
      // A scan while a button or nothing had the focus: its characters go into the input.
      if (!typedInto(event.target) && event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
        refocus();
      }
    });
    window.addEventListener("focus", refocus);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) refocus(); });
    // Now, as the page is read: the input's autofocus comes when the browser next draws, which a scan (or a
    // page's 'load') can beat.
    refocus();
  }

  // --- shortcuts: a command button's data-key; on pages without the input, [data-hotkey] (the menu's numbers).
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const command = [...document.querySelectorAll("button[data-key]")].find((button) => button.dataset.key === event.key);
    if (command) {
      event.preventDefault();
      (command.form || form).requestSubmit(command);
      return;
    }
    if (input || typedInto(event.target)) return;
    const hotkey = [...document.querySelectorAll("[data-hotkey]")].find((element) => element.dataset.hotkey === event.key);
    if (hotkey) {
      event.preventDefault();
      hotkey.click();
    }
  });

  // --- the answer: banner, sound, state, focus.
  function show(reply) {
    const level = ["ok", "warning", "error"].includes(reply.level) ? reply.level : "error";
    banner.className = "answer answer-" + level;
    banner.querySelector(".answer-text").textContent = reply.message || "";
    banner.querySelector(".answer-code").textContent = reply.scanned || "";
    void banner.offsetWidth;  // restart the flash when two answers in a row look the same
    banner.classList.add("flash");
    const state = document.getElementById("scan-state");
    if (state && typeof reply.state === "string") state.innerHTML = reply.state;
    sound(level);
    body.dataset.answers = String(Number(body.dataset.answers) + 1);
    refocus();
  }
  const initial = banner && banner.className.match(/answer-(ok|warning|error)/);
  if (initial) sound(initial[1]);  // an answer brought by a page load (without script, or a refused choice)

  // --- sending: one scan at a time, in the order scanned; the input is free for the next one meanwhile.
  if (!form || !form.hasAttribute("data-fetch") || !window.fetch) return;
  const queue = [];
  let sending = false;
  async function send(code) {
    const data = new FormData(form);
    data.delete("command");
    data.set("code", code);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (type.startsWith("application/json")) return show(await response.json());
      if (response.redirected) return window.location.assign(response.url);  // the session ended: the login page
      if (type.startsWith("text/plain")) {  // refused before any page saw it (core.middleware): it says why
        const said = (await response.text()).trim().split("\n")[0].slice(0, 300);
        if (said) return show({ level: "error", message: said, scanned: code });
      }
      return show({ level: "error", message: `${texts.refused} (HTTP ${response.status})`, scanned: code });
    } catch (error) {
      return show({ level: "error", message: texts.offline, scanned: code });
    }
  }
  async function drain() {
    if (sending) return;
    sending = true;
    form.classList.add("busy");
    while (queue.length) await send(queue.shift());
    form.classList.remove("busy");
    sending = false;
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const submitter = event.submitter;
    const code = submitter && submitter.name === "command" ? submitter.value : input.value.trim();
    if (!submitter || submitter.name !== "command") input.value = "";
    refocus();
    if (!code) return;
    queue.push(code);
    drain();
  });
})();
