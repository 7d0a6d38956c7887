/* Draws every <canvas data-chart="ID"> from the JSON in <script id="ID"> with Chart.js.
   Kinds: histogram (bars from mark_from on in red), hourly, band (IQM with a 95% band), curves (runs, their mean, a threshold). */
(function () {
  "use strict";
  const blue = "#1d4fa8", light = "rgba(122,162,227,.55)", red = "#b3261e";

  function axes(spec) {
    return {
      x: {title: {display: true, text: spec.x}, ticks: {maxTicksLimit: 12}},
      y: {title: {display: true, text: spec.y}, beginAtZero: true},
    };
  }

  function histogram(spec) {
    // spec.mark_from (optional): the first bar at or above a threshold, drawn in red from there on
    const marked = (i) => spec.mark_from !== undefined && spec.mark_from !== null && i >= spec.mark_from;
    const fill = spec.counts.map((_, i) => (marked(i) ? red : light));
    return {
      type: "bar",
      data: {labels: spec.labels, datasets: [{label: spec.y, data: spec.counts, backgroundColor: fill, borderColor: blue, borderWidth: 1}]},
      options: {scales: axes(spec), plugins: {legend: {display: false}}},
    };
  }

  function hourly(spec) {
    const colours = spec.counts.map((_, i) => (i === spec.due_index ? red : light));
    return {
      type: "bar",
      data: {labels: spec.labels, datasets: [{label: "submissions", data: spec.counts, backgroundColor: colours}]},
      options: {scales: axes(spec), plugins: {legend: {display: false}}},
    };
  }

  function flat(labels, value) { return labels.map(() => value); }

  function band(spec) {
    const datasets = [
      {label: "95% band (low)", data: spec.low, borderWidth: 0, pointRadius: 0, fill: false},
      {label: "95% band", data: spec.high, borderWidth: 0, pointRadius: 0, fill: "-1", backgroundColor: light},
      {label: "IQM across students", data: spec.iqm, borderColor: blue, borderWidth: 2.5, pointRadius: 0},
    ];
    if (spec.threshold !== null && spec.threshold !== undefined) {
      datasets.push({label: "threshold", data: flat(spec.episodes, spec.threshold), borderColor: red, borderDash: [6, 4], pointRadius: 0});
    }
    return {
      type: "line", data: {labels: spec.episodes, datasets: datasets},
      options: {interaction: {mode: "index", intersect: false}, scales: axes(spec),
                plugins: {legend: {labels: {filter: (item) => item.text !== "95% band (low)"}}}},
    };
  }

  function curves(spec) {
    const datasets = spec.runs.map((run) => ({label: run.label, data: run.values, borderColor: light, borderWidth: 1, pointRadius: 0}));
    datasets.push({label: "mean of runs", data: spec.mean, borderColor: blue, borderWidth: 2.5, pointRadius: 0});
    if (spec.threshold !== null && spec.threshold !== undefined) {
      datasets.push({label: "threshold " + spec.threshold, data: flat(spec.episodes, spec.threshold), borderColor: red, borderDash: [6, 4], pointRadius: 0});
    }
    return {
      type: "line", data: {labels: spec.episodes, datasets: datasets},
      options: {interaction: {mode: "index", intersect: false}, scales: axes(spec)},
    };
  }

  const kinds = {histogram: histogram, hourly: hourly, band: band, curves: curves};

  function draw() {
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
      new Chart(canvas, kinds[spec.kind](spec));
      canvas.dataset.drawn = "true";
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
