// The live page: one websocket to the hub, three canvas charts, a status board.
// No request leaves this host; reconnects by itself (0.5 s, doubling to 5 s) when the hub goes.
"use strict";

const HISTORY_S = 120;
const COLOURS = ["#2f6fdb", "#d9622b", "#1f9d55", "#9b4dca", "#c4302b", "#008b8b"];
const OBJECTIVES = ["latency", "error_rate", "availability", "throughput"];
const series = new Map(); // name -> [{t, rps, p95, err}], oldest first
let lastTimestamp = 0;
let retryMs = 500;
let slaLines = { p95: null, errors: null };

function fmtMs(value) { return value === null || value === undefined ? "-" : value.toFixed(1) + " ms"; }
function fmtPct(value) { return value === null || value === undefined ? "-" : (value * 100).toFixed(2) + " %"; }
function fmtRps(value) { return value === null || value === undefined ? "-" : value.toFixed(0); }

function setConn(text) {
  const el = document.getElementById("conn");
  el.textContent = text;
  el.className = text === "live" ? "live" : "reconnecting";
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(scheme + location.host + "/ws");
  ws.onopen = () => { setConn("live"); retryMs = 500; };
  ws.onmessage = (event) => onTick(JSON.parse(event.data));
  ws.onclose = () => {
    setConn("reconnecting");
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000);
  };
}

function remember(name, t, kpis) {
  if (!series.has(name)) series.set(name, []);
  const points = series.get(name);
  points.push({
    t: t,
    rps: kpis ? kpis.rps : null,
    p95: kpis ? kpis.latency_ms["1s"].p95 : null,
    err: kpis ? kpis.error_ratio * 100 : null,
  });
  while (points.length && points[0].t < t - HISTORY_S) points.shift();
}

function onTick(msg) {
  if (msg.type !== "tick" || msg.timestamp_s <= lastTimestamp) return;
  lastTimestamp = msg.timestamp_s;
  const t = msg.timestamp_s;
  for (const service of msg.services) if (!service.client) remember(service.name, t, service.kpis);
  if (msg.total) remember("total", t, msg.total.kpis);
  const kpis = msg.total ? msg.total.kpis : null;
  document.getElementById("total-rps").textContent = fmtRps(kpis ? kpis.rps : null);
  const p95 = document.getElementById("total-p95");
  p95.textContent = fmtMs(kpis ? kpis.latency_ms["1s"].p95 : null);
  p95.dataset.timestamp = String(msg.timestamp_s);
  p95.dataset.value = kpis && kpis.latency_ms["1s"].p95 !== null ? String(kpis.latency_ms["1s"].p95) : "";
  document.getElementById("total-errors").textContent = fmtPct(kpis ? kpis.error_ratio : null);
  document.getElementById("updated").textContent = new Date(t * 1000).toLocaleTimeString();
  document.getElementById("sla").textContent = msg.sla;
  slaLines = { p95: null, errors: null };
  for (const objective of msg.total ? msg.total.objectives : []) {
    if (objective.objective === "latency") slaLines.p95 = objective;
    if (objective.objective === "error_rate") slaLines.errors = objective;
  }
  document.getElementById("p95-sla").textContent = slaLines.p95 ? "SLA " + slaLines.p95.statement : "";
  document.getElementById("errors-sla").textContent = slaLines.errors ? "SLA " + slaLines.errors.statement : "";
  drawAll(t);
  renderBoard(msg);
  renderTargets(msg.targets);
  renderAlerts(msg.alerts);
}

function drawAll(now) {
  draw("chart-rps", now, "rps", null);
  draw("chart-p95", now, "p95", slaLines.p95 ? slaLines.p95.threshold : null);
  draw("chart-errors", now, "err", slaLines.errors ? slaLines.errors.threshold * 100 : null);
  const legend = document.getElementById("legend");
  legend.innerHTML = "";
  let i = 0;
  for (const name of series.keys()) {
    const span = document.createElement("span");
    span.style.color = colour(name, i++);
    span.textContent = "\u25a0 " + name;
    legend.appendChild(span);
  }
}

function colour(name, index) { return name === "total" ? "#1d2330" : COLOURS[index % COLOURS.length]; }

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function draw(id, now, key, line) {
  const canvas = document.getElementById(id);
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  const left = 48, right = 8, top = 8, bottom = 20;
  let max = line === null ? 0 : line * 1.2;
  let points = 0;
  for (const list of series.values()) for (const p of list) if (p[key] !== null && p[key] > max) max = p[key];
  max = niceMax(max);
  const x = (t) => left + (width - left - right) * (1 - (now - t) / HISTORY_S);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  ctx.strokeStyle = "#e3e6eb"; ctx.fillStyle = "#5b6475"; ctx.font = "11px system-ui"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    ctx.beginPath(); ctx.moveTo(left, y(v)); ctx.lineTo(width - right, y(v)); ctx.stroke();
    ctx.fillText(v >= 100 ? v.toFixed(0) : v.toPrecision(2), 4, y(v) + 4);
  }
  ctx.fillText("-" + HISTORY_S + " s", left, height - 4);
  ctx.fillText("now", width - right - 22, height - 4);
  if (line !== null) {
    ctx.strokeStyle = "#c4302b"; ctx.setLineDash([6, 4]); ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(left, y(line)); ctx.lineTo(width - right, y(line)); ctx.stroke();
    ctx.setLineDash([]);
  }
  let index = 0;
  for (const [name, list] of series) {
    ctx.strokeStyle = colour(name, index++); ctx.lineWidth = name === "total" ? 2.5 : 1.5;
    ctx.beginPath();
    let pen = false;
    for (const p of list) {
      if (p[key] === null) { pen = false; continue; }
      if (pen) ctx.lineTo(x(p.t), y(p[key])); else ctx.moveTo(x(p.t), y(p[key]));
      pen = true;
      points++;
    }
    ctx.stroke();
  }
  canvas.dataset.points = String(Number(canvas.dataset.points) + (points > 0 ? 1 : 0));
  canvas.dataset.lastT = String(now);
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function observed(objective) {
  if (objective.observed === null) return "no data";
  if (objective.unit === "ms") return objective.observed.toFixed(1) + " ms";
  if (objective.unit === "ratio") return (objective.observed * 100).toFixed(2) + " %";
  return objective.observed.toFixed(1) + " req/s";
}

function renderBoard(msg) {
  const body = document.querySelector("#board tbody");
  body.innerHTML = "";
  for (const view of msg.total ? [...msg.services, msg.total] : msg.services) {
    const row = document.createElement("tr");
    row.dataset.service = view.name;
    cell(row, view.name + (view.client ? " (load generator)" : ""));
    cell(row, view.targets_up + "/" + view.targets, view.targets_up === view.targets ? "up" : "down");
    cell(row, fmtRps(view.kpis ? view.kpis.rps : null));
    cell(row, fmtMs(view.kpis ? view.kpis.latency_ms["1s"].p95 : null));
    cell(row, fmtPct(view.kpis ? view.kpis.error_ratio : null));
    for (const key of OBJECTIVES) {
      const objective = view.objectives.find((o) => o.objective === key);
      if (!objective) { cell(row, "not judged"); continue; }
      const td = cell(row, objective.statement + ": " + observed(objective), objective.status);
      td.dataset.objective = key;
      td.title = "over the last " + objective.window_s + " s";
    }
    body.appendChild(row);
  }
}

function renderTargets(targets) {
  const body = document.querySelector("#targets tbody");
  body.innerHTML = "";
  for (const target of targets) {
    const row = document.createElement("tr");
    cell(row, target.url);
    cell(row, target.service || "-");
    cell(row, target.state, target.state);
    cell(row, target.reason || "");
    body.appendChild(row);
  }
}

function renderAlerts(alerts) {
  const table = document.getElementById("alerts");
  table.hidden = !alerts;
  if (!alerts) return;
  const body = table.querySelector("tbody");
  body.innerHTML = "";
  for (const alert of alerts.firing) {
    const row = document.createElement("tr");
    row.dataset.alert = alert.name;
    cell(row, alert.name, alert.severity || "");
    cell(row, alert.severity || "-");
    cell(row, alert.service || "-");
    cell(row, new Date(alert.since_s * 1000).toLocaleString());
    body.appendChild(row);
  }
  const receiver = document.getElementById("receiver");
  const count = alerts.firing.length === 0 ? "no alert firing" : alerts.firing.length + " firing";
  receiver.textContent = "receiver " + alerts.receiver + ": " + alerts.state
    + (alerts.reason ? " (" + alerts.reason + "; alerts as of its last answer)" : "") + ", " + count;
  receiver.className = alerts.state;
}

connect();
