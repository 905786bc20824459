// Plantbus dashboard: initial state from /api/state, live updates over SSE, no build step.
"use strict";
const state = { oee: {}, trends: {}, timeline: {}, alarms: {}, downtimes: {}, workorders: {},
                services: {}, quality: {} };
let token = new URLSearchParams(location.search).get("token") || localStorage.getItem("plantbus-token") || "";
if (token) localStorage.setItem("plantbus-token", token);

const $ = (id) => document.getElementById(id);
const pct = (v) => (v === undefined || v === null ? "–" : (v * 100).toFixed(1) + "%");
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
let scheduled = false;
function render() { if (!scheduled) { scheduled = true; requestAnimationFrame(draw); } }

function sparkline(points) {
  if (!points || points.length < 2) return "<svg class=\"spark\" viewBox=\"0 0 100 24\"></svg>";
  const t0 = points[0][0], t1 = points[points.length - 1][0] || t0 + 1;
  const d = points.map(([t, v], i) => `${i ? "L" : "M"}${((t - t0) / (t1 - t0 || 1) * 100).toFixed(1)},${(24 - Math.min(1, v) * 22 - 1).toFixed(1)}`).join("");
  return `<svg class="spark" viewBox="0 0 100 24" preserveAspectRatio="none" aria-label="OEE trend"><path d="${d}" fill="none" stroke="#2fbf71" stroke-width="1.5"/></svg>`;
}

function timeline(items) {
  const now = Date.now() / 1000, span = 1800;
  let x = 0, out = "";
  (items || []).forEach((seg, i) => {
    const start = Math.max(seg.t, now - span), end = i + 1 < items.length ? items[i + 1].t : now;
    if (end <= now - span) return;
    const x0 = (start - (now - span)) / span * 100, w = Math.max(0.5, (end - start) / span * 100);
    const color = { running: "#2fbf71", stopped: "#e5484d", planned_stop: "#4c8dff" }[seg.state] || "#8da0b3";
    out += `<rect x="${x0.toFixed(2)}" y="0" width="${w.toFixed(2)}" height="10" fill="${color}"><title>${esc(seg.state)} ${esc(seg.reason)}</title></rect>`;
    x = x0 + w;
  });
  return `<svg class="tl" viewBox="0 0 100 10" preserveAspectRatio="none" aria-label="state, last 30 minutes">${out}</svg>`;
}

function kpis(s, big) {
  return `<div class="kpis ${big ? "big" : ""}">` +
    [["availability", "A"], ["performance", "P"], ["quality", "Q"], ["oee", "OEE"]]
      .map(([k, label]) => `<div class="kpi"><b data-testid="${label.toLowerCase()}-${esc(s.scope)}">${pct(s[k])}</b><span>${label}</span></div>`).join("") + "</div>";
}

function draw() {
  scheduled = false;
  const scopes = Object.keys(state.oee).sort();
  const lines = scopes.filter((s) => s.split("/").length === 3);
  const machines = scopes.filter((s) => s.split("/").length === 4);
  $("lines").innerHTML = lines.map((scope) => {
    const s = state.oee[scope];
    $("shift").textContent = s.shift ? "shift " + s.shift : "";
    return `<article class="card"><h2>Line ${esc(scope)}</h2>${kpis(s, true)}
      <p class="muted">${s.good_count || 0} good of ${s.total_count || 0} parts · down ${((s.downtime_s || 0) / 60).toFixed(1)} min</p>
      ${sparkline(state.trends[scope])}</article>`;
  }).join("");
  $("machines").innerHTML = machines.map((scope) => {
    const s = state.oee[scope];
    const st = s.state || "unknown";
    return `<article class="card"><h2>${esc(scope.split("/").pop())}
      <span class="pill ${esc(st)}" data-testid="state-${esc(scope)}">${esc(st.replace("_", " "))}${s.reason ? " · " + esc(s.reason) : ""}</span></h2>
      ${kpis(s, false)}<p class="muted">${s.good_count || 0} good / ${s.total_count || 0}</p>${timeline(state.timeline[scope])}</article>`;
  }).join("");
  const alarms = Object.values(state.alarms).sort((a, b) => (a.time < b.time ? 1 : -1));
  $("alarms").innerHTML = alarms.length ? alarms.map((a) => `
    <div class="row" data-testid="alarm-${esc(a.id)}">
      <div><span class="pill ${["unacknowledged", "latched_unacknowledged"].includes(a.state) ? "bad" : ["acknowledged", "latched_acknowledged"].includes(a.state) ? "warn" : ""}" data-testid="alarm-state-${esc(a.id)}">${esc(a.state)}</span>
        <b>${esc(a.priority)}</b> ${esc(a.message || a.id)}<div class="muted">${esc(a.note || "")}</div></div>
      <div>${["unacknowledged", "returned_unacknowledged", "latched_unacknowledged"].includes(a.state) ? `<button data-testid="ack-${esc(a.id)}" onclick="act('alarms','${esc(a.id)}','ack',{})">Ack</button>` : ""}
        ${a.state === "latched_acknowledged" ? `<button data-testid="reset-${esc(a.id)}" onclick="act('alarms','${esc(a.id)}','reset',{comment: prompt('Why reset?') || ''})">Reset</button>` : ""}
        ${a.state !== "shelved" ? `<button onclick="act('alarms','${esc(a.id)}','shelve',{minutes:60, comment: prompt('Why shelve for 60 min?') || ''})">Shelve</button>` : ""}</div>
    </div>`).join("") : '<p class="muted">No active alarms</p>';
  const line = lines.length ? state.oee[lines[0]] : {};
  const reasons = Object.entries(line.downtime_by_reason || {}).filter(([, s]) => s >= 1).sort((a, b) => b[1] - a[1]);
  const max = reasons.length ? reasons[0][1] : 1;
  $("pareto").innerHTML = reasons.map(([r, s]) => `<div class="row"><span>${esc(r)}</span><span class="muted">${(s / 60).toFixed(1)} min</span></div>
    <div class="bar"><i style="width:${(s / max * 100).toFixed(1)}%"></i></div>`).join("") || '<p class="muted">No downtime this shift</p>';
  $("downtimes").innerHTML = Object.values(state.downtimes).slice(-8).reverse().map((d) => `
    <div class="row"><span>${esc(d.machine)} · ${esc(d.reason || "unspecified")} <span class="muted">${d.end ? "ended" : "ongoing"}${d.classified_by ? " · by " + esc(d.classified_by) : ""}</span></span>
      <select aria-label="classify" onchange="act('downtimes','${esc(d.id)}','classify',{reason:this.value})">
        <option value="">classify…</option>${["tool_breakage", "jam", "material_shortage", "no_operator", "quality_check"].map((r) => `<option>${r}</option>`).join("")}
      </select></div>`).join("") || '<p class="muted">No stops yet</p>';
  $("workorders").innerHTML = Object.values(state.workorders).map((w) => {
    const done = Number(w.produced || w.good_quantity || 0), plan = Number(w.quantity || 0);
    return `<div class="row"><span>${esc(w.number || w.erp_id)} · ${esc(w.product_name || w.product_code || "")} <span class="muted">${esc(w.status || "")} ${esc(w.machine || "")}</span></span><span>${done}/${plan}</span></div>
      <div class="bar progress"><i style="width:${plan ? Math.min(100, done / plan * 100).toFixed(1) : 0}%"></i></div>`;
  }).join("") || '<p class="muted">No work orders</p>';
  const bad = Object.entries(state.quality).filter(([, q]) => q.quality !== "QUALITY_GOOD");
  $("health").innerHTML = Object.values(state.services).sort((a, b) => (a.service > b.service ? 1 : -1)).map((h) =>
    `<div class="row"><span>${esc(h.service)} <span class="muted">${esc(h.instance)}</span></span><span class="pill ${h.health === "HEALTH_SERVING" ? "good" : "bad"}">${esc((h.health || "").replace("HEALTH_", "").toLowerCase())}</span></div>`).join("") +
    `<p>${Object.keys(state.quality).length} tags, <b data-testid="bad-tags">${bad.length}</b> with bad quality</p>` +
    bad.slice(0, 10).map(([p, q]) => `<div class="row"><span>${esc(p)}</span><span class="muted">${esc(q.reason)}</span></div>`).join("");
}

async function act(kind, id, action, body) {
  if (!token) login();
  const r = await fetch(`/api/${kind}/${encodeURIComponent(id)}/${action}`, {
    method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
    body: JSON.stringify(body) });
  const data = await r.json();
  if (r.status === 401) { token = ""; localStorage.removeItem("plantbus-token"); alert(data.error); return; }
  if (!r.ok) { alert(data.error || r.statusText); return; }
  if (kind === "alarms") { state.alarms[data.id] = data; render(); }
}

function login() {
  token = prompt("Operator token (printed by plantbus up)") || "";
  localStorage.setItem("plantbus-token", token);
}
$("login").onclick = login;

const apply = {
  oee: (s) => {
    state.oee[s.scope] = s;
    if (s.oee !== undefined) (state.trends[s.scope] = state.trends[s.scope] || []).push([Date.now() / 1000, s.oee]);
    if (s.state) {
      const tl = (state.timeline[s.scope] = state.timeline[s.scope] || []);
      const last = tl[tl.length - 1];
      if (!last || last.state !== s.state || last.reason !== (s.reason || "")) tl.push({ t: Date.now() / 1000, state: s.state, reason: s.reason || "" });
    }
  },
  alarm: (a) => { if (a.state === "normal") delete state.alarms[a.id]; else state.alarms[a.id] = a; },
  downtime: (d) => { state.downtimes[d.id] = Object.assign(state.downtimes[d.id] || {}, d); },
  workorder: (w) => { const k = w.erp_id || w.number; state.workorders[k] = Object.assign(state.workorders[k] || {}, w); },
  service: (h) => { state.services[h.service + "." + h.instance] = h; },
  quality: (q) => { state.quality[q.path] = q; },
};

async function start() {
  const auth = token ? "?token=" + encodeURIComponent(token) : "";
  const initial = await (await fetch("/api/state" + auth)).json();
  Object.assign(state.oee, initial.oee); Object.assign(state.trends, initial.trends);
  Object.assign(state.timeline, initial.timeline); Object.assign(state.quality, initial.quality);
  initial.alarms.forEach(apply.alarm); initial.downtimes.forEach(apply.downtime);
  initial.workorders.forEach(apply.workorder); initial.services.forEach(apply.service);
  render();
  const es = new EventSource("/api/events" + auth);
  es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "pill good"; };
  es.onerror = () => { $("conn").textContent = "reconnecting"; $("conn").className = "pill bad"; };
  Object.keys(apply).forEach((kind) => es.addEventListener(kind, (e) => { apply[kind](JSON.parse(e.data)); render(); }));
  setInterval(render, 5000); // keep timelines moving between events
}
start();
