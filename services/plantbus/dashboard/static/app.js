// Plantbus dashboard: initial state from /api/state, live updates over SSE, no build step.
// Whatever comes from the bus reaches the page as text (text nodes, attribute values,
// dataset), never as HTML, and every button goes through one delegated listener: there
// are no inline handlers, so the Content-Security-Policy forbids inline script outright.
"use strict";
const maps = () => Object.create(null); // keys come from the bus: no prototype to pollute
const state = { oee: maps(), trends: maps(), timeline: maps(), alarms: maps(), downtimes: maps(),
                workorders: maps(), services: maps(), quality: maps() };
let session = null; // {user, csrf} once signed in
let publicRead = false;
const SIGN_IN = "Not signed in: open a login link (plantbus dashboard login prints one).";

const $ = (id) => document.getElementById(id);
const text = (v) => (v === undefined || v === null ? "" : String(v));
const pick = (table, key, fallback) => (Object.hasOwn(table, key) ? table[key] : fallback);
const finite = (v, fallback) => (v !== null && v !== "" && Number.isFinite(Number(v)) ? Number(v) : fallback);
const pct = (v) => { const n = finite(v, null); return n === null ? "–" : (n * 100).toFixed(1) + "%"; };
const REASONS = ["tool_breakage", "jam", "material_shortage", "no_operator", "quality_check"];
const UNACKED = ["unacknowledged", "returned_unacknowledged", "latched_unacknowledged"];
const STATE_COLOR = { running: "#2fbf71", stopped: "#e5484d", planned_stop: "#4c8dff" };
const STATE_CLASS = { running: "running", stopped: "stopped", planned_stop: "planned_stop" };

function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, String(value)); // names are ours; values are only text
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : String(c))));
  return node;
}
const h = (tag, attrs = {}, ...children) => fill(document.createElement(tag), attrs, children);
const svg = (tag, attrs = {}, ...children) =>
  fill(document.createElementNS("http://www.w3.org/2000/svg", tag), attrs, children);

function bar(fraction, extra) {
  const fillBar = h("i");
  fillBar.style.width = (Math.max(0, Math.min(1, fraction || 0)) * 100).toFixed(1) + "%";
  return h("div", { class: "bar" + (extra ? " " + extra : "") }, fillBar);
}

let scheduled = false;
function render() { if (!scheduled) { scheduled = true; requestAnimationFrame(draw); } }

function sparkline(points) {
  const box = { class: "spark", viewBox: "0 0 100 24", preserveAspectRatio: "none", "aria-label": "OEE trend" };
  if (!points || points.length < 2) return svg("svg", box);
  const t0 = points[0][0], t1 = points[points.length - 1][0] || t0 + 1;
  const d = points.map(([t, v], i) => `${i ? "L" : "M"}${((t - t0) / (t1 - t0 || 1) * 100).toFixed(1)},${(24 - Math.min(1, v) * 22 - 1).toFixed(1)}`).join("");
  return svg("svg", box, svg("path", { d, fill: "none", stroke: "#2fbf71", "stroke-width": "1.5" }));
}

function timeline(items) {
  const now = Date.now() / 1000, span = 1800;
  const rects = (items || []).map((seg, i) => {
    const start = Math.max(seg.t, now - span), end = i + 1 < items.length ? items[i + 1].t : now;
    if (end <= now - span) return null;
    const x0 = (start - (now - span)) / span * 100, w = Math.max(0.5, (end - start) / span * 100);
    return svg("rect", { x: x0.toFixed(2), y: 0, width: w.toFixed(2), height: 10, fill: pick(STATE_COLOR, seg.state, "#8da0b3") },
      svg("title", {}, `${text(seg.state)} ${text(seg.reason)}`));
  });
  return svg("svg", { class: "tl", viewBox: "0 0 100 10", preserveAspectRatio: "none", "aria-label": "state, last 30 minutes" }, rects);
}

function kpis(s, big) {
  return h("div", { class: big ? "kpis big" : "kpis" },
    [["availability", "A"], ["performance", "P"], ["quality", "Q"], ["oee", "OEE"]].map(([k, label]) =>
      h("div", { class: "kpi" }, h("b", { "data-testid": `${label.toLowerCase()}-${text(s.scope)}` }, pct(s[k])), h("span", {}, label))));
}

const empty = (message) => h("p", { class: "muted" }, message);
const button = (label, action, id, testid) =>
  h("button", { type: "button", "data-testid": testid, dataset: { kind: "alarms", action, id } }, label);

function lineCard(scope) {
  const s = state.oee[scope];
  return h("article", { class: "card" }, h("h2", {}, "Line " + scope), kpis(s, true),
    h("p", { class: "muted" }, `${text(s.good_count || 0)} good of ${text(s.total_count || 0)} parts · down ${(finite(s.downtime_s, 0) / 60).toFixed(1)} min`),
    sparkline(state.trends[scope]));
}

function machineCard(scope) {
  const s = state.oee[scope];
  const st = text(s.state || "unknown");
  return h("article", { class: "card" },
    h("h2", {}, scope.split("/").pop(), " ",
      h("span", { class: "pill " + pick(STATE_CLASS, st, ""), "data-testid": `state-${scope}` },
        st.replace("_", " ") + (s.reason ? " · " + text(s.reason) : ""))),
    kpis(s, false), h("p", { class: "muted" }, `${text(s.good_count || 0)} good / ${text(s.total_count || 0)}`),
    timeline(state.timeline[scope]));
}

function alarmRow(a) {
  const id = text(a.id);
  const cls = ["unacknowledged", "latched_unacknowledged"].includes(a.state) ? "bad"
    : ["acknowledged", "latched_acknowledged"].includes(a.state) ? "warn" : "";
  const buttons = !session ? [] : [
    UNACKED.includes(a.state) && button("Ack", "ack", id, `ack-${id}`),
    a.state === "latched_acknowledged" && button("Reset", "reset", id, `reset-${id}`),
    a.state !== "shelved" && a.state !== "out_of_service" && button("Shelve", "shelve", id, `shelve-${id}`),
    a.state === "out_of_service" ? button("Return to service", "return_to_service", id, `return-${id}`)
      : button("Out of service", "out_of_service", id, `oos-${id}`),
  ];
  return h("div", { class: "row", "data-testid": `alarm-${id}` },
    h("div", {}, h("span", { class: "pill " + cls, "data-testid": `alarm-state-${id}` }, text(a.state)), " ",
      h("b", {}, text(a.priority)), " ", text(a.message || id), h("div", { class: "muted" }, text(a.note))),
    h("div", {}, buttons));
}

function lineStopRow(d) {
  const others = Object.entries(d.line_states || {}).filter(([, s]) => s !== "root_cause")
    .map(([m, s]) => `${text(m)} ${text(s)}`).join(", ");
  return h("div", { class: "row", "data-testid": `line-stop-${text(d.id)}` },
    h("span", {}, `${text(d.machine)} stopped by ${text(d.root_cause_machine.split("/").pop())} · ${text(d.reason || "unspecified")} `,
      h("span", { class: "muted" }, (d.end ? "ended" : "ongoing") + (others ? " · " + others : ""))));
}

function downtimeRow(d) {
  if (d.root_cause_machine) return lineStopRow(d);
  const classify = session && h("select", { "aria-label": "classify", "data-testid": `classify-${text(d.id)}`, dataset: { kind: "downtimes", action: "classify", id: text(d.id) } },
    h("option", { value: "" }, "classify…"), REASONS.map((r) => h("option", {}, r)));
  return h("div", { class: "row" },
    h("span", {}, `${text(d.machine)} · ${text(d.reason || "unspecified")} `,
      h("span", { class: "muted" }, (d.end ? "ended" : "ongoing") + (d.classified_by ? " · by " + text(d.classified_by) : ""))),
    classify);
}

function workorderRows(w) {
  const done = Number(w.produced || w.good_quantity || 0), plan = Number(w.quantity || 0);
  return [h("div", { class: "row" },
    h("span", {}, `${text(w.number || w.erp_id)} · ${text(w.product_name || w.product_code)} `,
      h("span", { class: "muted" }, `${text(w.status)} ${text(w.machine)}`)),
    h("span", {}, `${done}/${plan}`)),
  bar(plan ? done / plan : 0, "progress")];
}

function draw() {
  scheduled = false;
  const scopes = Object.keys(state.oee).sort();
  const lines = scopes.filter((s) => s.split("/").length === 3);
  const machines = scopes.filter((s) => s.split("/").length === 4);
  const line = lines.length ? state.oee[lines[0]] : {};
  $("shift").textContent = line.shift ? "shift " + text(line.shift) : "";
  $("lines").replaceChildren(...lines.map(lineCard));
  $("machines").replaceChildren(...machines.map(machineCard));
  const alarms = Object.values(state.alarms).sort((a, b) => (a.time < b.time ? 1 : -1));
  $("alarms").replaceChildren(...(alarms.length ? alarms.map(alarmRow) : [empty("No active alarms")]));
  const reasons = Object.entries(line.downtime_by_reason || {}).map(([r, s]) => [r, finite(s, 0)])
    .filter(([, s]) => s >= 1).sort((a, b) => b[1] - a[1]);
  const max = reasons.length ? reasons[0][1] : 1;
  $("pareto").replaceChildren(...(reasons.length ? reasons.flatMap(([r, s]) => [
    h("div", { class: "row" }, h("span", {}, r), h("span", { class: "muted" }, `${(s / 60).toFixed(1)} min`)),
    bar(s / max)]) : [empty("No downtime this shift")]));
  const stops = Object.values(state.downtimes).slice(-8).reverse();
  $("downtimes").replaceChildren(...(stops.length ? stops.map(downtimeRow) : [empty("No stops yet")]));
  const orders = Object.values(state.workorders);
  $("workorders").replaceChildren(...(orders.length ? orders.flatMap(workorderRows) : [empty("No work orders")]));
  const bad = Object.entries(state.quality).filter(([, q]) => q.quality !== "QUALITY_GOOD");
  const services = Object.values(state.services).sort((a, b) => (a.service > b.service ? 1 : -1));
  $("health").replaceChildren(
    ...services.map((s) => h("div", { class: "row" },
      h("span", {}, text(s.service) + " ", h("span", { class: "muted" }, text(s.instance))),
      h("span", { class: "pill " + (s.health === "HEALTH_SERVING" ? "good" : "bad") }, text(s.health).replace("HEALTH_", "").toLowerCase()))),
    h("p", {}, `${Object.keys(state.quality).length} tags, `, h("b", { "data-testid": "bad-tags" }, bad.length), " with bad quality"),
    ...bad.slice(0, 10).map(([p, q]) => h("div", { class: "row" }, h("span", {}, p), h("span", { class: "muted" }, text(q.reason)))));
}

function notify(message) {
  $("notice").textContent = message;
  $("notice").hidden = !message;
}

function showSession() {
  $("who").textContent = session ? "signed in as " + session.user : publicRead ? "view only" : "";
  $("signout").hidden = !session;
  render();
}

// An action: POST with the session's CSRF token; the reply's JSON, or null once the
// refusal (named `what`) is in the notice.
async function post(path, body, what) {
  if (!session) { notify(SIGN_IN); return null; }
  const r = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json", "X-Plantbus-CSRF": session.csrf },
    body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) { session = null; showSession(); }
  if (!r.ok) { notify(`${what} refused: ${data.error || r.statusText}`); return null; }
  notify("");
  return data;
}

async function act(kind, id, action, body) {
  const data = await post(`/api/${kind}/${encodeURIComponent(id)}/${action}`, body, `${kind} ${action}`);
  if (data && kind === "alarms") { state.alarms[data.id] = data; render(); }
}

async function signOut() {
  await fetch("/api/session", { method: "DELETE", headers: { "X-Plantbus-CSRF": session.csrf } });
  session = null;
  location.replace("/");
}

function onAction(event) {
  const target = event.target.closest("[data-action]");
  if (!target || (event.type === "change") !== (target.tagName === "SELECT")) return;
  const { kind, id, action } = target.dataset;
  if (kind === "session") signOut();
  else if (kind === "downtimes" && target.value) act(kind, id, action, { reason: target.value });
  else if (action === "ack") act(kind, id, action, {});
  else if (action === "out_of_service") {
    const why = prompt("Out of service: the permit or work order?");
    const hours = why ? Number(prompt("For how many hours?", "8")) : 0;
    if (why && hours > 0) act(kind, id, action, { comment: why, hours });
  }
  else if (action === "reset" || action === "shelve" || action === "return_to_service") {
    const why = prompt({ reset: "Why reset?", shelve: "Why shelve for 60 min?", return_to_service: "Why return to service?" }[action]);
    if (why !== null) act(kind, id, action, action === "shelve" ? { minutes: 60, comment: why } : { comment: why });
  }
}
document.addEventListener("click", onAction);
document.addEventListener("change", onAction);

const apply = {
  oee: (s) => {
    state.oee[s.scope] = s;
    const oee = finite(s.oee, null); // protobuf's JSON spells NaN and infinity as text
    if (oee !== null) (state.trends[s.scope] = state.trends[s.scope] || []).push([Date.now() / 1000, oee]);
    if (s.state) {
      const tl = (state.timeline[s.scope] = state.timeline[s.scope] || []);
      const last = tl[tl.length - 1];
      if (!last || last.state !== s.state || last.reason !== (s.reason || "")) tl.push({ t: Date.now() / 1000, state: s.state, reason: s.reason || "" });
    }
  },
  alarm: (a) => { if (a.state === "normal") delete state.alarms[a.id]; else state.alarms[a.id] = a; },
  downtime: (d) => { state.downtimes[d.id] = Object.assign(state.downtimes[d.id] || maps(), d); },
  workorder: (w) => { const k = w.erp_id || w.number; state.workorders[k] = Object.assign(state.workorders[k] || maps(), w); },
  service: (h) => { state.services[h.service + "." + h.instance] = h; },
  quality: (changed) => { changed.forEach((q) => { state.quality[q.path] = q; }); }, // coalesced, a list
};

async function signIn() {
  const code = location.hash.slice(1);
  history.replaceState(null, "", "/"); // the code leaves the address bar and the history now
  if (!code) return;
  const r = await fetch("/api/session", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code }) });
  if (!r.ok) notify((await r.json().catch(() => ({}))).error || r.statusText);
}

async function start() {
  if (location.pathname === "/login") await signIn();
  const who = await fetch("/api/session");
  const me = await who.json();
  publicRead = Boolean(me.public_read);
  session = who.ok ? me : null;
  showSession();
  if (!session && !publicRead) { if ($("notice").hidden) notify(SIGN_IN); return; }
  const initial = await (await fetch("/api/state")).json();
  Object.assign(state.oee, initial.oee); Object.assign(state.trends, initial.trends);
  Object.assign(state.timeline, initial.timeline); Object.assign(state.quality, initial.quality);
  initial.alarms.forEach(apply.alarm); initial.downtimes.forEach(apply.downtime);
  initial.workorders.forEach(apply.workorder); initial.services.forEach(apply.service);
  render();
  document.dispatchEvent(new Event("plantbus:ready")); // the panels that fetch their own data
  const es = new EventSource("/api/events");
  es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "pill good"; };
  es.onerror = () => {
    $("conn").textContent = es.readyState === EventSource.CLOSED ? "signed out" : "reconnecting";
    $("conn").className = "pill bad";
    if (es.readyState === EventSource.CLOSED) { session = null; showSession(); notify(SIGN_IN); }
  };
  Object.keys(apply).forEach((kind) => es.addEventListener(kind, (e) => { apply[kind](JSON.parse(e.data)); render(); }));
  setInterval(render, 5000); // keep timelines moving between events
}
start();
