// app.js - the Kernless dashboard: log-in, functions and rollback, live charts from /v1/stats, log tail, nodes.
//
// Everything talks to the management API with the admin token in the same
// "Authorization: Bearer" header the CLI sends. The token arrives in the URL
// fragment (never sent to the server, never in a query string), moves to
// sessionStorage (gone when the tab closes) and the fragment is cleared at
// once. Untrusted text (function names, log lines) only ever goes into the
// page as textContent, never as HTML.
'use strict';

const POINTS = 60;            // samples kept per chart: one a second
const STATS_EVERY_MS = 1000;
const LIST_EVERY_MS = 5000;   // functions and nodes change rarely
const LOG_KEEP = 300;         // log lines kept on the page
const TOKEN_KEY = 'kernless-token';
const TOTAL = '*';            // the history key of the all-functions series

const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  running: false,
  timers: [],
  prev: null,                 // the last /v1/stats answer, for rates
  history: new Map(),         // name or TOTAL -> [{rps, eps, p50, p99, causes}]
  rows: new Map(),            // name -> the functions table's row cells
  functions: [],
  selected: null,
  logAbort: null,
  noticeTimer: 0,
  charts: { total: null, detail: null },
};

// ---- API ------------------------------------------------------------------

class Unauthorized extends Error {}

// One API call; a 401 logs out (the token is wrong or was rotated).
async function api(path, opts = {}) {
  const headers = Object.assign({ Authorization: 'Bearer ' + state.token }, opts.headers || {});
  const r = await fetch(path, Object.assign({}, opts, { headers, cache: 'no-store' }));
  if (r.status === 401) throw new Unauthorized();
  return r;
}

// An API call's JSON, or an Error carrying the server's reason.
async function apiJson(path, opts) {
  const r = await api(path, opts);
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) {
    const why = (body && body.error) || r.headers.get('X-Kernless-Error') || r.statusText;
    const err = new Error(why);
    err.status = r.status;
    throw err;
  }
  return body;
}

// ---- formatting -----------------------------------------------------------

function fmtRate(v) {
  if (v == null || !isFinite(v)) return '-';
  return v >= 100 ? String(Math.round(v)) : v.toFixed(1);
}

function fmtMs(v) {
  if (v == null || !isFinite(v)) return '-';
  if (v < 1) return (v * 1000).toFixed(0) + ' \u00b5s';
  return (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : String(Math.round(v))) + ' ms';
}

// How long ago an epoch time in ms was (clocks of two machines: never below 0).
function fmtAgo(when) {
  if (when == null || !isFinite(when) || when <= 0) return '-';
  const ms = Math.max(0, Date.now() - when);
  if (ms < 1000) return 'just now';
  if (ms < 120000) return (ms / 1000).toFixed(1) + ' s ago';
  return Math.round(ms / 60000) + ' min ago';
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = String(text);
  return e;
}

// A one-line message above the numbers; good news fades after a while.
function notice(text, bad) {
  const n = $('notice');
  n.textContent = text;
  n.classList.toggle('bad', !!bad);
  n.hidden = !text;
  clearTimeout(state.noticeTimer);
  if (text && !bad) state.noticeTimer = setTimeout(() => { n.hidden = true; }, 15000);
}

// ---- charts: hand-drawn SVG polylines -------------------------------------

const SVGNS = 'http://www.w3.org/2000/svg';

// A chart of a few series over the last POINTS samples. `series(history)`
// returns [{name, values}] and `fmt` formats a value for the legend.
function makeChart(parent, title, series, fmt) {
  const fig = el('figure', 'chart');
  const cap = el('figcaption');
  const svg = document.createElementNS(SVGNS, 'svg');
  const axis = el('div', 'axis');
  svg.setAttribute('viewBox', '0 0 ' + (POINTS - 1) + ' 100');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  for (const y of [25, 50, 75]) {
    const g = document.createElementNS(SVGNS, 'line');
    g.setAttribute('x1', '0'); g.setAttribute('x2', String(POINTS - 1));
    g.setAttribute('y1', String(y)); g.setAttribute('y2', String(y));
    g.setAttribute('class', 'grid');
    g.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.appendChild(g);
  }
  fig.append(cap, svg, axis);
  parent.appendChild(fig);
  const classes = new Map();   // series name -> colour class, stable over time
  return {
    update(history) {
      const list = series(history);
      let max = 0;
      for (const s of list) for (const v of s.values) if (v != null && v > max) max = v;
      const top = niceCeil(max);
      cap.replaceChildren(el('b', null, title));
      svg.querySelectorAll('polyline').forEach((p) => p.remove());
      for (const s of list) {
        if (!classes.has(s.name)) classes.set(s.name, 's' + (classes.size % 6));
        const cls = classes.get(s.name);
        const last = s.values.length ? s.values[s.values.length - 1] : null;
        cap.appendChild(el('span', 'key ' + cls, s.name + ' ' + fmt(last)));
        const pts = [];
        const off = POINTS - s.values.length;
        s.values.forEach((v, i) => {
          if (v != null) pts.push((off + i) + ',' + (100 - (v / top) * 98).toFixed(2));
        });
        const p = document.createElementNS(SVGNS, 'polyline');
        p.setAttribute('points', pts.join(' '));
        p.setAttribute('class', cls);
        p.setAttribute('vector-effect', 'non-scaling-stroke');
        svg.appendChild(p);
      }
      if (!list.length) cap.appendChild(el('span', 'muted', 'none'));
      axis.textContent = 'top: ' + fmt(top);
    },
  };
}

// 1, 2 or 5 times a power of ten, at least v (and at least 1 for an empty chart).
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function chartSet(parent) {
  parent.replaceChildren();
  const pick = (h, f) => h.map(f);
  const charts = [
    makeChart(parent, 'Requests/s', (h) => [{ name: 'req/s', values: pick(h, (s) => s.rps) }], fmtRate),
    makeChart(parent, 'Latency', (h) => [
      { name: 'p50', values: pick(h, (s) => s.p50) },
      { name: 'p99', values: pick(h, (s) => s.p99) },
    ], fmtMs),
    makeChart(parent, 'Errors/s by cause', (h) => {
      const names = new Set();
      for (const s of h) for (const c of Object.keys(s.causes)) names.add(c);
      return [...names].sort().map((c) => ({ name: c, values: pick(h, (s) => s.causes[c] || 0) }));
    }, fmtRate),
  ];
  return { update(h) { for (const c of charts) c.update(h || []); } };
}

// ---- stats: rates from two reads of the server's counters -----------------

// The rates between two stats entries of one function (or the totals).
function sample(cur, old, dt) {
  const ms = (us) => (us == null ? null : us / 1000);
  const s = { rps: null, eps: null, p50: ms(cur.recent.p50_us), p99: ms(cur.recent.p99_us), causes: {} };
  if (old && dt > 0) {
    // A removed and redeployed function restarts from zero: no negative rates.
    s.rps = Math.max(0, cur.requests - old.requests) / dt;
    s.eps = Math.max(0, cur.errors - old.errors) / dt;
    for (const [c, n] of Object.entries(cur.causes)) {
      s.causes[c] = Math.max(0, n - ((old.causes || {})[c] || 0)) / dt;
    }
  }
  return s;
}

function record(key, s) {
  let h = state.history.get(key);
  if (!h) state.history.set(key, (h = []));
  h.push(s);
  if (h.length > POINTS) h.shift();
  return h;
}

function onStats(st) {
  const prev = state.prev;
  const dt = prev ? (st.now_ms - prev.now_ms) / 1000 : 0;
  const old = new Map(prev ? prev.functions.map((f) => [f.name, f]) : []);
  const t = sample(st.total, prev && prev.total, dt);
  record(TOTAL, t);
  $('total-rps').textContent = fmtRate(t.rps);
  $('total-eps').textContent = fmtRate(t.eps);
  $('total-p50').textContent = fmtMs(t.p50);
  $('total-p99').textContent = fmtMs(t.p99);
  $('total-requests').textContent = String(st.total.requests);
  $('total-errors').textContent = String(st.total.errors);
  const seen = new Set();
  for (const f of st.functions) {
    seen.add(f.name);
    const s = sample(f, old.get(f.name), dt);
    record(f.name, s);
    const row = state.rows.get(f.name);
    if (row) fillRow(row, f, s);
  }
  for (const [name, row] of state.rows) if (!seen.has(name)) fillRow(row, null, null);
  state.prev = st;
  state.charts.total.update(state.history.get(TOTAL));
  if (state.selected) state.charts.detail.update(state.history.get(state.selected));
}

function fillRow(row, f, s) {
  row.requests.textContent = f ? String(f.requests) : '0';
  row.rps.textContent = s ? fmtRate(s.rps) : '-';
  row.p50.textContent = s ? fmtMs(s.p50) : '-';
  row.p99.textContent = s ? fmtMs(s.p99) : '-';
  const causes = f ? Object.entries(f.causes).map(([c, n]) => c + ' ' + n).join(', ') : '';
  row.errors.textContent = f && f.errors ? String(f.errors) : '0';
  row.errors.title = causes;
  row.errors.classList.toggle('bad-text', !!(f && f.errors));
}

// ---- the functions table and rollback -------------------------------------

// The tier serving a function (the API's tier fields): the baseline at
// once after a deploy, the optimised image swapped in behind live traffic.
// The cell says when the swap happened; its title gives the time, who built
// the image, or why optimising failed (the baseline then keeps serving).
function fillTier(td, f) {
  const tier = f.tier || '-';
  const when = f.tier_swapped_at ? f.tier_swapped_at * 1000 : null;
  td.dataset.tier = tier;
  td.textContent = tier + (tier === 'optimised' && when ? ' \u00b7 swapped ' + fmtAgo(when) : '');
  if (f.optimise_error) {
    td.title = 'optimising failed: ' + f.optimise_error;
  } else if (when) {
    td.title = 'swapped in at ' + new Date(when).toLocaleString() +
      (f.tier_source === 'registry' ? ' (built by another node of the cluster)' : '');
  } else {
    td.title = tier === 'optimised' ? 'started on the optimised tier (it was cached)' : '';
  }
  td.classList.toggle('bad-text', !!f.optimise_error);
}

function renderFunctions(list) {
  state.functions = list;
  const body = $('functions').tBodies[0];
  const names = new Set(list.map((f) => f.name));
  for (const [name, row] of state.rows) {
    if (!names.has(name)) { row.tr.remove(); state.rows.delete(name); }
  }
  for (const f of list.slice().sort((a, b) => a.name.localeCompare(b.name))) {
    let row = state.rows.get(f.name);
    if (!row) row = addRow(body, f.name);
    row.route.textContent = f.route;
    row.version.textContent = 'v' + f.version + ' of ' + f.versions;
    fillTier(row.tier, f);
    row.rollback.disabled = f.version <= 1;
    row.rollback.title = f.version > 1 ? 'activate the version before v' + f.version : 'no earlier version';
    body.appendChild(row.tr);   // keeps the rows in name order
  }
  $('no-functions').hidden = list.length > 0;
  if (state.selected && !names.has(state.selected)) select(null);
}

// Rows are made once and then updated in place, so a button someone is
// about to press is never swapped for a new one under the pointer.
function addRow(body, name) {
  const tr = el('tr');
  tr.dataset.name = name;
  const cell = (cls) => { const td = el('td', cls); tr.appendChild(td); return td; };
  const nameBtn = el('button', 'link', name);
  nameBtn.type = 'button';
  nameBtn.addEventListener('click', () => select(name));
  cell('name').appendChild(nameBtn);
  const row = {
    tr, route: cell('route'), version: cell('version'), tier: cell('tier'),
    requests: cell('num requests'),
    rps: cell('num rps'), p50: cell('num p50'), p99: cell('num p99'), errors: cell('num errors'),
  };
  row.rollback = el('button', 'quiet rollback', 'Roll back');
  row.rollback.type = 'button';
  row.rollback.addEventListener('click', () => rollback(name, null, row.rollback));
  cell('actions').appendChild(row.rollback);
  state.rows.set(name, row);
  return row;
}

// Activate `version` of `name` (null: the one before the active one).
async function rollback(name, version, button) {
  if (button) button.disabled = true;
  try {
    const body = version == null ? '' : JSON.stringify({ version });
    const r = await apiJson('/v1/functions/' + encodeURIComponent(name) + '/rollback', {
      method: 'POST', body, headers: { 'Content-Type': 'application/json' },
    });
    notice(name + ' now serves v' + r.version);
  } catch (e) {
    if (e instanceof Unauthorized) return logout('The server refused the token.');
    notice('Rollback of ' + name + ' failed: ' + e.message, true);
  }
  await refreshFunctions();
  if (state.selected === name) loadVersions(name);
}

async function refreshFunctions() {
  try {
    const o = await apiJson('/v1/functions');
    renderFunctions(o.functions || []);
  } catch (e) {
    if (e instanceof Unauthorized) return logout('The server refused the token.');
  }
}

// ---- one function: its charts, versions and live log ----------------------

function select(name) {
  state.selected = name;
  for (const [n, row] of state.rows) row.tr.classList.toggle('selected', n === name);
  if (state.logAbort) state.logAbort.abort();
  state.logAbort = null;
  $('detail').hidden = !name;
  if (!name) return;
  $('detail-name').textContent = name;
  state.charts.detail.update(state.history.get(name));
  $('log').replaceChildren();
  loadVersions(name);
  tailLog(name);
}

async function loadVersions(name) {
  const list = $('versions');
  try {
    const o = await apiJson('/v1/functions/' + encodeURIComponent(name));
    if (state.selected !== name) return;
    list.replaceChildren();
    for (const v of (o.history || []).slice().reverse()) {
      const li = el('li');
      li.dataset.version = String(v.version);
      li.appendChild(el('b', null, 'v' + v.version));
      li.appendChild(el('span', 'muted', new Date(v.created * 1000).toLocaleString() +
                        ' \u00b7 ' + (v.sha256 || '').slice(0, 12)));
      if (v.version === o.active) {
        li.appendChild(el('span', 'good-text', 'active'));
      } else {
        const b = el('button', 'quiet', 'Activate');
        b.type = 'button';
        b.addEventListener('click', () => rollback(name, v.version, b));
        li.appendChild(b);
      }
      list.appendChild(li);
    }
  } catch (e) {
    if (e instanceof Unauthorized) return logout('The server refused the token.');
    list.replaceChildren(el('li', 'error', e.message));
  }
}

function addLogLine(box, l) {
  const line = el('div', 'line');
  line.append(el('span', 'ts', new Date(l.ts).toLocaleTimeString()),
              el('span', 'rid', l.request_id), document.createTextNode(l.line));
  box.appendChild(line);
}

// Follow the function's log with long polls (wait=20) until another is selected.
async function tailLog(name) {
  const ctl = new AbortController();
  state.logAbort = ctl;
  const box = $('log');
  let after = 0;
  let first = true;           // the lines so far at once, then long polls
  while (state.running && state.selected === name && !ctl.signal.aborted) {
    try {
      const wait = first ? 0 : 20;
      first = false;
      const o = await apiJson('/v1/functions/' + encodeURIComponent(name) +
                              '/logs?after=' + after + '&limit=10000&wait=' + wait,
                              { signal: ctl.signal });
      if (ctl.signal.aborted) return;
      const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
      for (const l of o.lines.slice(-LOG_KEEP)) addLogLine(box, l);
      while (box.childElementCount > LOG_KEEP) box.firstElementChild.remove();
      if (stick) box.scrollTop = box.scrollHeight;
      if (o.next > after) after = o.next;
    } catch (e) {
      if (ctl.signal.aborted) return;
      if (e instanceof Unauthorized) return logout('The server refused the token.');
      await sleep(2000);
    }
  }
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// ---- nodes (cluster mode; the panel stays hidden where /v1/nodes is absent)

async function refreshNodes() {
  const panel = $('nodes-panel');
  try {
    const r = await api('/v1/nodes');
    if (!r.ok) { panel.hidden = true; return; }
    const o = await r.json();
    const body = $('nodes').tBodies[0];
    body.replaceChildren();
    for (const n of o.nodes || []) {
      const tr = el('tr');
      const seen = el('td', null, fmtAgo(n.last_seen_ms));   // the node's last heartbeat, epoch ms
      if (n.last_seen_ms > 0) seen.title = new Date(n.last_seen_ms).toLocaleString();
      tr.append(el('td', null, n.name), el('td', null, n.address), el('td', null, n.isolation),
                el('td', null, n.version), seen,
                el('td', n.healthy ? 'good-text' : 'bad-text', n.healthy ? 'healthy' : 'unhealthy'));
      body.appendChild(tr);
    }
    panel.hidden = false;
  } catch (e) {
    if (e instanceof Unauthorized) return logout('The server refused the token.');
    panel.hidden = true;
  }
}

// ---- polling --------------------------------------------------------------

async function pollStats() {
  try {
    onStats(await apiJson('/v1/stats?window=5'));
    $('live').classList.remove('stale');
  } catch (e) {
    if (e instanceof Unauthorized) return logout('The server refused the token.');
    $('live').classList.add('stale');
  }
}

function every(ms, fn) {
  let busy = false;
  const tick = async () => {
    if (busy || !state.running) return;
    busy = true;
    try { await fn(); } finally { busy = false; }
  };
  tick();
  state.timers.push(setInterval(tick, ms));
}

async function start() {
  state.running = true;
  $('login').hidden = true;
  $('app').hidden = false;
  $('live').hidden = false;
  $('logout').hidden = false;
  state.charts.total = chartSet($('total-charts'));
  state.charts.detail = chartSet($('detail-charts'));
  try {
    const h = await (await fetch('/healthz', { cache: 'no-store' })).json();
    $('server-info').textContent = location.host + ' \u00b7 isolation: ' + h.isolation;
  } catch (e) {
    $('server-info').textContent = location.host;
  }
  every(STATS_EVERY_MS, pollStats);
  every(LIST_EVERY_MS, refreshFunctions);
  every(LIST_EVERY_MS, refreshNodes);
}

// ---- log-in ---------------------------------------------------------------

function stop() {
  state.running = false;
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  if (state.logAbort) state.logAbort.abort();
  state.prev = null;
  state.history.clear();
  state.rows.clear();
  state.selected = null;
  $('detail').hidden = true;
  $('functions').tBodies[0].replaceChildren();
}

function logout(why) {
  stop();
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('app').hidden = true;
  $('live').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = why || '';
  $('token').value = '';
  $('token').focus();
}

// Check a token with one API call before keeping it.
async function tryToken(token) {
  state.token = token;
  $('login-error').textContent = '';
  try {
    const o = await apiJson('/v1/functions');
    sessionStorage.setItem(TOKEN_KEY, token);
    await start();
    renderFunctions(o.functions || []);
  } catch (e) {
    if (e instanceof Unauthorized) return logout('The server refused this token.');
    logout('Cannot reach the server: ' + e.message);
  }
}

// #token=... from `kernless dashboard`: keep it for this tab only and take
// it out of the address bar and history straight away. Returns it, or null.
function takeFragmentToken() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!m) return null;
  let t = m[1];
  try { t = decodeURIComponent(t); } catch (e) { /* keep it as it is */ }
  history.replaceState(null, '', location.pathname + location.search);
  t = t.trim();
  sessionStorage.setItem(TOKEN_KEY, t);
  return t;
}

function init() {
  takeFragmentToken();
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (t) tryToken(t);
  });
  $('logout').addEventListener('click', () => logout(''));
  // The printed address opened in a tab already showing the dashboard only
  // changes the fragment: no new page load.
  window.addEventListener('hashchange', () => {
    const t = takeFragmentToken();
    if (t) { stop(); tryToken(t); }
  });
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) tryToken(saved); else logout('');
}

document.addEventListener('DOMContentLoaded', init);
