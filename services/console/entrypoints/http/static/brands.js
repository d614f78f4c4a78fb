// Brands, projects, the value report and the business view: the charts (drawn from the JSON blocks
// the server rendered), the report's print button, confirmations of consequential forms, and "n".
(function () {
  "use strict";

  function dataOf(id) {
    const source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }

  function chartIn(box) {
    const renderer = box.dataset.renderer === "svg" ? "svg" : "canvas";
    return window.echarts.getInstanceByDom(box) || window.echarts.init(box, null, { renderer });
  }

  // Completion over time: cumulative deliveries against the straight target line, daily bars below.
  function drawProgress() {
    const box = document.getElementById("progress-chart");
    const data = dataOf("progress-chart-data");
    if (!box || !data || !window.echarts) return;
    const labels = JSON.parse(box.dataset.labels || "{}");
    const printing = box.dataset.renderer === "svg";
    chartIn(box).setOption({
      animation: !printing,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 56, right: 16, bottom: 32, top: 36 },
      xAxis: { type: "category", data: data.days, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: labels.delivered, type: "line", data: data.delivered_total, symbolSize: 5, showAllSymbol: "auto", areaStyle: { opacity: 0.12 }, itemStyle: { color: "#0b7a5a" } },
        { name: labels.target, type: "line", data: data.target_line, showSymbol: false, lineStyle: { type: "dashed" }, itemStyle: { color: "#5f6b76" } },
        { name: labels.daily, type: "bar", data: data.delivered, barMaxWidth: 14, itemStyle: { color: "#9fd8c4" } },
        { name: labels.clicks, type: "line", data: data.clicks_total, symbolSize: 4, showAllSymbol: "auto", itemStyle: { color: "#175cd3" } },
      ],
    }, true);
  }

  // The deal funnel, stage by stage (lost apart, in red).
  function drawFunnel() {
    const box = document.getElementById("funnel-chart");
    const data = dataOf("funnel-chart-data");
    if (!box || !data || !window.echarts) return;
    const labels = JSON.parse(box.dataset.labels || "{}");
    chartIn(box).setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 72, right: 24, bottom: 24, top: 16 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: data.stages },
      series: [{
        name: labels.count,
        type: "bar",
        barMaxWidth: 26,
        data: data.counts.map((n, i) => ({ value: n, itemStyle: { color: data.keys[i] === "lost" ? "#b42318" : "#0b7a5a" } })),
        label: { show: true, position: "right" },
      }],
    }, true);
  }

  function resize() {
    document.querySelectorAll("#progress-chart, #funnel-chart").forEach((box) => {
      const chart = window.echarts && window.echarts.getInstanceByDom(box);
      if (chart) chart.resize();
    });
  }

  // Forms whose effect is hard to undo (a hand-over) ask first.
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-print]")) window.print();
  });

  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);

  document.addEventListener("DOMContentLoaded", () => {
    drawProgress();
    drawFunnel();
    if (window.scrmKeys) {
      window.scrmKeys.on("n", () => {
        const link = document.querySelector("[data-key-n]");
        if (link) location.assign(link.href);
      });
    }
  });
})();
