// The push pages: the composer shows each variant's fields for the kind chosen; the push page draws
// its per-variant chart from the JSON block the server rendered (again after every live refresh).
(function () {
  "use strict";

  const CS_KINDS = ["text", "image", "news"];

  function showKindFields(fieldset) {
    const chosen = fieldset.querySelector("input[data-kind]:checked");
    if (!chosen) return;
    const kind = chosen.value;
    // A customer-service message's stand-in outside the 48 h window ("", template, subscription).
    const toggle = fieldset.querySelector("[data-fallback-toggle]");
    const fallback = CS_KINDS.includes(kind) && toggle ? toggle.value : "";
    fieldset.querySelectorAll("[data-kinds]").forEach((group) => {
      const kinds = group.dataset.kinds.split(" ");
      const asFallback = group.hasAttribute("data-fallback") && fallback !== "" && kinds.includes(fallback);
      group.hidden = !(kinds.includes(kind) || asFallback);
    });
  }

  document.addEventListener("change", (event) => {
    const fieldset = event.target.closest("fieldset.variant");
    if (fieldset && event.target.matches("input[data-kind], [data-fallback-toggle]")) showKindFields(fieldset);
    if (event.target.matches("select[data-quiet]")) {
      const times = event.target.form && event.target.form.querySelector("[data-quiet-times]");
      if (times) times.hidden = event.target.value !== "custom";
    }
    if (event.target.matches("input[name=when]")) {
      const send = document.querySelector("[data-testid=send-push]");
      const at = document.querySelector("input[name=when][value=at]");
      if (send && at) send.textContent = at.checked ? send.dataset.scheduleLabel : send.dataset.sendLabel;
    }
  });

  function drawChart() {
    const box = document.getElementById("push-chart");
    const source = document.getElementById("push-chart-data");
    if (!box || !source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const labels = JSON.parse(box.dataset.labels || "{}");
    const colors = { sent: "#067647", failed: "#b42318", skipped: "#a15c07", clicked: "#175cd3" };
    const chart = window.echarts.getInstanceByDom(box) || window.echarts.init(box);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: {},
      grid: { left: 48, right: 16, bottom: 32, top: 40 },
      xAxis: { type: "category", data: data.variants },
      yAxis: { type: "value", minInterval: 1 },
      series: Object.keys(data.series).map((key) => ({
        name: labels[key] || key, type: "bar", barMaxWidth: 48, data: data.series[key], itemStyle: { color: colors[key] },
      })),
    }, true);
  }

  document.addEventListener("DOMContentLoaded", () => {
    // The list: "n" opens the composer (app.js, loaded after this file, is there by now).
    if (window.scrmKeys) {
      window.scrmKeys.on("n", () => {
        const link = document.querySelector("[data-testid=new-push]");
        if (link) location.assign(link.href);
      });
    }
    document.querySelectorAll("fieldset.variant").forEach(showKindFields);
    drawChart();
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.target.querySelector) event.target.querySelectorAll("fieldset.variant").forEach(showKindFields);
    drawChart();
  });
  window.addEventListener("resize", () => {
    const box = document.getElementById("push-chart");
    const chart = box && window.echarts && window.echarts.getInstanceByDom(box);
    if (chart) chart.resize();
  });
})();
