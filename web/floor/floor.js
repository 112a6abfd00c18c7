// floor.js - the supervisor floor: token login on /v1/supervisor (same
// origin: the gateway refuses other pages), then the floor of the
// supervisor's stores (proto/PROTOCOL.md 8): queues per group with the
// oldest wait, agents with state, shift (on, until when, back when),
// load and today's guard hits, live chats with breach and escalation
// flags (the snapshot's, and `escalation` events from a plugin such as
// escalate), priority and the product viewed; notices for guard hits and
// shift changes; a chart of waiting buyers over this session with the
// median first response of the hour (the `stats` events); watch a chat
// (history and live records, private ones marked),
// whisper to its agent, join it and write, assign, transfer, close; a
// wallboard mode (big numbers, no controls; ?wall=1 or the button); a
// chat's transcript by id (transcript.js).
//
// The snapshot is the truth: each `event` is applied at once where it is
// simple (a breach flag, an agent's state) and a fresh snapshot is asked
// for shortly after (at most one per SNAP_MS), so the counts stay those
// Redis holds. Every text is set with textContent.

import { Session, newId } from '../proto.js';
import { t, h, $, saved as savedIn, notice } from '../desk/ui.js';
import { transcriptViewer } from './transcript.js';

const SNAP_MS = 500;             // events -> a snapshot at most this often
const SAMPLE_MS = 5000;          // the chart's sampling period
const CHART_SPAN_MS = 3600000;   // the chart shows the last hour
const MAX_SAMPLES = 5000;
const AMBER_MS = 20000;
const RED_MS = 30000;
const wsUrl = new URL('/v1/supervisor', location.href).href.replace(/^http/, 'ws');
const saved = savedIn('floor');

document.documentElement.lang = t.lang;
for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
$('whisper-text').placeholder = t('f.whisper.hint');
$('say-text').placeholder = t('f.say.hint');
$('assign-to').placeholder = t('f.assign.hint');
document.title = t('f.title');

const floor = {
  token: saved.get('token'),
  snap: null,                    // the last snapshot, events applied
  snapAt: 0,                     // Date.now() when it arrived
  watched: null,                 // {chat, store, group, agent, joined, msgs Map seq -> msg}
  samples: [],                   // [ms, waiting buyers]
  frSamples: [],                 // [ms, median first response this hour (ms) or null]
  stats: new Map(),              // store -> its last `stats` event
  escalated: new Map(),          // chat id -> the rule of its last escalation (kept across snapshots)
  loginError: null,
};
let session = null;
let snapTimer = null;
// the transcript viewer (transcript.js): by chat id, or of the watched chat
const transcript = transcriptViewer({ send: (f) => session?.send(f) ?? false, watched: () => floor.watched?.chat });

function startSession() {
  session?.stop();
  floor.loginError = null;
  session = new Session({
    url: wsUrl,
    backoff: { min: 500, max: 10000 },
    greet: () => ({ t: 'login', token: floor.token }),
    onFrame: (f) => on[f.t]?.(f),
    onStatus(s) {
      $('status').textContent = s === 'online' ? '' : t('status.' + s);
      document.body.dataset.status = s;
    },
    onClose(code) {
      if (floor.loginError) { logout(floor.loginError); return 'stop'; }
      return code === 1000 ? 'stop' : 'retry';
    },
  });
  session.start();
}

function askSnapshot() {
  if (snapTimer) return;
  snapTimer = setTimeout(() => { snapTimer = null; session?.send({ t: 'snapshot' }); }, SNAP_MS);
}

// ---- frames -------------------------------------------------------------

const on = {
  welcome(f) {
    $('login').hidden = true;
    $('floor').hidden = false;
    $('sup-name').textContent = f.supervisor.name || f.supervisor.id;
    $('sup-stores').textContent = (f.supervisor.stores || []).join(' · ');
    if (floor.watched) session.send({ t: floor.watched.joined ? 'join' : 'watch', chat: floor.watched.chat });
  },
  snapshot(f) {
    floor.snap = f;
    floor.snapAt = Date.now();
    sample();                        // each change of the floor is a point
    render();
  },
  event(f) {
    if (f.kind === 'stats') { onStats(f); return; }   // a summary: the floor itself did not change
    applyEvent[f.kind]?.(f);
    render();
    askSnapshot();
  },
  watching(f) { showWatch(f, false); },
  joined(f) { showWatch(f, true); },
  unwatched(f) {
    if (floor.watched?.chat === f.chat) floor.watched = null;
    renderWatch();
  },
  msg(f) {
    const w = floor.watched;
    if (!w || w.chat !== f.chat) return;
    w.msgs.set(f.seq, f);
    renderWatch();
  },
  ack() {},
  assigned(f) { notice(t('f.assigned', { chat: short(f.chat), agent: f.agent })); askSnapshot(); },
  transferred(f) { notice(t('d.transferred', { to: f.to })); askSnapshot(); },
  closed(f) {
    notice(t('f.closed', { chat: short(f.chat) }));
    if (floor.watched?.chat === f.chat) floor.watched = null;
    renderWatch();
    askSnapshot();
  },
  transcript(f) { transcript.show(f); },
  error(f) {
    if (transcript.failed(f)) return;
    if (!f.ref && !session.up) floor.loginError = f.code;
    else notice(t.error(f.code));
  },
};

// the events' quick effect on the snapshot until the next one arrives
const chatOf = (id) => floor.snap?.chats.find((c) => c.chat === id);
const agentOf = (id) => floor.snap?.agents.find((a) => a.id === id);
const applyEvent = {
  breach(f) {
    const c = chatOf(f.chat);
    if (c && !c.flags?.includes('breach')) c.flags = [...(c.flags || []), 'breach'];
  },
  agent(f) {
    const a = agentOf(f.agent);
    if (a) Object.assign(a, { state: f.state, online: f.online, load: f.load, capacity: f.capacity });
  },
  shift(f) {
    const a = agentOf(f.agent);
    if (a) a.shift = { on_shift: f.on_shift, ends_at: f.ends_at, next: f.next };
    notice(t(f.on_shift ? 'f.shift.event.on' : 'f.shift.event.off', { agent: a?.name || f.agent }));
  },
  guard(f) {
    const a = agentOf(f.agent);
    if (a) a.guard_hits = (a.guard_hits || 0) + 1;
    notice(t(f.verdict === 'block' ? 'f.guard.block' : 'f.guard.warn', { agent: a?.name || f.agent, rule: f.rule || '?' }));
  },
  escalation(f) {
    floor.escalated.set(f.chat, f.rule || '');
  },
  closed(f) {
    floor.escalated.delete(f.chat);
    if (floor.snap) floor.snap.chats = floor.snap.chats.filter((c) => c.chat !== f.chat);
  },
};

// ---- rendering ----------------------------------------------------------

const short = (id) => String(id).slice(0, 8);
const secs = (ms) => `${Math.floor(ms / 1000)} s`;
const ageClass = (ms) => (ms >= RED_MS ? 'red' : ms >= AMBER_MS ? 'amber' : '');
// a snapshot's durations grow while it is shown
const since = (ms) => (ms ? ms + (Date.now() - floor.snapAt) : 0);

const clock = (ms) => new Date(ms).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' });

function shiftText(a) {
  const s = a.shift;
  if (!s) return '—';
  if (s.on_shift) return s.ends_at ? t('f.shift.until', { time: clock(s.ends_at) }) : t('f.shift.on');
  const off = s.next ? t('f.shift.back', { time: clock(s.next) }) : t('f.shift.off');
  return a.overtime ? `${off} · ${t('f.overtime')}` : off;
}

// the product the buyer views: its title (a link to its page when it has one)
function productCell(p) {
  if (!p) return '—';
  const label = p.title || p.id;
  return /^https?:\/\//.test(p.url || '') ? h('a', { href: p.url, target: '_blank', rel: 'noopener noreferrer' }, label) : label;
}

function render() {
  const s = floor.snap;
  if (!s) return;
  const multi = new Set(s.queues.map((q) => q.store)).size > 1;
  $('queues').tBodies[0].replaceChildren(...s.queues.map((q) => {
    const old = q.queued ? since(q.oldest_wait_ms) : 0;
    return h('tr', { 'data-group': q.group },
      h('td', {}, multi ? `${q.store} / ${q.group}` : q.group),
      h('td', { class: 'n' }, q.queued),
      h('td', { class: `oldest ${ageClass(old)}` }, q.queued ? secs(old) : '—'));
  }));
  $('agents').tBodies[0].replaceChildren(...s.agents.map((a) => {
    const st = a.online ? a.state : 'offline';
    return h('tr', { 'data-agent': a.id },
      h('td', {}, a.name || a.id, h('span', { class: 'muted' }, ` ${a.id}`)),
      h('td', { class: `state st-${st}` }, t('f.st.' + st)),
      h('td', { class: 'shift', 'data-on': a.shift ? String(!!a.shift.on_shift) : '' }, shiftText(a)),
      h('td', { class: 'load' }, `${a.load}/${a.capacity}`),
      h('td', {}, a.fr_p50_ms ? `≤ ${secs(a.fr_p50_ms)}` : '—'),
      h('td', {}, a.breaches || 0),
      h('td', { class: 'guard' }, a.guard_hits || 0));
  }));
  $('agent-ids').replaceChildren(...s.agents.map((a) => h('option', { value: a.id }, a.name)));
  $('chats').tBodies[0].replaceChildren(...s.chats.map((c) => {
    const breached = c.flags?.includes('breach');
    const flags = [...(c.flags || [])];
    if (floor.escalated.has(c.chat) && !flags.includes('escalation')) flags.push('escalation');
    const why = floor.escalated.get(c.chat) || c.escalation?.rule || '';
    const prio = c.priority || 'normal';
    const ua = since(c.ua);
    return h('tr', { 'data-chat': c.chat, class: `${breached ? 'breached' : ''} ${floor.watched?.chat === c.chat ? 'on' : ''}`,
      onclick: () => watch(c.chat) },
    h('td', {}, short(c.chat)),
    h('td', {}, c.group),
    h('td', {}, t('f.cs.' + c.state)),
    h('td', {}, c.agent ? (agentOf(c.agent)?.name || c.agent) : '—'),
    h('td', { class: ageClass(ua) }, c.ua ? secs(ua) : '—'),
    h('td', {}, ...flags.map((fl) => h('span', { class: `flag flag-${fl}`, title: fl === 'escalation' ? why : false },
      t.has('f.flag.' + fl) ? t('f.flag.' + fl) : fl))),
    h('td', { class: `prio prio-${prio}` }, t.has('f.prio.' + prio) ? t('f.prio.' + prio) : prio),
    h('td', { class: 'product' }, productCell(c.product)));
  }));
  $('no-chats').hidden = s.chats.length > 0;
  watchMeta();
  drawChart();
}

// ---- the chart: waiting buyers over the last hour (canvas, no library) ----

function sample() {
  if (!floor.snap) return;
  const n = floor.snap.queues.reduce((sum, q) => sum + q.queued, 0);
  floor.samples.push([Date.now(), n]);
  while (floor.samples.length && (floor.samples[0][0] < Date.now() - CHART_SPAN_MS || floor.samples.length > MAX_SAMPLES))
    floor.samples.shift();
  drawChart();
}

// the first-response line: each `stats` event is a point, the slowest of
// the stores shown (a supervisor of one store: its own)
function onStats(f) {
  floor.stats.set(f.store, f);
  const fr = [...floor.stats.values()].map((x) => x.fr_p50_ms_hour).filter((v) => v != null);
  floor.frSamples.push([Date.now(), fr.length ? Math.max(...fr) : null]);
  while (floor.frSamples.length && (floor.frSamples[0][0] < Date.now() - CHART_SPAN_MS || floor.frSamples.length > MAX_SAMPLES))
    floor.frSamples.shift();
  drawChart();
}

function chartLegend() {
  const waiting = floor.samples.length ? floor.samples[floor.samples.length - 1][1] : 0;
  const fr = floor.frSamples.length ? floor.frSamples[floor.frSamples.length - 1][1] : null;
  const frText = fr == null ? '—' : fr > 300000 ? '> 300 s' : `≤ ${secs(fr)}`;
  $('chart-legend').replaceChildren(
    h('span', { class: 'key key-waiting' }, `${t('f.chart.waiting')}: ${waiting}`),
    h('span', { class: 'key key-fr' }, `${t('f.chart.fr')}: ${frText}`));
}

function drawChart() {
  chartLegend();
  const cv = $('chart');
  const dpr = window.devicePixelRatio || 1;
  const w = cv.clientWidth || 480;
  const hh = cv.clientHeight || 140;
  if (cv.width !== Math.round(w * dpr)) { cv.width = Math.round(w * dpr); cv.height = Math.round(hh * dpr); }
  const g = cv.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, hh);
  const wall = document.body.classList.contains('wall');
  const ink = wall ? '#eee' : '#1d1d1f';
  const pts = floor.samples;
  const max = Math.max(4, ...pts.map((p) => p[1]));
  const now = Date.now();
  const x = (ms) => 30 + ((ms - (now - CHART_SPAN_MS)) / CHART_SPAN_MS) * (w - 36);
  const y = (n) => hh - 18 - (n / max) * (hh - 28);
  g.strokeStyle = wall ? '#444' : '#ddd';
  g.fillStyle = ink;
  g.font = '11px system-ui, sans-serif';
  g.lineWidth = 1;
  for (const n of [0, Math.round(max / 2), max]) {
    g.beginPath(); g.moveTo(30, y(n)); g.lineTo(w - 6, y(n)); g.stroke();
    g.fillText(String(n), 4, y(n) + 4);
  }
  g.fillText(t('f.chart.hour'), 30, hh - 4);
  g.fillText(t('f.chart.now'), w - 40, hh - 4);
  if (!pts.length) return;
  g.strokeStyle = '#1565c0';
  g.lineWidth = 2;
  g.beginPath();
  pts.forEach(([ms, n], i) => {
    // a step line: the count holds until the next sample
    if (i) g.lineTo(x(ms), y(pts[i - 1][1]));
    i ? g.lineTo(x(ms), y(n)) : g.moveTo(x(ms), y(n));
  });
  g.lineTo(x(now), y(pts[pts.length - 1][1]));
  g.stroke();
  drawFrLine(g, x, w, hh, now);
}

// the median first response on its own scale (at least 60 s, marked on the right)
function drawFrLine(g, x, w, hh, now) {
  const pts = floor.frSamples.filter((p) => p[1] != null);
  if (!pts.length) return;
  const top = Math.max(60000, ...pts.map((p) => Math.min(p[1], 300001)));
  const y = (ms) => hh - 18 - (Math.min(ms, 300001) / top) * (hh - 28);
  g.fillStyle = '#e65100';
  g.textAlign = 'right';
  g.fillText(`${Math.round(top / 1000)} s`, w - 6, y(top) + 12);
  g.textAlign = 'left';
  g.strokeStyle = '#e65100';
  g.lineWidth = 2;
  g.setLineDash([5, 3]);
  g.beginPath();
  pts.forEach(([ms, v], i) => {
    if (i) g.lineTo(x(ms), y(pts[i - 1][1]));
    i ? g.lineTo(x(ms), y(v)) : g.moveTo(x(ms), y(v));
  });
  g.lineTo(x(now), y(pts[pts.length - 1][1]));
  g.stroke();
  g.setLineDash([]);
}
window.addEventListener('resize', drawChart);

// ---- watching a chat ----------------------------------------------------

function watch(chat) {
  if (document.body.classList.contains('wall')) return;
  if (floor.watched && floor.watched.chat !== chat) session.send({ t: 'unwatch', chat: floor.watched.chat });
  session.send({ t: 'watch', chat });
}

function showWatch(f, joined) {
  const msgs = new Map((floor.watched?.chat === f.chat ? floor.watched.msgs : []));
  for (const m of f.history || []) msgs.set(m.seq, m);
  floor.watched = { chat: f.chat, store: f.store, group: f.group, agent: f.agent, buyer: f.buyer, state: f.state, joined, msgs };
  renderWatch();
  render();
}

function renderWatch() {
  const w = floor.watched;
  $('watch').hidden = !w;
  if (!w) { render(); return; }
  $('watch-title').textContent = w.buyer?.name || short(w.chat);
  watchMeta();
  $('join').hidden = w.joined;
  $('say').hidden = !w.joined;
  const log = $('watch-log');
  const msgs = [...w.msgs.values()].sort((a, b) => a.seq - b.seq);
  log.replaceChildren(...msgs.map((m) => h('li', { class: `msg from-${m.from}${m.private ? ' private' : ''}`, 'data-seq': m.seq },
    h('span', { class: 'who' }, m.name || m.from, m.private ? h('span', { class: 'tag' }, t('f.private')) : null),
    h('p', { class: 'text' }, m.text))));
  log.scrollTop = log.scrollHeight;
}

// the watched chat's group and agent, as the floor last showed them
function watchMeta() {
  const w = floor.watched;
  if (!w) return;
  const c = chatOf(w.chat);
  if (c) Object.assign(w, { group: c.group, agent: c.agent });
  $('watch-meta').textContent = [w.group, w.agent ? t('f.held', { agent: agentOf(w.agent)?.name || w.agent }) : t('f.cs.queued')].join(' · ');
}

$('unwatch').addEventListener('click', () => {
  if (floor.watched) session.send({ t: 'unwatch', chat: floor.watched.chat });
});
$('join').addEventListener('click', () => floor.watched && session.send({ t: 'join', chat: floor.watched.chat }));
$('whisper').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('whisper-text').value.trim();
  if (floor.watched && text && session.send({ t: 'whisper', chat: floor.watched.chat, text, id: newId() })) $('whisper-text').value = '';
});
$('say').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('say-text').value.trim();
  if (floor.watched && text && session.send({ t: 'msg', chat: floor.watched.chat, text, id: newId() })) $('say-text').value = '';
});
$('assign').addEventListener('click', () => {
  const agent = $('assign-to').value.trim();
  if (!floor.watched || !agent) return;
  const frame = { t: 'assign', chat: floor.watched.chat, agent };
  if ($('assign-force').checked) frame.force = true;
  session.send(frame);
});
$('transfer').addEventListener('click', () => {
  const to = $('assign-to').value.trim();
  if (floor.watched && to) session.send({ t: 'transfer', chat: floor.watched.chat, to });
});
$('close').addEventListener('click', () => floor.watched && session.send({ t: 'close', chat: floor.watched.chat }));

// ---- the rest -----------------------------------------------------------

function setWall(on) {
  document.body.classList.toggle('wall', on);
  $('wall').textContent = t(on ? 'f.wall.off' : 'f.wall');
  const u = new URL(location.href);
  if (on) u.searchParams.set('wall', '1'); else u.searchParams.delete('wall');
  history.replaceState(null, '', u);
  drawChart();
}
$('wall').addEventListener('click', () => setWall(!document.body.classList.contains('wall')));

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  floor.token = $('token').value.trim().toLowerCase();
  saved.set('token', floor.token);
  $('login-error').hidden = true;
  startSession();
});

function logout(code) {
  session?.stop();
  saved.del('token');
  floor.token = null;
  floor.snap = null;
  floor.watched = null;
  $('floor').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = code ? t.error(code) : '';
  $('login-error').hidden = !code;
}
$('logout').addEventListener('click', () => logout(null));

setInterval(sample, SAMPLE_MS);
setInterval(render, 1000);         // the waits grow between snapshots

setWall(new URLSearchParams(location.search).get('wall') === '1');
if (floor.token) startSession();
else $('login').hidden = false;
