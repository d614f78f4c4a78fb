// The dashboards: every [data-chart] element is drawn from the page's JSON block (#dashboard-data,
// which the CSP allows: JSON is never executed). A chart spec is
//   {type: "line"|"bar"|"funnel", x: [...], series: [{name, data, dashed, colour, stack, axis}], percent}
// and previous-period series (dashed) share the x axis of the current one, day by day.
(function () {
  "use strict";

  const PALETTE = ["#0b7a5a", "#175cd3", "#b42318", "#a15c07", "#6941c6", "#067647", "#c11574", "#5f6b76"];

  function data() {
    const source = document.getElementById("dashboard-data");
    if (!source) return null;
    try { return JSON.parse(source.textContent); } catch (err) { return null; }
  }

  function percent(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  function colour(series, index) {
    return PALETTE[(series.colour === undefined || series.colour === null ? index : series.colour) % PALETTE.length];
  }

  function axisOption(spec) {
    const options = {
      animation: false,
      color: PALETTE,
      tooltip: { trigger: "axis", valueFormatter: spec.percent ? percent : undefined },
      legend: { top: 0, type: "scroll" },
      grid: { left: 56, right: spec.series.some((s) => s.axis === 1) ? 56 : 16, bottom: 32, top: 40 },
      xAxis: { type: "category", data: spec.x, boundaryGap: spec.type === "bar" },
      yAxis: [
        { type: "value", minInterval: spec.percent ? 0 : 1, axisLabel: spec.percent ? { formatter: percent } : {} },
        { type: "value", axisLabel: { formatter: percent }, splitLine: { show: false }, max: 1, min: 0 },
      ],
      series: spec.series.map((s, i) => ({
        name: s.name,
        type: s.type || spec.type,
        data: s.data,
        stack: s.stack || undefined,
        yAxisIndex: s.axis || 0,
        barMaxWidth: 32,
        showSymbol: spec.x.length <= 31,
        connectNulls: false,
        // A previous-period series takes its current series' colour, dashed and lighter.
        lineStyle: { type: s.dashed ? "dashed" : "solid", width: s.dashed ? 1.5 : 2, color: colour(s, i) },
        itemStyle: { color: colour(s, i), opacity: s.dashed ? 0.55 : 1 },
        tooltip: spec.percent || s.axis === 1 ? { valueFormatter: percent } : undefined,
      })),
    };
    if (!spec.series.some((s) => s.axis === 1)) options.yAxis = options.yAxis[0];
    return options;
  }

  function funnelOption(spec) {
    const rows = spec.series[0].data;
    const top = rows.reduce((max, row) => Math.max(max, row.value), 0);
    return {
      animation: false,
      color: PALETTE,
      tooltip: { trigger: "item", formatter: (p) => p.name + ": " + p.value + (p.data.rate === null ? "" : " (" + percent(p.data.rate) + ")") },
      series: [{
        // A floor on the width keeps the later, much smaller steps wide enough for their labels.
        type: "funnel", sort: "none", left: "5%", width: "90%", min: 0, max: Math.max(top, 1), gap: 2, minSize: "42%",
        label: { show: true, position: "inside", color: "#fff", formatter: (p) => p.name + " " + p.value },
        data: rows,
      }],
    };
  }

  function draw(root) {
    const all = data();
    if (!all || !window.echarts || !root.querySelectorAll) return;
    root.querySelectorAll("[data-chart]").forEach((el) => {
      const spec = (all.charts || {})[el.dataset.chart];
      if (!spec) return;
      const chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "svg" });
      const option = spec.type === "funnel" ? funnelOption(spec) : axisOption(spec);
      chart.setOption(option, true);
      el.dataset.drawn = "true";
    });
  }

  document.addEventListener("DOMContentLoaded", () => draw(document));
  window.addEventListener("resize", () => {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach((el) => {
      const chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });
})();
