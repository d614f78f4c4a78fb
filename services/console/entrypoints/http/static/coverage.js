// Tag coverage: draws the stage-kind × interest bars and the coverage lines from the JSON block the
// server rendered (shares in percent).
(function () {
  "use strict";

  function draw() {
    const source = document.getElementById("coverage-data");
    if (!source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const percent = { type: "value", axisLabel: { formatter: "{value}%" }, max: (v) => Math.max(10, Math.ceil(v.max)) };
    const bars = document.getElementById("coverage-bars");
    if (bars) {
      const chart = window.echarts.getInstanceByDom(bars) || window.echarts.init(bars);
      chart.setOption({
        tooltip: { trigger: "axis", valueFormatter: (v) => v + "%" },
        legend: {},
        grid: { left: 48, right: 16, bottom: 48, top: 40 },
        xAxis: { type: "category", data: data.interests, axisLabel: { interval: 0, rotate: 20 } },
        yAxis: percent,
        series: data.bars.map((s) => ({ name: s.name, type: "bar", barMaxWidth: 28, data: s.data })),
      }, true);
    }
    const lines = document.getElementById("coverage-lines");
    if (lines) {
      const chart = window.echarts.getInstanceByDom(lines) || window.echarts.init(lines);
      chart.setOption({
        tooltip: { trigger: "axis", valueFormatter: (v) => v + "%" },
        legend: {},
        grid: { left: 48, right: 16, bottom: 32, top: 40 },
        xAxis: { type: "category", data: data.days },
        yAxis: percent,
        series: data.lines.map((s) => ({ name: s.name, type: "line", showSymbol: false, data: s.data })),
      }, true);
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
  window.addEventListener("resize", () => {
    ["coverage-bars", "coverage-lines"].forEach((id) => {
      const box = document.getElementById(id);
      const chart = box && window.echarts && window.echarts.getInstanceByDom(box);
      if (chart) chart.resize();
    });
  });
})();
