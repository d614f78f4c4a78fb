// The review queue and desk: J/K through the queue, A approve, R reject (1-9 pick a reason, Enter
// confirms), Z zoom, Esc back to the queue (releasing the item). No inline scripts: the CSP forbids them.
// This file runs before app.js (page scripts come first in <head>): it starts once the page is parsed,
// when app.js has run too.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  const keys = window.scrmKeys;
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // -- the queue: a cursor over the rows ---------------------------------------------------------
  let cursorId = null;
  function rows() { return Array.from(document.querySelectorAll("[data-queue-row]")); }
  function showCursor() {
    rows().forEach((row) => row.classList.toggle("selected", row.dataset.id === cursorId));
    const current = rows().find((row) => row.dataset.id === cursorId);
    if (current) current.scrollIntoView({ block: "nearest" });
  }
  function moveCursor(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.findIndex((row) => row.dataset.id === cursorId);
    const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    cursorId = all[next].dataset.id;
    showCursor();
  }

  // -- the desk -----------------------------------------------------------------------------------
  function desk() { return document.querySelector("[data-desk]"); }

  // Leaving one item for another: drop the claim first so another reviewer can take it at once.
  function leaveTo(url) {
    const here = desk();
    const form = here && here.querySelector("[data-release-form]");
    if (!form) { location.assign(url); return; }
    fetch(form.action, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), "HX-Request": "true" },
      body: new URLSearchParams(new FormData(form)),
      keepalive: true,
      credentials: "same-origin",
    }).finally(() => location.assign(url));
  }

  function step(direction) {
    const here = desk();
    if (here) {
      const url = here.dataset[direction > 0 ? "next" : "previous"];
      if (url) leaveTo(url);
      return;
    }
    moveCursor(direction);
  }

  keys.on("j", () => step(1));
  keys.on("J", () => step(1));
  keys.on("k", () => step(-1));
  keys.on("K", () => step(-1));
  function approve() {
    const button = document.querySelector("[data-desk] [data-approve]");
    if (button) button.click();
  }
  function chooseReason() {
    const first = document.querySelector("[data-desk] [data-reasons] input[type=radio]:checked") ||
      document.querySelector("[data-desk] [data-reasons] input[type=radio]");
    if (first) first.focus();
  }
  keys.on("a", approve);
  keys.on("A", approve);
  keys.on("r", chooseReason);
  keys.on("R", chooseReason);
  function zoom() {
    const box = document.querySelector("[data-desk] .desk-picture .zoomable");
    if (box) box.classList.toggle("zoomed");
  }
  keys.on("z", zoom);
  keys.on("Z", zoom);
  function start() {
    const form = document.querySelector("[data-start-form]");
    if (form) form.requestSubmit();
  }
  keys.on("s", start);
  keys.on("S", start);
  // Enter and Esc are not app.js shortcuts (they must keep working on buttons, links and dialogs).
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) return;
    const onPage = event.target === document.body || event.target === document.documentElement;
    if (event.key === "Enter" && onPage && !desk()) {
      const row = rows().find((r) => r.dataset.id === cursorId);
      if (row) { event.preventDefault(); location.assign(row.dataset.href); }
    } else if (event.key === "Escape" && desk() && !(event.target.closest && event.target.closest("[data-reasons], textarea"))) {
      const form = desk().querySelector("[data-release-form]");
      event.preventDefault();
      if (form) form.requestSubmit(); else location.assign(desk().dataset.queue);
    }
  });

  // A click anywhere on a queue row opens it.
  document.addEventListener("click", (event) => {
    const row = event.target.closest && event.target.closest("[data-queue-row]");
    if (row && !event.target.closest("a, button")) location.assign(row.dataset.href);
  });

  // Esc in the note leaves the note (a second Esc leaves the desk).
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && event.target.matches && event.target.matches("[data-desk] textarea")) {
      event.preventDefault();
      event.target.blur();
    }
  });

  // Inside the reason list app.js stays out (the focus is on an input): 1-9 pick, Enter rejects, Esc leaves.
  document.addEventListener("keydown", (event) => {
    const list = event.target.closest && event.target.closest("[data-desk] [data-reasons]");
    if (!list || event.ctrlKey || event.metaKey || event.altKey) return;
    if (/^[1-9]$/.test(event.key)) {
      const radio = list.querySelectorAll("input[type=radio]")[Number(event.key) - 1];
      if (radio) { event.preventDefault(); radio.checked = true; radio.focus(); }
    } else if (event.key === "Enter") {
      const reject = document.querySelector("[data-desk] [data-reject]");
      if (reject) { event.preventDefault(); reject.click(); }
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.target.blur();
    } else if (event.key === "a" || event.key === "A") {
      event.preventDefault();
      approve();
    }
  });

  // The desk was swapped for the next item: nothing keeps the focus, so the keys go to the page.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "queue") { showCursor(); return; }
    // Only a new item (the whole desk swapped) drops the focus: the claim's renewal swaps a fragment
    // inside the desk and must not take the focus from the reason list the reviewer is in.
    if (!event.detail.target || event.detail.target.id !== "desk") return;
    const here = desk();
    if (!here) return;
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
    window.scrollTo({ top: 0 });
  });
});
