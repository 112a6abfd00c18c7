// desk.js - the agent desk: token login, ready/away, the agent's chats
// with unread counts and waiting timers, the open chat's history, reply,
// transfer, close; a sound and a blinking title for a new chat.
//
// One Session (../proto.js) on /v1/agent from this page's own origin (the
// gateway refuses desk sessions from other pages). The token stays in
// sessionStorage (this tab only) so a reload logs in again; replies not
// yet acknowledged stay there too and are resent with their ids.
//
// Waiting: a chat waits from the buyer's first unanswered message (the
// message's ts, from history, or its arrival) until the agent answers; the
// timer turns amber at 20 s and red at 30 s (the 30-second rule).
//
// Frames go through `on` below and then hooks.frames (hooks.js), where
// quick replies, suggestions, guard warnings, notes, whispers and shift
// status register when their issues land. Every text is set with
// textContent.

import { Session, newId } from '../proto.js';
import { pickLang, texts } from '../i18n.js';
import { hooks } from './hooks.js';

const AMBER_S = 20;
const RED_S = 30;
const t = texts(pickLang(new URLSearchParams(location.search).get('lang')));
const $ = (id) => document.getElementById(id);
const wsUrl = new URL('/v1/agent', location.href).href.replace(/^http/, 'ws');
const saved = {
  get: (k) => { try { return JSON.parse(sessionStorage.getItem('chatgw:desk:' + k)); } catch { return null; } },
  set: (k, v) => sessionStorage.setItem('chatgw:desk:' + k, JSON.stringify(v)),
  del: (k) => sessionStorage.removeItem('chatgw:desk:' + k),
};

function h(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

document.documentElement.lang = t.lang;
for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
$('reply').placeholder = t('d.reply');
$('transfer-to').placeholder = t('d.to');
$('transfer-reason').placeholder = t('d.reason');
const baseTitle = t('d.title');
document.title = baseTitle;

// ---- state --------------------------------------------------------------

const desk = {
  agent: null,                   // {id, name, groups, capacity}
  state: 'away',
  chats: new Map(),              // chat id -> chat (below)
  open: null,                    // the chat shown
  token: saved.get('token'),
  alerts: 0,                     // new-chat alerts so far (sound + title)
};

// chat: {id, buyer {id, name}, group, msgs Map seq -> msg, pending Map id
//        -> frame, unread, waitingSince ms|null, fresh (not opened yet), li}

let session = null;

function startSession() {
  session?.stop();
  session = new Session({
    url: wsUrl,
    pending: saved.get('pending') || [],
    persist: (frames) => saved.set('pending', frames),
    backoff: { min: 500, max: 10000 },
    greet: () => ({ t: 'login', token: desk.token }),
    onFrame(f) {
      on[f.t]?.(f);
      hooks.frames.get(f.t)?.(f, desk);
    },
    onStatus(s) {
      $('status').textContent = s === 'online' ? '' : t('status.' + s);
      document.body.dataset.status = s;
    },
    onFailed(frame, err) {
      toast(t.error(err.code));
      desk.chats.get(frame.chat)?.pending.delete(frame.id);
      render();
    },
    onClose(code) {
      if (desk.loginError) {
        logout(desk.loginError);
        return 'stop';
      }
      return code === 1000 ? 'stop' : 'retry';
    },
  });
  desk.loginError = null;
  session.start();
}

// ---- frames -------------------------------------------------------------

const on = {
  welcome(f) {
    desk.agent = f.agent;
    $('login').hidden = true;
    $('desk').hidden = false;
    $('agent-name').textContent = f.agent.name || f.agent.id;
    $('agent-groups').textContent = (f.agent.groups || []).join(' · ');
    $('transfer-targets').replaceChildren(...(f.agent.groups || []).map((g) => h('option', { value: 'group:' + g })));
    setState(f.state);
    const held = new Set();
    for (const c of f.chats || []) {
      if (!c) continue;
      held.add(c.chat);
      upsert(c, false);
    }
    for (const id of [...desk.chats.keys()]) if (!held.has(id)) drop(id);
    for (const p of session.pending.values()) desk.chats.get(p.chat)?.pending.set(p.id, p);
    render();
  },
  assign(f) {
    const isNew = !desk.chats.has(f.chat);
    upsert(f, isNew);
    if (isNew) alertNewChat();
    render();
  },
  msg(f) {
    const c = desk.chats.get(f.chat);
    if (!c || c.msgs.has(f.seq)) return;
    c.msgs.set(f.seq, f);
    if (f.from === 'buyer') {
      if (desk.open !== c || document.hidden) c.unread++;
      c.waitingSince ??= Date.now();
    } else if (f.from === 'agent') {
      c.pending.delete(f.id);          // our own, from another window
      c.waitingSince = null;
    }
    render();
  },
  ack(f) {
    const c = desk.chats.get(f.chat);
    const p = c?.pending.get(f.id);
    if (!c) return;
    if (p) {
      c.pending.delete(f.id);
      c.msgs.set(f.seq, { seq: f.seq, from: 'agent', name: desk.agent?.name, text: p.text, ts: Date.now(), id: f.id });
    }
    c.waitingSince = null;
    render();
  },
  unassign(f) {
    const c = desk.chats.get(f.chat);
    if (!c) return;
    const why = { closed: t('d.closed') }[f.reason] || t('d.gone', { why: f.reason });
    if (f.reason !== 'transferred') toast(why);
    drop(f.chat);
    render();
  },
  transferred(f) {
    toast(t('d.transferred', { to: f.to }));
  },
  state(f) {
    setState(f.state);
  },
  error(f) {
    if (!f.ref && !session.up) desk.loginError = f.code;   // the login failed
    else toast(t.error(f.code));
  },
};

function upsert(f, fresh) {
  let c = desk.chats.get(f.chat);
  if (!c) {
    c = { id: f.chat, msgs: new Map(), pending: new Map(), unread: 0, waitingSince: null, fresh };
    desk.chats.set(f.chat, c);
  }
  c.buyer = f.buyer || { id: '', name: '' };
  c.group = f.group;
  for (const m of f.history || []) {
    if (c.msgs.has(m.seq)) continue;
    c.msgs.set(m.seq, m);
    if (fresh && m.from === 'buyer') c.unread++;
  }
  // waiting since the first buyer message after the agent's last answer
  const seqs = [...c.msgs.keys()].sort((a, b) => a - b);
  let since = null;
  for (const s of seqs) {
    const m = c.msgs.get(s);
    if (m.from === 'agent') since = null;
    else if (m.from === 'buyer' && since === null) since = Math.min(m.ts || Date.now(), Date.now());
  }
  c.waitingSince = since;
}

function drop(id) {
  const c = desk.chats.get(id);
  desk.chats.delete(id);
  if (desk.open === c) desk.open = null;
}

function setState(s) {
  desk.state = s;
  $('ready').classList.toggle('on', s === 'ready');
  $('away').classList.toggle('on', s === 'away');
  $('ready').setAttribute('aria-pressed', s === 'ready');
  $('away').setAttribute('aria-pressed', s === 'away');
}

// ---- rendering ----------------------------------------------------------

function waitedS(c) {
  return c.waitingSince === null ? null : Math.max(0, Math.floor((Date.now() - c.waitingSince) / 1000));
}

function waitClass(s) {
  return s === null ? '' : s >= RED_S ? 'red' : s >= AMBER_S ? 'amber' : 'ok';
}

function chatItem(c) {
  const s = waitedS(c);
  const last = [...c.msgs.values()].sort((a, b) => b.seq - a.seq)[0];
  return h('li', { class: `item ${desk.open === c ? 'open' : ''} wait-${waitClass(s) || 'none'}`,
    'data-chat': c.id, onclick: () => openChat(c.id) },
  h('span', { class: 'name' }, c.buyer.name || c.buyer.id || c.id.slice(0, 8)),
  h('span', { class: 'unread', hidden: !c.unread }, c.unread),
  h('span', { class: `timer ${waitClass(s)}` }, s === null ? '' : `${s}s`),
  h('span', { class: 'last' }, last ? last.text : ''));
}

function msgItem(m, pending) {
  const who = m.from === 'agent' ? (m.name || desk.agent?.name || '') : m.name || m.from;
  return h('li', { class: `msg from-${m.from}${pending ? ' pending' : ''}`, 'data-seq': m.seq ?? false, 'data-id': m.id ?? false },
    h('span', { class: 'who' }, who),
    h('p', { class: 'text' }, m.text));
}

function render() {
  const list = [...desk.chats.values()];
  $('chat-list').replaceChildren(...list.map(chatItem));
  $('no-chats').hidden = list.length > 0;
  const c = desk.open;
  $('chat').hidden = !c;
  $('pick').hidden = !!c;
  if (!c) return;
  $('chat-buyer').textContent = c.buyer.name || c.buyer.id;
  $('chat-group').textContent = t('d.group', { g: c.group });
  tickOpen();
  const log = $('chat-log');
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  const msgs = [...c.msgs.values()].sort((a, b) => a.seq - b.seq).map((m) => msgItem(m, false));
  const pend = [...c.pending.values()].map((p) => msgItem({ from: 'agent', text: p.text, id: p.id }, true));
  log.replaceChildren(...msgs, ...pend);
  if (atBottom || c.scrollDown) log.scrollTop = log.scrollHeight;
  c.scrollDown = false;
}

function tickOpen() {
  const c = desk.open;
  if (!c) return;
  const s = waitedS(c);
  $('chat-wait').textContent = s === null ? '' : t('d.waiting', { s });
  $('chat-wait').className = `wait ${waitClass(s)}`;
}

// the timers, once a second, without rebuilding the lists
setInterval(() => {
  for (const li of $('chat-list').children) {
    const c = desk.chats.get(li.dataset.chat);
    if (!c) continue;
    const s = waitedS(c);
    const timer = li.querySelector('.timer');
    timer.textContent = s === null ? '' : `${s}s`;
    timer.className = `timer ${waitClass(s)}`;
    li.className = li.className.replace(/wait-\S+/, `wait-${waitClass(s) || 'none'}`);
  }
  tickOpen();
}, 1000);

function openChat(id) {
  const c = desk.chats.get(id);
  if (!c) return;
  desk.open = c;
  c.unread = 0;
  c.fresh = false;
  c.scrollDown = true;
  render();
  const assist = $('assist');
  assist.replaceChildren();
  for (const fn of hooks.chatOpened) fn(c, assist, desk);
  assist.hidden = !assist.childElementCount;
  $('reply').focus();
}

let toastTimer = null;
function toast(text) {
  $('toast').textContent = text;
  $('toast').hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { $('toast').hidden = true; }, 6000);
}

// ---- new-chat alert: a short tone and a blinking title --------------------

let audio = null;
function beep() {
  try {
    audio ??= new AudioContext();
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.15, audio.currentTime);
    g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    o.connect(g).connect(audio.destination);
    o.start();
    o.stop(audio.currentTime + 0.4);
  } catch { /* no audio: the title still blinks */ }
}

let blink = null;
function alertNewChat() {
  desk.alerts++;
  document.body.dataset.alerts = desk.alerts;
  beep();
  if (blink) return;
  let on = false;
  blink = setInterval(() => {
    const fresh = [...desk.chats.values()].filter((c) => c.fresh).length;
    if (!fresh) {
      clearInterval(blink);
      blink = null;
      document.title = baseTitle;
      return;
    }
    on = !on;
    document.title = on ? `(${fresh}) ${t('d.newchat')}` : baseTitle;
  }, 800);
}

// ---- actions ------------------------------------------------------------

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  desk.token = $('token').value.trim().toLowerCase();
  saved.set('token', desk.token);
  $('login-error').hidden = true;
  audio ??= new AudioContext();        // allowed now: a user gesture
  startSession();
});

function logout(code) {
  session?.stop();
  session?.dropPending();
  saved.del('token');
  desk.token = null;
  desk.chats.clear();
  desk.open = null;
  $('desk').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = code ? t.error(code) : '';
  $('login-error').hidden = !code;
}
$('logout').addEventListener('click', () => logout(null));

$('ready').addEventListener('click', () => session?.send({ t: 'state', state: 'ready' }));
$('away').addEventListener('click', () => session?.send({ t: 'state', state: 'away' }));

function sendReply() {
  const c = desk.open;
  let text = $('reply').value.trim();
  if (!c || !text) return;
  for (const check of hooks.beforeSend) {
    const r = check(text, c, desk);
    if (r?.hold) { toast(r.hold); return; }
    if (r?.text) text = r.text;
  }
  $('reply').value = '';
  const frame = { t: 'msg', chat: c.id, id: newId(), text };
  c.pending.set(frame.id, frame);
  c.scrollDown = true;
  session.sendMsg(frame);
  render();
}
$('composer').addEventListener('submit', (e) => { e.preventDefault(); sendReply(); });
$('reply').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendReply(); }
});
let lastTyping = 0;
$('reply').addEventListener('input', () => {
  // accepted by the gateway (metered), not relayed to the buyer yet
  if (desk.open && Date.now() - lastTyping > 3000 && session.send({ t: 'typing', chat: desk.open.id }))
    lastTyping = Date.now();
});

$('transfer').addEventListener('submit', (e) => {
  e.preventDefault();
  const c = desk.open;
  const to = $('transfer-to').value.trim();
  if (!c || !to) return;
  const frame = { t: 'transfer', chat: c.id, to };
  const reason = $('transfer-reason').value.trim();
  if (reason) frame.reason = reason;
  if (session.send(frame)) {
    $('transfer-to').value = '';
    $('transfer-reason').value = '';
  }
});

$('close-chat').addEventListener('click', () => {
  if (desk.open) session.send({ t: 'close', chat: desk.open.id });
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && desk.open) {
    desk.open.unread = 0;
    render();
  }
});

// ---- start ------------------------------------------------------------------

if (desk.token) startSession();
else $('login').hidden = false;
