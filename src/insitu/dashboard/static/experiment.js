// One experiment: entities, timeline, stores, charts and log tails, kept live by
// server-sent events. In a static report (window.INSITU_SNAPSHOT set) it renders once.
"use strict";

const REPORT = window.INSITU_SNAPSHOT || null;
const KEY = REPORT ? null : decodeURIComponent(location.pathname.split("/").pop());
const API = KEY == null ? null : `/api/experiments/${encodeURIComponent(KEY)}`;
const charts = new Map();   // chart key -> {plot, box}
const PALETTE = ["#2563eb", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#475569", "#65a30d"];  // green and red mean outcomes
let snap = null;
let log = { entity: null, stream: "out", offset: -1, busy: false };

function skeleton() {
  document.getElementById("page").innerHTML = `
    <section id="head"></section>
    <div id="problem"></div>
    <div class="counts" id="counts"></div>
    <div id="body">
    <h2>Entities</h2>
    <div class="table-wrap"><table id="entities"><thead><tr>
      <th>Name</th><th>Type</th><th>State</th><th>Host</th><th>Job</th><th>Started</th>
      <th class="num">Elapsed</th><th class="num">Return code</th><th class="num">Runs</th>${REPORT ? "" : "<th>Logs</th>"}
    </tr></thead><tbody></tbody></table></div>
    <h2>Timeline</h2>
    <div class="gantt-wrap" id="timeline"></div>
    <h2>Stores</h2>
    <div class="stores" id="stores"></div>
    <h2>Charts</h2>
    <div class="charts" id="charts"></div>
    <section id="logs-section"${REPORT ? ' hidden' : ''}>
      <h2>Logs</h2>
      <div class="logs">
        <select id="log-entity" aria-label="entity"></select>
        <select id="log-stream" aria-label="stream"><option value="out">stdout</option><option value="err">stderr</option></select>
        <label><input type="checkbox" id="log-follow" checked> follow</label>
        <span class="note" id="log-path"></span>
      </div>
      <pre class="log" id="log"></pre>
    </section>
    </div>`;
  document.getElementById("log-entity").addEventListener("change", (e) => switchLog(e.target.value));
  document.getElementById("log-stream").addEventListener("change", (e) => {
    log.stream = e.target.value; switchLog(log.entity);
  });
}

function render(s) {
  snap = s;
  document.title = `${s.name} · insitu`;
  document.getElementById("where").textContent = s.path;
  const elapsed = s.began ? (s.state === "running" ? s.now : s.last) - s.began : null;
  const unreadable = Boolean(s.error && !s.entities.length);
  document.getElementById("head").innerHTML = `
    <h1>${esc(s.name)} ${badge(unreadable ? "error" : s.state)}</h1>
    <div class="meta"${unreadable ? " hidden" : ""}>
      <span>launcher <b>${esc(s.launcher || "–")}</b></span>
      <span>driver ${esc(s.host || "–")}${s.pid ? ` (pid ${esc(s.pid)})` : ""}</span>
      <span>started ${fmtClock(s.began)}</span><span>elapsed ${fmtDuration(elapsed)}</span>
      ${s.runs > 1 ? `<span>run ${s.runs} of ${s.runs} in this record</span>` : ""}
      ${s.period ? `<span>telemetry every ${s.period} s</span>` : ""}
    </div>`;
  const problems = [];
  if (s.error) problems.push(s.error);
  if (s.skipped) problems.push(`${s.skipped} line(s) of the launch record were not valid and were skipped`);
  if (s.telemetry_skipped) problems.push(`${s.telemetry_skipped} telemetry line(s) were not valid and were skipped`);
  if (s.state === "driver gone") problems.push("The driver process is gone: the states below are the last it recorded.");
  document.getElementById("problem").innerHTML = problems.map((p) => `<div class="alert">${esc(p)}</div>`).join("");
  document.getElementById("counts").innerHTML = Object.entries(s.counts || {}).map(([state, n]) =>
    `<div class="count"><b>${n}</b><span>${esc(state)}</span></div>`).join("");
  // An experiment that cannot be read shows only why (empty tables would only confuse).
  document.getElementById("body").hidden = Boolean(s.error && !s.entities.length);
  renderEntities(s);
  renderStores(s);
  renderCharts(s.charts || []);
  updateLogChoices(s);
}

function renderEntities(s) {
  const body = document.querySelector("#entities tbody");
  if (!s.entities.length) {
    const none = s.state === "running" ? "Nothing launched yet." : "No job in this run.";
    body.innerHTML = `<tr><td colspan="10" class="note">${none}</td></tr>`;
    return;
  }
  body.innerHTML = s.entities.map((e) => {
    const end = e.ended != null ? e.ended : s.now;
    const begin = e.started != null ? e.started : e.submitted;
    const links = KEY == null ? "" : ["out", "err"].filter((k) => e[k]).map((k) =>
      `<a href="#logs-section" class="log-link" data-entity="${esc(e.name)}" data-stream="${k}">${k}</a>`).join("");
    return `<tr data-entity="${esc(e.name)}">
      <td><b>${esc(e.name)}</b></td><td>${esc(e.type)}</td><td class="state">${badge(e.state)}</td>
      <td>${esc(e.host || "–")}</td><td>${esc(e.job_id)}</td><td>${fmtClock(e.started)}</td>
      <td class="num">${fmtDuration(end - begin)}</td>
      <td class="num">${e.returncode == null ? "–" : esc(e.returncode)}</td>
      <td class="num">${e.runs}</td>${REPORT ? "" : `<td>${links}</td>`}</tr>`;
  }).join("");
  body.querySelectorAll("a.log-link").forEach((a) => a.addEventListener("click", () => {
    document.getElementById("log-stream").value = a.dataset.stream;
    log.stream = a.dataset.stream;
    document.getElementById("log-entity").value = a.dataset.entity;
    switchLog(a.dataset.entity);
  }));
}

function renderStores(s) {
  const box = document.getElementById("stores");
  if (!s.stores.length) { box.innerHTML = '<p class="note">No store in this run.</p>'; return; }
  const shards = s.shards || [];
  box.innerHTML = s.stores.map((st) => {
    const rows = shards.filter((x) => x.store === st.name);
    const table = rows.length ? `<div class="table-wrap"><table class="shards" data-store="${esc(st.name)}"><thead><tr>
        <th>Shard</th><th>Address</th><th>Status</th><th class="num">Memory</th><th class="num">Max memory</th>
        <th class="num">Clients</th><th class="num">Keys</th><th class="num">Ops/s</th><th class="num">Evicted</th>
        <th>Cluster</th><th class="num">Queue</th><th>Sampled</th></tr></thead><tbody>
        ${rows.map((x) => `<tr><td>${x.shard}</td><td>${esc(x.address)}</td>
          <td>${x.up ? badge("up") : `${badge("down")} <span class="note">${esc(x.error)}</span>`}</td>
          <td class="num">${fmtBytes(x.used_memory)}</td>
          <td class="num">${x.maxmemory ? fmtBytes(x.maxmemory) : (x.up ? "no limit" : "–")}</td>
          <td class="num">${fmtNum(x.clients)}</td><td class="num">${fmtNum(x.keys)}</td>
          <td class="num">${fmtNum(x.ops_per_sec)}</td><td class="num">${fmtNum(x.evicted_keys)}</td>
          <td>${esc(x.cluster_state || "–")}</td><td class="num">${fmtNum(x.queue_depth)}</td>
          <td>${fmtClock(x.time)}</td></tr>`).join("")}</tbody></table></div>`
      : `<p class="note">No telemetry sample of this store: its telemetry is off
         (<code>${esc(st.name)}.telemetry.enable()</code> in the driver, as in SmartSim), or its first
         sample is not taken yet.</p>`;
    const models = (s.models || []).filter((m) => m.store === st.name);
    const modelTable = models.length ? `<div class="table-wrap" style="margin-top:8px"><table><thead><tr>
        <th>Model / script</th><th class="num">Requests</th><th class="num">Calls</th><th class="num">Samples</th>
        <th class="num">Errors</th><th class="num" title="samples (dimension 0 of the inputs) per call">Mean batch</th>
        <th class="num">Mean call</th></tr></thead><tbody>
        ${models.map((m) => `<tr><td>${esc(m.model)}</td><td class="num">${fmtNum(m.requests)}</td>
          <td class="num">${fmtNum(m.calls)}</td><td class="num">${fmtNum(m.samples)}</td>
          <td class="num">${fmtNum(m.errors)}</td>
          <td class="num">${m.mean_batch == null ? "–" : m.mean_batch.toFixed(1)}</td>
          <td class="num">${m.mean_us == null ? "–" : (m.mean_us / 1000).toFixed(2) + " ms"}</td></tr>`).join("")}
        </tbody></table></div>` : "";
    return `<div class="panel"><h3>${esc(st.name)} ${badge(st.state)}
        <span class="note">${st.clustered ? "cluster" : "standalone"}, ${st.shards} shard(s)${st.colocated ? ", colocated" : ""}
        · ${esc(st.addresses.join(", "))}</span></h3>${table}${modelTable}</div>`;
  }).join("");
}

function renderCharts(list) {
  const box = document.getElementById("charts");
  if (!list.length) {
    box.innerHTML = '<p class="note">No telemetry yet: charts appear once a store with its telemetry on, an inference worker or a rules session has been sampled.</p>';
    charts.clear();
    return;
  }
  box.querySelectorAll("p.note").forEach((p) => p.remove());
  const keep = new Set(list.map((c) => c.key));
  for (const [key, entry] of charts) {
    if (!keep.has(key)) { entry.plot.destroy(); entry.box.remove(); charts.delete(key); }
  }
  for (const chart of list) {
    const data = [chart.x, ...chart.ys];
    let entry = charts.get(chart.key);
    const labels = chart.labels.join("|");
    if (entry && entry.labels !== labels) { entry.plot.destroy(); entry.box.remove(); charts.delete(chart.key); entry = null; }
    if (!entry) {
      const div = document.createElement("div");
      div.className = "chart";
      div.dataset.key = chart.key;
      box.appendChild(div);
      const opts = {
        title: chart.unit ? `${chart.title} (${chart.unit})` : chart.title,
        width: Math.max(380, div.clientWidth - 20), height: 200,
        scales: { x: { time: true } },
        series: [{}, ...chart.labels.map((label, i) => ({
          label, stroke: strokeOf(label, i), width: 1.5, spanGaps: false,
          points: { show: chart.x.length < 40 },
        }))],
        axes: [{}, { size: 56 }],
        legend: { live: false },
      };
      entry = { plot: new uPlot(opts, data, div), box: div, labels };
      charts.set(chart.key, entry);
    } else {
      entry.plot.setData(data);
    }
    entry.box.dataset.points = String(chart.x.length);
  }
}

// Outcome counters keep the Gantt's colours (failed red, success green) wherever they are.
function strokeOf(label, i) {
  if (/(^| )(failed|errors?)$/.test(label)) return "#dc2626";
  if (/(^| )(success|completed)$/.test(label)) return "#16a34a";
  return PALETTE[i % PALETTE.length];
}

async function renderTimeline() {
  const box = document.getElementById("timeline");
  if (REPORT) { box.innerHTML = window.INSITU_TIMELINE || ""; return; }
  try {
    const width = Math.max(400, Math.floor(box.clientWidth - 14));
    const response = await fetch(`${API}/timeline.svg?width=${width}`, { cache: "no-store" });
    box.innerHTML = await response.text();
  } catch (err) { /* the next update draws it */ }
}

function updateLogChoices(s) {
  const select = document.getElementById("log-entity");
  const names = s.entities.filter((e) => e.out || e.err).map((e) => e.name);
  // No entity with output files: no log viewer (an empty black box would only puzzle).
  document.getElementById("logs-section").hidden = Boolean(REPORT) || !names.length;
  const current = [...select.options].map((o) => o.value);
  if (names.join("\n") !== current.join("\n")) {
    select.innerHTML = names.map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join("");
    if (log.entity && names.includes(log.entity)) select.value = log.entity;
  }
  if (log.entity == null && names.length) {
    const first = s.entities.find((e) => e.type !== "DBNode" && e.type !== "Worker" && e.out) || s.entities.find((e) => e.out);
    if (first) { select.value = first.name; switchLog(first.name); }
  }
}

function switchLog(entity) {
  log = { entity, stream: log.stream, offset: -1, busy: false };
  document.getElementById("log").textContent = "";
  pollLog();
}

async function pollLog() {
  if (KEY == null || !log.entity || log.busy) return;
  const wanted = log;
  wanted.busy = true;
  try {
    const url = `${API}/logs/${encodeURIComponent(wanted.entity)}?stream=${wanted.stream}&offset=${wanted.offset}`;
    const response = await fetch(url, { cache: "no-store" });
    const body = await response.json();
    if (wanted !== log) return;   // switched meanwhile
    const pre = document.getElementById("log");
    document.getElementById("log-path").textContent = body.error || (body.missing ? `${body.path} (not written yet)` : body.path);
    if (body.text) {
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent += body.text;
      if (atEnd || wanted.offset < 0) pre.scrollTop = pre.scrollHeight;
    }
    if (body.offset != null) wanted.offset = body.offset;
    if (!pre.textContent && !body.text && !body.error) pre.dataset.empty = "1"; else delete pre.dataset.empty;
  } catch (err) {
    /* a restarting dashboard or a vanished file: try again on the next tick */
  } finally {
    wanted.busy = false;
  }
}

async function refresh() {
  try {
    render(await getJSON(API));
    renderTimeline();
  } catch (err) {
    document.getElementById("problem").innerHTML = `<div class="alert">${esc(err.message)}</div>`;
  }
}

function connect() {
  const live = document.getElementById("live");
  const events = new EventSource(`${API}/events`);
  events.addEventListener("update", refresh);
  events.addEventListener("tick", () => {
    if (document.getElementById("log-follow").checked) pollLog();
    if (snap && snap.state === "running") renderEntitiesClock();
  });
  events.onopen = () => { live.className = "live on"; live.lastChild.textContent = "live"; };
  events.onerror = () => { live.className = "live"; live.lastChild.textContent = "reconnecting"; };
}

function renderEntitiesClock() {
  snap.now = Date.now() / 1000;
  renderEntities(snap);
}

skeleton();
if (REPORT) {
  document.getElementById("live").remove();
  render(REPORT);
  renderTimeline();
} else {
  refresh();
  connect();
}
