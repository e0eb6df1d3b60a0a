/**
 * The status page the supervisor serves at `GET /`: one self-contained
 * HTML document (no external script, style, font or image), which follows
 * `/events` (server-sent events), redraws its table on each snapshot and
 * lists the lifecycle events as they come (the last 50), no reload. It only reads: `/api/logs/NAME` on demand, nothing else. Every
 * value goes into the page as text (`textContent`), never as markup.
 *
 * Rows carry `data-service` and `data-state` attributes, event lines
 * `data-service` and `data-kind` (the browser test reads them).
 *
 * @module
 */

/**
 * The page, as served.
 *
 * @example
 * ```ts
 * import { STATUS_PAGE } from "./status_page.ts";
 * console.log(STATUS_PAGE.startsWith("<!doctype html>"));
 * ```
 */
export const STATUS_PAGE: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pidkit</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.2em; margin: 0 0 .3em; }
#meta { color: #666; margin-bottom: 1em; }
#conn.down { color: #b00; font-weight: bold; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #e4e4e4; white-space: nowrap; }
th { background: #f0f0f0; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.status { white-space: normal; color: #555; }
tr[data-state="running"] td.state { color: #080; }
tr[data-state="failed"] td.state, tr[data-state="orphaned"] td.state { color: #b00; }
tr[data-state="stopped"] td.state, tr[data-state="stale"] td.state { color: #777; }
tr[data-state="starting"] td.state, tr[data-state="restarting"] td.state,
tr[data-state="stopping"] td.state, tr[data-state="reloading"] td.state { color: #a60; }
pre { margin: 0; padding: .5em; background: #111; color: #ddd; font-size: 12px; max-height: 20em; overflow: auto; white-space: pre-wrap; }
button { font-size: 12px; }
h2 { font-size: 1em; margin: 1.2em 0 .3em; }
#events { font: 12px ui-monospace, monospace; color: #333; padding-left: 2.5em; }
</style>
</head>
<body>
<h1>pidkit</h1>
<div id="meta"><span id="dir"></span> &middot; <span id="count"></span> &middot; <span id="conn">connecting</span></div>
<table>
<thead><tr><th>NAME</th><th>STATE</th><th>PID</th><th>UPTIME</th><th>CPU</th><th>MEM</th><th>PROCS</th><th>RESTARTS</th><th>STATUS</th><th>LOG</th></tr></thead>
<tbody id="rows"></tbody>
</table>
<h2>Events</h2>
<ol id="events" reversed></ol>
<script>
"use strict";
const rows = document.getElementById("rows");
const conn = document.getElementById("conn");
const shown = new Map(); // service -> its last log lines, while shown
let last = null;

function bytes(n) {
  const units = ["B", "K", "M", "G", "T"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(1)) + units[i];
}
function duration(ms) {
  if (ms === null) return "-";
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return d ? d + "d" + h + "h" : h ? h + "h" + m + "m" : m ? m + "m" + s + "s" : s + "s";
}
function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}
function render(list) {
  last = list;
  document.getElementById("dir").textContent = list.dir;
  document.getElementById("count").textContent = list.services.length + " service(s)";
  const body = document.createDocumentFragment();
  for (const s of list.services) {
    const tr = document.createElement("tr");
    tr.dataset.service = s.name;
    tr.dataset.state = s.state;
    cell(tr, s.name, "name");
    cell(tr, s.state, "state");
    cell(tr, s.pid === null ? "-" : String(s.pid), "num pid");
    cell(tr, duration(s.uptimeMs), "num");
    cell(tr, s.processes ? s.cpuPercent.toFixed(1) + "%" : "-", "num");
    cell(tr, s.processes ? bytes(s.memoryBytes) : "-", "num");
    cell(tr, String(s.processes), "num");
    cell(tr, s.restarts === null ? "-" : String(s.restarts), "num");
    cell(tr, s.statusText || "", "status");
    const b = document.createElement("button");
    b.textContent = shown.has(s.name) ? "hide" : "show";
    b.onclick = () => toggle(s.name);
    cell(tr, "").appendChild(b);
    body.appendChild(tr);
    if (shown.has(s.name)) {
      const lr = document.createElement("tr");
      lr.className = "log";
      const td = document.createElement("td");
      td.colSpan = 10;
      const pre = document.createElement("pre");
      pre.textContent = shown.get(s.name);
      td.appendChild(pre);
      lr.appendChild(td);
      body.appendChild(lr);
    }
  }
  rows.replaceChildren(body);
}
async function toggle(name) {
  if (shown.has(name)) { shown.delete(name); if (last) render(last); return; }
  shown.set(name, "loading...");
  if (last) render(last);
  try {
    const r = await fetch("api/logs/" + encodeURIComponent(name));
    const j = await r.json();
    shown.set(name, j.lines.map((l) => (l.time ? l.time + " " : "") + l.text).join("\\n") || "(empty log)");
  } catch (e) {
    shown.set(name, "cannot read the log: " + e);
  }
  if (last && shown.has(name)) render(last);
}
const eventList = document.getElementById("events");
function showEvent(e) {
  const li = document.createElement("li");
  li.dataset.service = e.service;
  li.dataset.kind = e.kind;
  const extra = [];
  if (e.pid !== undefined) extra.push("pid " + e.pid);
  if (e.code !== undefined && e.code !== null) extra.push("code " + e.code);
  if (e.signal) extra.push(e.signal);
  if (e.delayMs !== undefined) extra.push("in " + e.delayMs + " ms");
  if (e.reason) extra.push(e.reason);
  li.textContent = e.time + " " + e.service + " " + e.kind + (extra.length ? " (" + extra.join(", ") + ")" : "");
  eventList.prepend(li);
  while (eventList.children.length > 50) eventList.lastChild.remove();
}
const events = new EventSource("events");
events.addEventListener("event", (e) => showEvent(JSON.parse(e.data)));
events.addEventListener("services", (e) => {
  conn.textContent = "live";
  conn.className = "";
  render(JSON.parse(e.data));
});
events.onerror = () => {
  conn.textContent = "disconnected, retrying";
  conn.className = "down";
};
</script>
</body>
</html>
`;
