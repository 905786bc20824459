// Plantbus dashboard, the panels that fetch their own data: alarm performance
// (/api/alarm-metrics, the alerting service's GetAlarmMetrics with each figure's target)
// and maintenance (/api/maintenance: counters against their plans, anomaly scores,
// "Maintenance done", and the proposed actions with one-click Approve and Reject). Uses
// app.js's helpers (h, $, text, bar, post, session, notify).
"use strict";
const num = (v, digits) => { const n = finite(v, null); return n === null ? "–" : n.toFixed(digits); };
const when = (ms) => (ms ? new Date(ms).toLocaleString() : "–");
const PERF_EVERY_MS = 60e3, MAINT_EVERY_MS = 15e3;

// A panel's reply: its JSON, or null once its refusal is in the panel (401: the page's
// sign-in; 403: "Not permitted" with the service's reason).
async function panelShow(r, where) {
  const data = await r.json().catch(() => ({}));
  if (r.ok) return data;
  const why = text(data.error || r.statusText);
  where.replaceChildren(h("p", { class: "refused", "data-testid": where.id + "-refused" },
    r.status === 403 ? "Not permitted: " + why : r.status === 401 ? SIGN_IN : "Unavailable: " + why));
  return null;
}

function mark(ok) {
  return h("span", { class: "pill " + (ok ? "good" : "bad") }, ok ? "meets" : "misses target");
}

function figureRow(f, testid, digits) {
  return h("tr", { class: f.ok ? "" : "miss", "data-testid": testid, "data-ok": String(f.ok) },
    h("td", {}, text(f.label)), h("td", { class: "num", "data-testid": testid + "-value" }, num(f.value, digits)),
    h("td", { class: "muted" }, text(f.target)), h("td", {}, mark(f.ok)));
}

const table = (head, rows) => h("table", {}, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))), h("tbody", {}, rows));
const HEAD = ["figure", "value", "target", ""];

function idList(title, testid, items) {
  return h("p", { "data-testid": testid }, h("b", {}, title + ": "), items.length ? items.join(", ") : "none");
}

function perfDraw(m) {
  const box = $("perf");
  box.dataset.start = new Date(m.start).toISOString();
  box.dataset.end = new Date(m.end).toISOString();
  $("perf-summary").textContent = `${m.annunciated} alarms annunciated · ${when(m.start)} – ${when(m.end)} · from ${text(m.source)}`;
  const positions = m.positions.map((p) => [
    h("h3", {}, "Operator position " + text(p.position)),
    table(HEAD, p.figures.map((f) => figureRow(f, `perf-${text(p.position)}-${f.key}`, f.key === "peak" ? 0 : 2))),
    h("p", { class: "muted" }, `${p.annunciated} alarms in ${p.periods} periods · ${p.floods} floods · peak period from ${when(p.peak_start)}`),
  ]);
  box.replaceChildren(
    ...(positions.length ? positions.flat() : [empty("No alarms annunciated in this range")]),
    h("h3", {}, "Priority distribution"),
    table(["priority", "% of alarms", "target", ""], m.priorities.map((p) => figureRow(p, `perf-priority-${p.priority}`, 1))),
    h("h3", {}, "Standing, stale, chattering, fleeting, bad actors"),
    table(HEAD, m.figures.map((f) => figureRow(f, `perf-${f.key}`, f.key === "top_load" ? 1 : 0))),
    idList("Standing", "perf-standing-list", m.standing.map((s) => `${text(s.id)} (since ${when(s.since)})`)),
    idList("Stale", "perf-stale-list", m.stale.map(text)),
    idList("Chattering", "perf-chattering-list", m.chattering.map(text)),
    idList("Fleeting", "perf-fleeting-list", m.fleeting.map((f) => `${text(f.id)} (${f.count})`)),
    h("h3", {}, "Top bad actors"),
    m.bad_actors.length ? table(["alarm", "annunciated", "% of load"], m.bad_actors.map((b) =>
      h("tr", { "data-testid": `perf-bad-${text(b.id)}` }, h("td", {}, text(b.id)), h("td", { class: "num" }, b.annunciated),
        h("td", { class: "num" }, num(b.percent_of_load, 1))))) : empty("none"));
}

let perfSeq = 0;
async function perfLoad() {
  const seq = ++perfSeq;
  const range = $("perf-range").value;
  const r = await fetch("/api/alarm-metrics?range=" + encodeURIComponent(range));
  if (seq !== perfSeq) return; // a newer range was asked for
  const data = await panelShow(r, $("perf"));
  if (seq !== perfSeq) return;
  if (data) perfDraw(data); else $("perf-summary").textContent = "";
  $("perf").dataset.range = range; // what is drawn (a test waits for it)
}

const maint = { machines: [] };

function planRow(p) {
  const condition = p.by === "condition";
  const fc = p.forecast || {};
  const reach = condition && fc.hours !== undefined
    ? `reaches ${num(fc.limit, 2)} in ${num(fc.hours, 1)} h (${num(fc.hours_early, 1)}–${fc.hours_late === undefined ? "never" : num(fc.hours_late, 1)} h)`
    : condition ? "not heading for its limit" : "";
  const where = condition ? `level ${num(p.value, 2)} of limit ${num(p.due, 2)}, warn ${num(p.warning || 0, 1)} h ahead`
    : `${num(p.value, 1)} of ${num(p.due, 0)} ${text(p.by).replace("_", " ")}, warning from ${num(p.warning_at, 0)}`;
  return h("div", { class: "plan", "data-testid": `maint-plan-${text(p.plan)}`, "data-level": text(p.level) },
    h("div", { class: "row" }, h("span", {}, h("b", {}, text(p.plan)), " ", text(p.component)),
      h("span", { class: "pill " + pick({ ok: "good", warning: "warn", due: "bad" }, p.level, "") }, text(p.level))),
    bar(finite(p.progress, 0), p.level === "ok" ? "progress" : ""),
    h("p", { class: "muted", "data-testid": `maint-plan-${text(p.plan)}-figures` }, where,
      p.remaining !== undefined ? ` · ${num(p.remaining, 1)} left` : "", reach ? " · " + reach : ""),
    h("p", { class: "muted" }, text(p.message)));
}

function usageRow(u, machine) {
  const id = `${machine}/${text(u.component)}`;
  return h("div", { class: "row", "data-testid": `maint-usage-${id}` },
    h("span", {}, h("b", {}, text(u.component)), " ",
      h("span", { "data-testid": `maint-usage-${id}-figures` },
        `${num(u.running_hours, 2)} h running · ${finite(u.cycles, 0)} cycles · ${finite(u.starts, 0)} starts · ${finite(u.stops, 0)} stops`),
      h("span", { class: "muted" }, ` since ${when(Date.parse(u.since))}` + (u.last_note ? ` · last: ${text(u.last_note)} by ${text(u.last_by)}` : ""))),
    session && h("button", { type: "button", "data-testid": `maint-done-${id}`, dataset: { maintMachine: machine, maintComponent: text(u.component) } }, "Maintenance done"));
}

function windowRow(w) {
  const scored = w.score !== undefined;
  const hot = scored && Number(w.score) >= Number(w.threshold);
  return h("div", { class: "row", "data-testid": `maint-score-${text(w.tag)}` },
    h("span", {}, text(w.tag.split("/").pop()), " ", h("span", { class: "muted" }, `${text(w.state)} · rms ${num(w.rms, 3)} · mean ${num(w.mean, 3)}`)),
    h("span", { class: "pill " + (!scored ? "" : hot ? "bad" : "good") },
      scored ? `anomaly score ${num(w.score, 2)} / ${num(w.threshold, 1)}` : "learning baseline"));
}

function proposalRow(p) {
  const id = text(p.id);
  const act = (label, action) => h("button", { type: "button", "data-testid": `maint-${action}-${id}`,
    dataset: { proposal: id, proposalAction: action } }, label);
  return h("div", { class: "row", "data-testid": `maint-proposal-${id}` },
    h("span", {}, h("b", {}, `${text(p.tag).split("/").pop()} → ${num(p.value, 2)}`), " ",
      h("span", { class: "muted" }, `${text(p.tag)} · ${text(p.reason)} · plan ${text(p.plan)} · proposed ${when(Date.parse(p.created))}`)),
    session && h("span", {}, act("Approve", "approve"), " ", act("Reject", "reject")));
}

function maintDraw() {
  const pickMachine = $("maint-machine");
  const names = maint.machines.map((m) => m.machine);
  const chosen = names.includes(pickMachine.value) ? pickMachine.value : names[0];
  pickMachine.replaceChildren(...names.map((n) => h("option", { value: n, selected: n === chosen }, n)));
  const m = maint.machines.find((x) => x.machine === chosen);
  if (!m) { $("maint").replaceChildren(empty("No machine has counters or monitors")); return; }
  $("maint").replaceChildren(
    h("h3", {}, "Proposed actions"), ...(m.proposals.length ? m.proposals.map(proposalRow) : [empty("none pending")]),
    h("h3", {}, "Usage counters"), ...(m.usage.length ? m.usage.map((u) => usageRow(u, m.machine)) : [empty("none")]),
    h("h3", {}, "Plans"), ...(m.plans.length ? m.plans.map(planRow) : [empty("none")]),
    h("h3", {}, "Condition and anomaly score"), ...(m.windows.length ? m.windows.map(windowRow) : [empty("no window yet")]));
}

async function maintLoad() {
  const data = await panelShow(await fetch("/api/maintenance"), $("maint"));
  if (!data) return;
  maint.machines = data.machines;
  maintDraw();
}

async function maintDone(machine, component) {
  const note = prompt(`Maintenance done on ${machine} ${component}: what was done?`);
  if (!note || !note.trim()) return;
  const before = await post("/api/maintenance/done", { machine, component, note }, "maintenance done");
  $("maint-status").textContent = before
    ? `recorded on ${machine} ${component}: counters were ${num(before.running_hours, 2)} h, ${finite(before.cycles, 0)} cycles`
    : $("notice").textContent;
  if (before) maintLoad();
}

// Approve: one click, the proposed value is written as the signed-in user (their write
// policy decides). Reject: asks why.
async function maintDecide(id, action) {
  const body = action === "reject" ? { reason: prompt(`Reject ${id}: why?`) } : {};
  if (action === "reject" && !(body.reason || "").trim()) return;
  const p = await post(`/api/maintenance/proposals/${encodeURIComponent(id)}/${action}`, body, `${action} ${id}`);
  $("maint-status").textContent = p
    ? `${text(p.state).replace("PROPOSAL_STATE_", "").toLowerCase()} ${id}: ${text(p.tag)} = ${num(p.value, 2)} by ${text(p.decided_by)}${p.note ? " · " + text(p.note) : ""}`
    : $("notice").textContent;
  if (p) maintLoad();
}

function panelsSetup() {
  $("perf-range").addEventListener("change", perfLoad);
  $("maint-machine").addEventListener("change", maintDraw);
  $("maint").addEventListener("click", (e) => {
    const target = e.target.closest("[data-maint-machine]");
    if (target) maintDone(target.dataset.maintMachine, target.dataset.maintComponent);
    const decide = e.target.closest("[data-proposal]");
    if (decide) maintDecide(decide.dataset.proposal, decide.dataset.proposalAction);
  });
  document.addEventListener("plantbus:ready", () => {
    perfLoad(); maintLoad();
    setInterval(perfLoad, PERF_EVERY_MS); setInterval(maintLoad, MAINT_EVERY_MS);
  });
}
panelsSetup();
