// Plantbus dashboard, trend view: tags and OEE KPIs from the historian (/api/trend) drawn
// with the vendored uPlot, stops and alarms as bands on the same time axis. Drag across
// the chart to zoom (the zoomed range is fetched again at finer buckets), "Reset zoom"
// goes back. A tag that a condition plan forecasts gets the maintenance service's forecast
// ahead of now: the fitted trend to the plan's limit, dashed, in its uncertainty band (a
// shaded cone between the band's early and late lines) and the limit itself.
// Uses app.js's helpers (h, $, text, state); no inline script or handler.
"use strict";
const RANGES = { hour: 3600e3, shift: 8 * 3600e3, day: 86400e3, week: 7 * 86400e3 };
const COLORS = ["#4c8dff", "#2fbf71", "#f0b429", "#e5484d", "#b18cff", "#3ecbd6", "#ff8c42", "#d6d6d6"];
const BAND = { stop: "rgba(229,72,77,0.25)", alarm: "rgba(240,180,41,0.22)" };
const CONE = "rgba(177,140,255,0.22)";
const KPI_NAMES = ["oee", "availability", "performance", "quality"];
const trend = { series: [], zoom: null, plot: null, data: null, seq: 0 };

function trendRange() {
  if (trend.zoom) return trend.zoom;
  const pick = $("trend-range").value;
  if (pick === "custom") {
    const from = Date.parse($("trend-from").value), to = Date.parse($("trend-to").value);
    return Number.isFinite(from) && Number.isFinite(to) && from < to ? [from, to] : null;
  }
  const now = Date.now();
  return [now - RANGES[pick], now];
}

function trendOptions() {
  const known = Object.keys(state.quality).sort();
  const kpis = Object.keys(state.oee).sort().flatMap((s) => KPI_NAMES.map((k) => `kpi:${s}:${k}`));
  $("trend-tags").replaceChildren(...[...known, ...kpis].map((v) => h("option", { value: v })));
}

function trendChips() {
  $("trend-chosen").replaceChildren(...trend.series.map((name, i) =>
    h("span", { class: "chip", "data-testid": `trend-chip-${name}` },
      h("i", { class: "swatch", dataset: { color: String(i) } }), text(name), " ",
      h("button", { type: "button", "aria-label": "remove " + name, dataset: { trendRemove: name } }, "×"))));
  for (const swatch of $("trend-chosen").querySelectorAll(".swatch")) {
    swatch.style.background = COLORS[Number(swatch.dataset.color) % COLORS.length];
  }
}

function trendStatus(message) { $("trend-status").textContent = message; }

async function trendLoad() {
  const range = trendRange();
  if (!trend.series.length) { trendStatus("Add a tag path or a KPI to draw its trend."); return; }
  if (!range) { trendStatus("Give a custom range: from before to."); return; }
  const params = new URLSearchParams();
  trend.series.forEach((s) => params.append("series", s));
  params.set("start", String(Math.floor(range[0])));
  params.set("end", String(Math.ceil(range[1])));
  const seq = ++trend.seq;
  trendStatus("loading…");
  const r = await fetch("/api/trend?" + params.toString());
  const data = await r.json().catch(() => ({}));
  if (seq !== trend.seq) return; // a newer request is on its way
  if (!r.ok) { trendStatus("trend refused: " + text(data.error || r.statusText)); return; }
  trendDraw(data);
}

// The chart's series: the asked ones, then per forecast its trend, band edges and limit.
function chartSeries(data) {
  const ahead = (data.forecasts || []).flatMap((f) => {
    const of = `${text(f.indicator)} of ${text(f.tag)}`;
    return [
      { name: "forecast " + of, points: f.forecast, dash: [8, 4], width: 2 },
      { name: "band early " + of, points: f.early, dash: [2, 4], width: 1 },
      { name: "band late " + of, points: f.late, dash: [2, 4], width: 1 },
      { name: `limit ${text(f.plan)}`, points: f.limit_line, dash: [4, 4], width: 1, stroke: "#e5484d" },
    ];
  });
  return [...data.series, ...ahead];
}

function trendAligned(series) {
  // uPlot wants one x array: the union of every series' times, null where a series has none
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const column = new Array(xs.length).fill(null);
    for (const [t, v] of s.points) column[index.get(t)] = v;
    return column;
  });
  return [xs.map((x) => x / 1000), ...ys];
}

function drawBands(u) {
  const ctx = u.ctx, { top, height } = u.bbox;
  for (const band of trend.data.bands) {
    const x0 = u.valToPos(band.start / 1000, "x", true), x1 = u.valToPos(band.end / 1000, "x", true);
    ctx.fillStyle = BAND[band.kind] || BAND.alarm;
    ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
  }
  for (const f of trend.data.forecasts || []) {
    // the cone between the band's early and late lines, from their common start
    const corners = [f.early[0], f.early[f.early.length - 1], f.late[f.late.length - 1]];
    ctx.beginPath();
    corners.forEach(([t, v], i) => {
      const x = u.valToPos(t / 1000, "x", true), y = u.valToPos(v, "y", true);
      if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    });
    ctx.closePath();
    ctx.fillStyle = CONE;
    ctx.fill();
  }
}

function onZoom(u) {
  // a drag selected a range: fetch it again at finer buckets
  if (u.select.width < 2) return;
  const from = u.posToVal(u.select.left, "x") * 1000, to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
  u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
  trend.zoom = [from, to];
  $("trend-reset").hidden = false;
  trendLoad();
}

function trendDraw(data) {
  trend.data = data;
  const box = $("trend-chart");
  const width = Math.max(320, box.clientWidth || 800);
  const drawn = chartSeries(data);
  const series = [{}, ...drawn.map((s, i) => ({
    label: s.name, stroke: s.stroke || COLORS[i % COLORS.length], width: s.width || 1.5, spanGaps: true,
    dash: s.dash, scale: s.name.startsWith("kpi:") ? "ratio" : "y", points: { show: !s.dash && s.points.length < 60 },
  }))];
  const last = Math.max(data.end, ...drawn.flatMap((s) => s.points.map((p) => p[0])));
  const opts = {
    width, height: 320, series,
    scales: { x: { time: true, min: data.start / 1000, max: last / 1000 }, ratio: { range: [0, 1] } },
    axes: [
      { stroke: "#8da0b3", grid: { stroke: "#263444" } },
      { scale: "y", stroke: "#8da0b3", grid: { stroke: "#263444" } },
      { scale: "ratio", side: 1, stroke: "#8da0b3", grid: { show: false }, values: (u, v) => v.map((x) => (x * 100).toFixed(0) + "%") },
    ],
    cursor: { drag: { x: true, y: false, setScale: false } },
    hooks: { drawClear: [drawBands], setSelect: [onZoom] },
  };
  if (trend.plot) trend.plot.destroy();
  trend.plot = new uPlot(opts, trendAligned(drawn), box);
  const points = data.series.reduce((n, s) => n + s.points.length, 0);
  const stops = data.bands.filter((b) => b.kind === "stop").length;
  const alarms = data.bands.length - stops;
  box.dataset.points = String(points);
  box.dataset.bands = String(data.bands.length);
  box.dataset.stops = String(stops);
  box.dataset.forecasts = String((data.forecasts || []).length);
  $("trend-forecast").replaceChildren(...(data.forecasts || []).map((f) =>
    h("span", { "data-testid": `trend-forecast-${text(f.tag)}` }, `Forecast of ${text(f.indicator)} of ${text(f.tag)}: ${text(f.message)}. `)),
  data.forecast_error ? text(data.forecast_error) : "");
  trendStatus(`${points} points · ${stops} stops · ${alarms} alarms · buckets of ${data.bucket_s} s`);
}

function trendAdd() {
  const name = $("trend-series").value.trim();
  if (!name || trend.series.includes(name)) return;
  if (trend.series.length >= 8) { trendStatus("At most 8 series on one chart."); return; }
  trend.series.push(name);
  $("trend-series").value = "";
  trendChips();
  trendLoad();
}

function trendSetup() {
  $("trend-series").addEventListener("focus", trendOptions);
  $("trend-series").addEventListener("keydown", (e) => { if (e.key === "Enter") trendAdd(); });
  $("trend-add").addEventListener("click", trendAdd);
  $("trend-range").addEventListener("change", () => {
    $("trend-custom").hidden = $("trend-range").value !== "custom";
    trend.zoom = null;
    $("trend-reset").hidden = true;
    if ($("trend-range").value !== "custom") trendLoad();
  });
  $("trend-apply").addEventListener("click", () => { trend.zoom = null; trendLoad(); });
  $("trend-reset").addEventListener("click", () => { trend.zoom = null; $("trend-reset").hidden = true; trendLoad(); });
  $("trend-chosen").addEventListener("click", (e) => {
    const target = e.target.closest("[data-trend-remove]");
    if (!target) return;
    trend.series = trend.series.filter((s) => s !== target.dataset.trendRemove);
    trendChips();
    if (trend.series.length) trendLoad(); else { if (trend.plot) trend.plot.destroy(); trend.plot = null; trendStatus(""); }
  });
  window.addEventListener("resize", () => { if (trend.plot) trend.plot.setSize({ width: $("trend-chart").clientWidth, height: 320 }); });
}
trendSetup();
