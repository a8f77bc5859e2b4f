// DatasetGen monitoring dashboard: reads /api/v1/monitoring/metrics/dashboard with the
// caller's bearer token (kept in sessionStorage) and draws it with Vega-Lite.
"use strict";
const API = "/api/v1/monitoring/metrics/dashboard";
const KEY = "datasetgen.token";
const REFRESH_MS = 30000;
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function setStatus(text) { $("status").textContent = text; }
const usd = (v) => v == null ? "–" : "$" + Number(v).toFixed(v < 1 ? 4 : 2);
const pct = (v) => v == null ? "–" : (100 * v).toFixed(1) + "%";

function empty(id, text) { $(id).replaceChildren(el("div", {class: "empty"}, text)); }

function chart(id, spec, values, emptyText) {
  if (!values.length) { empty(id, emptyText || "no data yet"); return; }
  spec = Object.assign({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: "container", height: 220, data: {values},
    config: {view: {stroke: null}, axis: {labelFontSize: 11, titleFontSize: 11}},
  }, spec);
  vegaEmbed("#" + id, spec, {actions: false, renderer: "svg"})
    .catch((e) => empty(id, "chart error: " + e.message));
}

function bars(id, values, field, title) {
  chart(id, {
    mark: {type: "bar", cornerRadiusEnd: 3, color: "#1c7ed6"},
    encoding: {
      y: {field, type: "nominal", sort: "-x", title: null},
      x: {field: "cost_usd", type: "quantitative", title: title || "cost (USD)"},
      tooltip: [{field}, {field: "cost_usd", format: "$.4f"}, {field: "calls"},
                {field: "cache_hits"}],
    },
  }, values, "no LLM cost recorded");
}

function table(id, headers, rows) {
  if (!rows.length) { empty(id, "none"); return; }
  const head = el("tr", {}, ...headers.map(([h, n]) => el("th", n ? {class: "n"} : {}, h)));
  const body = rows.map((r) => el("tr", {}, ...r.map((v, i) =>
    el("td", headers[i][1] ? {class: "n"} : {}, v))));
  $(id).replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {}, ...body)));
}

function kpis(d) {
  const days = d.daily;
  const ok = days.reduce((a, x) => a + x.success, 0);
  const bad = days.reduce((a, x) => a + x.failure, 0);
  const items = [
    ["runs", ok + bad + days.reduce((a, x) => a + x.other, 0)],
    ["success rate", pct(ok + bad ? ok / (ok + bad) : null)],
    ["LLM cost", usd(d.costs.total_usd)],
    ["active runs", d.active.active_count],
    ["queued", d.active.queue_depth],
    ["datasets scored", new Set(d.quality.map((q) => q.dataset)).size],
  ];
  $("kpis").replaceChildren(...items.map(([l, v]) =>
    el("div", {class: "kpi"}, el("div", {class: "v"}, v), el("div", {class: "l"}, l))));
}

function activeRuns(a) {
  if (!a.active.length && !a.queued.length) { empty("active", "nothing running"); return; }
  const nodes = a.active.map((r) => {
    const frac = r.progress == null ? 0 : r.progress;
    const bar = el("div", {class: "bar" + (r.failed_steps.length ? " failed" : "")},
                   el("span", {style: `width:${(100 * frac).toFixed(1)}%`}));
    return el("div", {class: "run"},
      el("div", {class: "meta"},
         el("strong", {}, r.pipeline),
         el("span", {}, `${r.steps_done}/${r.steps_total} steps · ${Math.round(r.elapsed_s)} s`)),
      bar,
      el("div", {class: "meta"}, el("small", {}, r.running_steps.join(", ") || r.status)));
  });
  for (const q of a.queued) {
    nodes.push(el("div", {class: "run"}, el("div", {class: "meta"},
      el("span", {}, q.pipeline), el("span", {}, `queued ${Math.round(q.waiting_s)} s`))));
  }
  $("active").replaceChildren(...nodes);
}

function draw(d) {
  kpis(d);
  const trend = d.daily.flatMap((x) => [
    {day: x.day, outcome: "success", runs: x.success},
    {day: x.day, outcome: "failure", runs: x.failure},
  ]).filter((x) => x.runs > 0);
  const days = new Set(trend.map((x) => x.day)).size;
  chart("trend", {
    width: days < 12 ? 60 + 70 * days : "container",  // a lone day is not a wall of colour
    mark: {type: "bar", width: {band: 0.8}},
    encoding: {
      x: {field: "day", type: "ordinal", title: null},
      y: {field: "runs", type: "quantitative", stack: "zero", title: "runs"},
      color: {field: "outcome", type: "nominal", title: null,
              scale: {domain: ["success", "failure"], range: ["#2f9e44", "#e03131"]}},
      tooltip: [{field: "day"}, {field: "outcome"}, {field: "runs"}],
    },
  }, trend, "no runs yet");
  activeRuns(d.active);
  bars("cost_provider", d.costs.by_provider, "provider");
  bars("cost_model", d.costs.by_model.map((m) => ({...m, label: m.provider + "/" + m.model})),
       "label");
  bars("cost_pipeline", d.costs.by_pipeline, "pipeline");
  chart("cost_row", {
    mark: {type: "bar", cornerRadiusEnd: 3, color: "#7048e8"},
    encoding: {
      y: {field: "pipeline", type: "nominal", sort: "-x", title: null},
      x: {field: "cost_per_row_usd", type: "quantitative", title: "USD per row"},
      tooltip: [{field: "pipeline"}, {field: "cost_per_row_usd", format: "$.6f"},
                {field: "rows"}],
    },
  }, d.costs.by_pipeline.filter((p) => p.cost_per_row_usd != null), "no LLM cost per row yet");
  chart("quality", {
    mark: {type: "line", point: true, clip: true},
    encoding: {
      x: {field: "time", type: "temporal", title: null,
          axis: {format: "%b %d %H:%M", labelOverlap: true}},
      y: {field: "score", type: "quantitative", scale: {zero: false}, title: "score (0-100)"},
      color: {field: "dataset", type: "nominal", title: null},
      tooltip: [{field: "dataset"}, {field: "time", type: "temporal", format: "%Y-%m-%d %H:%M"},
                {field: "score", format: ".2f"}],
    },
  }, d.quality.map((q) => ({...q, time: q.timestamp * 1000})), "no quality scores yet");
  table("pipelines", [["pipeline"], ["runs", 1], ["success", 1], ["avg s", 1], ["rows", 1]],
        d.pipelines.map((p) => [p.pipeline, p.runs, pct(p.success_rate),
                                p.avg_duration_s == null ? "–" : p.avg_duration_s.toFixed(1),
                                p.rows.toLocaleString()]));
  table("slowest", [["step"], ["runs", 1], ["mean s", 1], ["max s", 1]],
        d.performance.slowest_steps.map((s) => [s.step, s.count, s.mean_s.toFixed(2),
                                                s.max_s.toFixed(2)]));
}

async function load() {
  const token = sessionStorage.getItem(KEY);
  if (!token) { setStatus("enter a token with monitoring.read (datasetgen token --role viewer)"); return; }
  setStatus("loading…");
  try {
    const resp = await fetch(API, {headers: {Authorization: "Bearer " + token}});
    if (!resp.ok) {
      const body = await resp.json().catch(() => ({}));
      setStatus(`HTTP ${resp.status}: ${body.detail || resp.statusText}`);
      return;
    }
    draw(await resp.json());
    setStatus("updated " + new Date().toLocaleTimeString());
  } catch (e) {
    setStatus("error: " + e.message);
  }
}

// a token may come once in the URL fragment (never sent to the server): /dashboard#token=...
if (location.hash.startsWith("#token=")) {
  sessionStorage.setItem(KEY, decodeURIComponent(location.hash.slice(7)));
  history.replaceState(null, "", location.pathname);
}
$("auth").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("token").value.trim();
  if (t) sessionStorage.setItem(KEY, t);
  $("token").value = "";
  load();
});
$("forget").addEventListener("click", () => { sessionStorage.removeItem(KEY); setStatus("token forgotten"); });
load();
setInterval(load, REFRESH_MS);
