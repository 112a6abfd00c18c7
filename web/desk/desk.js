// desk.js - the agent desk: token login, ready/away, the agent's chats
// with unread counts, waiting timers and breach flags, the open chat's
// history, reply, transfer, close with an outcome (sold / no sale: the
// store's farewell goes to the buyer first); a sound and a blinking title
// for a new chat, repeated every ALERT_EVERY_S while a chat waits
// unanswered; readable notices when a chat leaves the desk; the product
// the buyer views and its priority (a signed context) in the chat's head;
// notes on a signed buyer (`note` with buyer: true) and those of earlier
// chats, listed under the chat's head ("about this buyer");
// private notes (`note`) and the supervisor's whispers, marked private and
// never sent to the buyer as a msg; the buyer typing (in the open chat
// and the list, for the for_ms the gateway gives unless renewed, ended by
// the buyer's message) and "Read" on the agent's messages the buyer has
// read; the desk says `read {chat, seq}` when the agent opens a chat and
// as messages arrive in the open chat while the page is visible, and
// `typing {chat}` while the agent types (PROTOCOL.md 7.9).
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
// the desk's parts register: quick replies and suggestions (quick.js), the
// guard's warnings (guard.js), the shift in the header (shift.js). Every
// text is set with textContent.

import { Session, newId } from '../proto.js';
import { hooks } from './hooks.js';
import { t, h, $, saved as savedIn, notice } from './ui.js';
import './quick.js';
import './guard.js';
import './shift.js';

const AMBER_S = 20;
const RED_S = 30;
const ALERT_EVERY_S = 10;        // the alert again while a chat waits unanswered
const TYPING_EVERY_MS = 2000;    // typing sent at most this often (the gateway relays one per 2 s)
const wsUrl = new URL('/v1/agent', location.href).href.replace(/^http/, 'ws');
const saved = savedIn('desk');

document.documentElement.lang = t.lang;
for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
$('reply').placeholder = t('d.reply');
$('transfer-to').placeholder = t('d.to');
$('transfer-reason').placeholder = t('d.reason');
$('close-group').title = t('d.close.hint');
$('note').title = t('d.note.hint');
const baseTitle = t('d.title');
document.title = baseTitle;

// ---- state --------------------------------------------------------------

const desk = {
  agent: null,                   // {id, name, groups, capacity}
  state: 'away',
  chats: new Map(),              // chat id -> chat (below)
  open: null,                    // the chat shown
  token: saved.get('token'),
  alerts: 0,                     // alerts so far (sound + title), new chat or still waiting
  lastAlert: 0,                  // ms of the last one
  storeName: '',                 // the store's name, as its automatic messages give it
};

// chat: {id, buyer {id, name}, group, msgs Map seq -> msg, pending Map id
//        -> frame, unread, waitingSince ms|null, fresh (not opened yet),
//        breach {waited_ms} | null, typingUntil ms (the buyer types until),
//        buyerRead (the buyer has read up to this seq), readSent (our read
//        sent up to); parts add their own fields}

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
      for (const fn of hooks.frames.get(f.t) || []) fn(f, desk);
    },
    onStatus(s) {
      $('status').textContent = s === 'online' ? '' : t('status.' + s);
      document.body.dataset.status = s;
    },
    onFailed(frame, err) {
      const c = desk.chats.get(frame.chat);
      c?.pending.delete(frame.id);
      if (!hooks.failed.some((fn) => fn(frame, err, c, desk))) notice(t.error(err.code));
      err.handled = true;            // on.error, called next, says nothing more
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
    if (f.from === 'auto' && f.name) desk.storeName = f.name;
    if (f.from === 'buyer') {
      if (desk.open !== c || document.hidden) c.unread++;
      c.waitingSince ??= Date.now();
      c.typingUntil = 0;               // what it typed has come
    } else if (f.private) {
      c.pending.delete(f.id);          // a note: no answer, the clock runs on
    } else if (f.from === 'agent' || f.from === 'supervisor') {
      c.pending.delete(f.id);          // our own, from another window
      c.waitingSince = null;
    }
    render();
    if (desk.open === c) sendRead(c);
  },
  typing(f) {
    const c = desk.chats.get(f.chat);
    if (!c) return;
    c.typingUntil = Date.now() + (f.for_ms || 6000);
    render();
  },
  read(f) {
    const c = desk.chats.get(f.chat);
    if (!c || !(f.seq > c.buyerRead)) return;
    c.buyerRead = f.seq;
    render();
  },
  // read_self {chat, seq}: this agent read the chat up to seq in another
  // window; what that window has seen is not unread here either
  read_self(f) {
    const c = desk.chats.get(f.chat);
    if (!c) return;
    c.readSent = Math.max(c.readSent, f.seq);
    const left = [...c.msgs.values()].filter((m) => m.from === 'buyer' && m.seq > f.seq).length;
    c.unread = Math.min(c.unread, left);
    render();
  },
  ack(f) {
    const c = desk.chats.get(f.chat);
    const p = c?.pending.get(f.id);
    if (!c) return;
    if (p) {
      // a quick reply's ack carries the text that went out
      c.pending.delete(f.id);
      const note = p.t === 'note';
      c.msgs.set(f.seq, { seq: f.seq, from: 'agent', name: desk.agent?.name, text: f.text ?? p.text, ts: Date.now(), id: f.id,
        private: note });
      if (note) { render(); return; }
    }
    c.waitingSince = null;
    render();
  },
  unassign(f) {
    const c = desk.chats.get(f.chat);
    if (!c) return;
    // a readable notice per reason (PROTOCOL.md 7.1), the buyer named
    const buyer = buyerName(c);
    notice(t.has('d.un.' + f.reason) ? t('d.un.' + f.reason, { buyer }) : t('d.un.other', { buyer, why: f.reason }));
    drop(f.chat);
    render();
  },
  transferred(f) {
    notice(t('d.transferred', { to: f.to }));
  },
  buyer_notes(f) {
    const c = desk.chats.get(f.chat);
    if (!c) return;
    c.notes = f.notes || [];
    render();
  },
  breach(f) {
    const c = desk.chats.get(f.chat);
    if (!c) return;
    c.breach = { waited_ms: f.waited_ms };
    render();
  },
  state(f) {
    setState(f.state);
  },
  error(f) {
    if (!f.ref && !session.up) desk.loginError = f.code;   // the login failed
    else if (!f.ref || !f.handled) notice(t.error(f.code));
  },
};

function upsert(f, fresh) {
  let c = desk.chats.get(f.chat);
  if (!c) {
    c = { id: f.chat, msgs: new Map(), pending: new Map(), unread: 0, waitingSince: null, fresh, breach: null,
      typingUntil: 0, buyerRead: 0, readSent: 0 };
    desk.chats.set(f.chat, c);
  }
  c.buyer = f.buyer || { id: '', name: '' };
  c.group = f.group;
  c.priority = f.priority || null;
  c.product = f.product || null;
  c.notes = f.buyer_notes || [];
  c.buyerRead = Math.max(c.buyerRead, f.read || 0);
  for (const m of f.history || []) {
    if (c.msgs.has(m.seq)) continue;
    c.msgs.set(m.seq, m);
    if (fresh && m.from === 'buyer') c.unread++;
    if (m.from === 'auto' && m.name) desk.storeName = m.name;
  }
  // waiting since the first buyer message after the agent's last answer
  const seqs = [...c.msgs.keys()].sort((a, b) => a - b);
  let since = null;
  for (const s of seqs) {
    const m = c.msgs.get(s);
    if (m.private) continue;
    if (m.from === 'agent' || m.from === 'supervisor') since = null;
    else if (m.from === 'buyer' && since === null) since = Math.min(m.ts || Date.now(), Date.now());
  }
  c.waitingSince = since;
}

// the buyer as the desk names it: its own name, the name its store's site
// signed (7.7), its id
function buyerName(c) {
  return c.buyer.name || c.buyer.signed?.name || c.buyer.id || c.id.slice(0, 8);
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

const typingNow = (c) => c.typingUntil > Date.now();

function chatItem(c) {
  const s = waitedS(c);
  const last = [...c.msgs.values()].sort((a, b) => b.seq - a.seq)[0];
  return h('li', { class: `item ${desk.open === c ? 'open' : ''} wait-${waitClass(s) || 'none'}`,
    'data-chat': c.id, onclick: () => openChat(c.id) },
  h('span', { class: 'name' }, buyerName(c)),
  h('span', { class: 'unread', hidden: !c.unread }, c.unread),
  h('span', { class: 'typing', hidden: !typingNow(c) }, t('d.typing')),
  h('span', { class: `timer ${waitClass(s)}` }, s === null ? '' : `${s}s`),
  c.breach ? h('span', { class: 'breach', title: t('d.breach', { s: Math.round(c.breach.waited_ms / 1000) }) },
    t('d.breach.flag')) : null,
  h('span', { class: 'last' }, last ? last.text : ''));
}

function msgItem(c, m, pending) {
  const who = m.from === 'agent' ? (m.name || desk.agent?.name || '') : m.name || m.from;
  const tag = m.private ? t(m.from === 'supervisor' ? 'd.whisper' : 'd.private') : null;
  return h('li', { class: `msg from-${m.from}${m.private ? ' private' : ''}${pending ? ' pending' : ''}`,
    'data-seq': m.seq ?? false, 'data-id': m.id ?? false },
    h('span', { class: 'who' }, who, tag ? h('span', { class: 'tag' }, tag) : null),
    h('p', { class: 'text' }, m.text),
    !pending && m.from === 'agent' && !m.private && m.seq <= c.buyerRead
      ? h('span', { class: 'seen' }, t('d.read')) : null,
    ...(pending ? [] : hooks.msgExtras.map((fn) => fn(m, c, desk))));
}

function render() {
  const list = [...desk.chats.values()];
  $('chat-list').replaceChildren(...list.map(chatItem));
  $('no-chats').hidden = list.length > 0;
  const c = desk.open;
  $('chat').hidden = !c;
  $('pick').hidden = !!c;
  if (!c) return;
  $('chat-buyer').textContent = buyerName(c);
  $('chat-group').textContent = t('d.group', { g: c.group });
  const pri = $('chat-priority');
  pri.hidden = !c.priority || c.priority === 'normal';
  pri.textContent = c.priority ? (t.has('d.priority.' + c.priority) ? t('d.priority.' + c.priority) : c.priority) : '';
  pri.className = `priority p-${c.priority || 'normal'}`;
  const prod = $('chat-product');
  prod.hidden = !c.product;
  if (c.product) {
    const title = [c.product.title || c.product.id, c.product.price].filter(Boolean).join(' · ');
    prod.textContent = t('d.product', { title });
    // only http(s) links (the gateway checks it too); opened apart from the desk
    if (/^https?:\/\//.test(c.product.url || '')) prod.href = c.product.url;
    else prod.removeAttribute('href');
  }
  $('chat-about').hidden = !c.notes?.length;
  $('chat-about-list').replaceChildren(...(c.notes || []).map((n) => h('li', {},
    n.text, h('span', { class: 'muted' }, ` — ${n.name || n.agent}, ${new Date(n.ts).toLocaleDateString()}`))));
  $('note-buyer').hidden = !c.buyer?.signed;
  tickOpen();
  const log = $('chat-log');
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  const msgs = [...c.msgs.values()].sort((a, b) => a.seq - b.seq).map((m) => msgItem(c, m, false));
  // a quick reply shows its key until the ack brings the text
  const pend = [...c.pending.values()].map((p) => msgItem(c, { from: 'agent', text: p.text ?? p.key, id: p.id,
    private: p.t === 'note' }, true));
  log.replaceChildren(...msgs, ...pend, ...hooks.logTail.flatMap((fn) => fn(c, desk)));
  if (atBottom || c.scrollDown) log.scrollTop = log.scrollHeight;
  c.scrollDown = false;
  tickTyping();
}

// the buyer typing: in the list and under the open chat, until it expires
function tickTyping() {
  for (const li of $('chat-list').children) {
    const c = desk.chats.get(li.dataset.chat);
    const el = li.querySelector('.typing');
    if (c && el) el.hidden = !typingNow(c);
  }
  const c = desk.open;
  $('chat-typing').hidden = !c || !typingNow(c);
  if (c) $('chat-typing').textContent = t('d.typing.buyer', { buyer: buyerName(c) });
}

// read {chat, seq}: the agent has seen the chat up to its last message
// (the open chat, while the page is visible)
function sendRead(c) {
  if (document.hidden || desk.open !== c || !session) return;
  const seq = Math.max(0, ...c.msgs.keys());
  if (seq > c.readSent && session.send({ t: 'read', chat: c.id, seq })) c.readSent = seq;
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
  tickTyping();
  alertWaiting();
}, 1000);

function openChat(id) {
  const c = desk.chats.get(id);
  if (!c) return;
  desk.open = c;
  c.unread = 0;
  c.fresh = false;
  c.scrollDown = true;
  render();
  sendRead(c);
  const assist = $('assist');
  assist.replaceChildren();
  for (const fn of hooks.chatOpened) fn(c, assist, desk);
  assist.hidden = !assist.childElementCount;
  $('reply').focus();
}

// ---- alerts: a short tone and a blinking title -------------------------------
// For a new chat at once; then again every ALERT_EVERY_S while any chat
// waits unanswered (a buyer message no agent message followed); the title
// blinks as long as that lasts.

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

// a chat answered from another window is not waiting, even if not opened here
const needy = () => [...desk.chats.values()].filter((c) => c.waitingSince !== null);

let blink = null;
function alertNewChat() {
  desk.alerts++;
  desk.lastAlert = Date.now();
  document.body.dataset.alerts = desk.alerts;
  beep();
  if (blink) return;
  let lit = false;
  blink = setInterval(() => {
    const n = needy().length;
    if (!n) {
      clearInterval(blink);
      blink = null;
      document.title = baseTitle;
      return;
    }
    lit = !lit;
    const fresh = needy().some((c) => c.fresh);
    document.title = lit ? `(${n}) ${t(fresh ? 'd.newchat' : 'd.unanswered')}` : baseTitle;
  }, 800);
}

// once a second: the alert again if a chat still waits, ALERT_EVERY_S after the last
function alertWaiting() {
  if (needy().length && Date.now() - desk.lastAlert >= ALERT_EVERY_S * 1000) alertNewChat();
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

// A frame with an id (msg, quick): shown as pending in its chat until acked.
function sendMsg(c, frame) {
  c.pending.set(frame.id, frame);
  c.scrollDown = true;
  session.sendMsg(frame);
  render();
}

function sendReply() {
  const c = desk.open;
  let text = $('reply').value.trim();
  if (!c || !text) return;
  for (const check of hooks.beforeSend) {
    const r = check(text, c, desk);
    if (r?.hold) { notice(r.hold); return; }
    if (r?.text) text = r.text;
  }
  $('reply').value = '';
  $('reply').dispatchEvent(new Event('input'));
  sendMsg(c, { t: 'msg', chat: c.id, id: newId(), text });
}
// a private note: kept with the chat, never sent to the buyer, no answer
$('note').addEventListener('click', () => {
  const c = desk.open;
  const text = $('reply').value.trim();
  if (!c || !text) return;
  $('reply').value = '';
  $('reply').dispatchEvent(new Event('input'));
  sendMsg(c, { t: 'note', chat: c.id, id: newId(), text });
});
// a note on the signed buyer: kept for its later chats (buyer_notes answers)
$('note-buyer').addEventListener('click', () => {
  const c = desk.open;
  const text = $('reply').value.trim();
  if (!c || !text || !session.send({ t: 'note', chat: c.id, text, buyer: true })) return;
  $('reply').value = '';
  $('reply').dispatchEvent(new Event('input'));
});
$('composer').addEventListener('submit', (e) => { e.preventDefault(); sendReply(); });
$('reply').addEventListener('keydown', (e) => {
  if (desk.open && hooks.replyKey.some((fn) => fn(e, desk.open, desk))) return;
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendReply(); }
});

desk.act = {
  send: (frame) => session?.send(frame) ?? false,
  sendMsg,
  forget: (id) => session?.forget(id),
  render,
  notice,
  compose(text) {
    const box = $('reply');
    box.value = text;
    box.dispatchEvent(new Event('input'));
    box.focus();
    box.setSelectionRange(text.length, text.length);
  },
};
let lastTyping = 0;
$('reply').addEventListener('input', () => {
  // the buyer sees "typing" (PROTOCOL.md 7.9)
  if (desk.open && $('reply').value && Date.now() - lastTyping >= TYPING_EVERY_MS
      && session.send({ t: 'typing', chat: desk.open.id }))
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

// close with an outcome: the buyer gets the store's farewell first
for (const [id, outcome] of [['close-sold', 'sold'], ['close-nosale', 'no_sale'], ['close-chat', null]]) {
  $(id).addEventListener('click', () => {
    if (!desk.open) return;
    const frame = { t: 'close', chat: desk.open.id };
    if (outcome) frame.outcome = outcome;
    session.send(frame);
  });
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && desk.open) {
    desk.open.unread = 0;
    render();
    sendRead(desk.open);
  }
});

// ---- start ------------------------------------------------------------------

if (desk.token) startSession();
else $('login').hidden = false;
