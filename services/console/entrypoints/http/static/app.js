// The console's own script: keyboard navigation, the account switcher, and small widgets.
// Pages may register key handlers with window.scrmKeys.on("j", fn); no inline scripts (the CSP forbids them).
(function () {
  "use strict";
  const handlers = {};
  window.scrmKeys = { on(key, fn) { handlers[key] = fn; } };

  function typing(target) {
    const tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function accountBase() {
    const match = location.pathname.match(/^\/accounts\/[^/]+/);
    return match ? match[0] : null;
  }

  const goTo = { o: "", c: "/campaigns", r: "/review", m: "/members", s: "/segments", p: "/pushes" };
  let pendingG = false;

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const key = event.key;
    if (pendingG) {
      pendingG = false;
      // Cross-account sections (the business view) have their own hotkeys in the sidebar.
      const global = document.querySelector(`.sidebar a[data-hotkey="${key}"]`);
      if (global) { event.preventDefault(); location.assign(global.href); return; }
      const base = accountBase();
      if (base && key in goTo) {
        const link = document.querySelector(`.sidebar a[href="${base + goTo[key]}"]`);
        if (link) { event.preventDefault(); location.assign(link.href); }
      }
      return;
    }
    if (key === "g") { pendingG = true; setTimeout(() => { pendingG = false; }, 1200); return; }
    if (key === "?") {
      const dialog = document.getElementById("shortcuts");
      if (dialog && !dialog.open) { event.preventDefault(); dialog.showModal(); }
      return;
    }
    if (key === "/") {
      const search = document.querySelector("[data-search]");
      if (search) { event.preventDefault(); search.focus(); }
      return;
    }
    if (handlers[key]) { event.preventDefault(); handlers[key](event); }
  });

  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-navigate]");
    if (!select || !select.value) return;
    const base = accountBase();
    const rest = base ? location.pathname.slice(base.length).split("/").slice(0, 2).join("/") : "";
    location.assign(`/accounts/${encodeURIComponent(select.value)}${rest}`);
  });

  // Zoomable pictures (the review queue's screenshots): click toggles actual size.
  document.addEventListener("click", (event) => {
    const box = event.target.closest(".zoomable");
    if (box && event.target.tagName === "IMG") box.classList.toggle("zoomed");
  });

  // Pages that refresh by themselves mark a region with data-refresh-seconds; htmx does the rest
  // (hx-trigger="every Ns"), this only pauses it while the tab is hidden.
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (document.hidden && event.detail.elt.hasAttribute("data-refresh-seconds")) event.preventDefault();
  });
})();
