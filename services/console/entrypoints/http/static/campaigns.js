// Campaign pages: the referral funnel chart (ECharts) and the poster layout boxes that follow the form.
// Data comes from data-* attributes (JSON); no inline scripts (the CSP forbids them).
(function () {
  "use strict";

  function drawFunnels(root) {
    if (!window.echarts || !root.querySelectorAll) return;
    root.querySelectorAll("[data-funnel]").forEach((el) => {
      let rows;
      try { rows = JSON.parse(el.dataset.funnel || "[]"); } catch (err) { return; }
      const chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "svg" });
      const top = rows.reduce((max, row) => Math.max(max, row.value), 0);
      chart.setOption({
        animation: false,
        tooltip: { trigger: "item", formatter: "{b}: {c}" },
        series: [{
          type: "funnel", sort: "none", left: "5%", width: "90%", min: 0, max: Math.max(top, 1), gap: 2,
          label: { show: true, position: "inside", formatter: "{b} {c}" },
          data: rows.map((row) => ({ name: row.name, value: row.value })),
        }],
      });
    });
  }

  // The poster layout: boxes drawn over the template's outline as the numbers change.
  function layoutBoxes(form) {
    const canvas = document.querySelector("[data-poster-canvas]");
    if (!canvas || !form) return;
    const width = Number(canvas.dataset.width) || 750;
    const height = Number(canvas.dataset.height) || 1334;
    const value = (selector) => { const input = form.querySelector(selector); return input ? input : null; };
    const num = (input) => (input ? Number(input.value) || 0 : 0);
    const qr = canvas.querySelector('[data-box="qr"]');
    if (qr) {
      const size = num(value('[data-layout="qr"][data-key="size"]'));
      qr.style.left = (num(value('[data-layout="qr"][data-key="x"]')) * 100 / width) + "%";
      qr.style.top = (num(value('[data-layout="qr"][data-key="y"]')) * 100 / height) + "%";
      qr.style.width = (size * 100 / width) + "%";
      qr.style.height = (size * 100 / height) + "%";
    }
    canvas.querySelectorAll(".box-slot").forEach((box) => {
      const name = box.dataset.box;
      const pick = (key) => value(`[data-layout="slot"][data-slot="${name}"][data-key="${key}"]`);
      const on = pick("on");
      box.hidden = on ? !on.checked : false;
      const font = num(pick("font_size"));
      box.style.left = (num(pick("x")) * 100 / width) + "%";
      box.style.top = (num(pick("y")) * 100 / height) + "%";
      box.style.height = (font * 1.3 * 100 / height) + "%";
      box.style.width = (font * 6 * 100 / width) + "%";
      const colour = pick("colour");
      if (colour) box.style.borderColor = colour.value;
    });
  }

  document.addEventListener("input", (event) => {
    if (event.target.closest("[data-layout]")) layoutBoxes(event.target.form);
  });
  document.addEventListener("change", (event) => {
    if (event.target.closest("[data-layout]")) layoutBoxes(event.target.form);
  });
  document.addEventListener("DOMContentLoaded", () => {
    drawFunnels(document);
    // The list: "n" opens the wizard (when the page offers it).
    const create = document.querySelector('[data-testid="new-campaign"]');
    if (create && window.scrmKeys) window.scrmKeys.on("n", () => location.assign(create.href));
  });
  // The live page's figures are replaced every 15 s: let go of the old chart (its element leaves the
  // page, and ECharts keeps every instance), then draw the new one. htmx:load fires on the new content,
  // which is in the page (an outerHTML swap's own events fire on the detached old element).
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (!window.echarts || !event.detail.target) return;
    event.detail.target.querySelectorAll("[data-funnel]").forEach((el) => {
      const chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.dispose();
    });
  });
  document.addEventListener("htmx:load", (event) => drawFunnels(event.detail.elt || document));
  window.addEventListener("resize", () => {
    if (!window.echarts) return;
    document.querySelectorAll("[data-funnel]").forEach((el) => {
      const chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });
})();
