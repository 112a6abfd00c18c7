// widget.js - the buyer's chat box, embedded by a store with one tag:
//
//   <script type="module" src="https://GATEWAY/widget.js" data-store="STORE"></script>
//
// Optional attributes: data-name (the buyer's display name), data-group
// (a group of the store), data-lang ("en" or "zh"; default: the
// browser's language), data-open ("true": open at once), data-context
// (the buyer's context signed by the store's site, PROTOCOL.md 7.7: who
// the buyer is, its priority, the product it views; sent with a new
// chat's hello).
//
// It draws a launcher and a chat panel in a shadow root (its styles,
// widget.css, cannot leak into the store's page nor the page's into it),
// and talks to GATEWAY/v1/buyer (proto.js). The chat survives page
// reloads: the resume token, the unacknowledged messages and whether the
// panel was open live in sessionStorage (this tab only), and a reload
// resumes the chat and replays its transcript. Every text is put in the
// page with textContent, never parsed as HTML.
//
// Frames from the gateway go through one table, `on` below: a new frame
// is one row there. When the chat closes the buyer is asked for a 1-5 rating
// and an optional comment (at most RATE_COMMENT_MAX characters, a counter
// says how many are left), sent once (`rate`; an agent's close ends the
// socket, so the closed chat is resumed to send it). Off-hours notices are
// `auto` messages, shown as the store's like any other. A new chat started
// after a closed one sends the closed chat's resume token as `previous`
// (PROTOCOL.md 7.7: the buyer returns to the agent who served it), until
// the new chat's first message is stored.
//
// Typing and read (PROTOCOL.md 6.7): "Agent is typing…" under the log
// while the agent types (for the for_ms the gateway gives, unless renewed;
// the agent's message ends it at once); "Read" on the buyer's own messages
// up to the seq the agent has read. The widget sends `typing` while the
// buyer types (at most once per TYPING_EVERY_MS) and `read` when it shows
// the agent's messages while the page is visible and the panel open.

import { Session, newId, features } from './proto.js';
import { pickLang, texts } from './i18n.js';

const script = [...document.scripts].find((s) => s.src === import.meta.url)
  || document.querySelector('script[data-store]');
const opts = {
  store: script?.dataset.store || '',
  name: script?.dataset.name || '',
  group: script?.dataset.group || '',
  open: script?.dataset.open === 'true',
  context: script?.dataset.context || '',
};
const t = texts(pickLang(script?.dataset.lang));
const TYPING_EVERY_MS = 2000;       // the gateway relays one per typing_relay (2 s) anyway
const wsUrl = new URL('v1/buyer', import.meta.url).href.replace(/^http/, 'ws');
const key = (k) => `chatgw:${opts.store}:${k}`;
const store = {
  get: (k) => { try { return JSON.parse(sessionStorage.getItem(key(k))); } catch { return null; } },
  set: (k, v) => sessionStorage.setItem(key(k), JSON.stringify(v)),
  del: (k) => sessionStorage.removeItem(key(k)),
};

// h('div', {class: 'x'}, 'text', child): an element; strings become text.
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

// ---- the panel ----------------------------------------------------------

const host = h('div', { class: 'chatgw-widget', 'data-chatgw': 'widget', lang: t.lang });
const root = host.attachShadow({ mode: 'open' });
const ui = {};
ui.launcher = h('button', { class: 'launcher', onclick: () => openPanel(true) }, t('w.open'));
ui.status = h('span', { class: 'status' });
ui.agent = h('p', { class: 'banner agent', hidden: true });
ui.queue = h('p', { class: 'banner queue', hidden: true });
ui.offhours = h('p', { class: 'banner offhours', hidden: true });    // issue 12's notice
ui.log = h('ol', { class: 'log', 'aria-live': 'polite' });
ui.typing = h('p', { class: 'typing', hidden: true, 'aria-live': 'polite' });
ui.error = h('p', { class: 'error', hidden: true });
// the rating form: a score (1-5), an optional comment with the characters
// left, one button that sends both
const RATE_COMMENT_MAX = 2000;     // max_text_chars' default (PROTOCOL.md 5, 6.1)
function rateForm() {
  let score = 0;
  const left = h('span', { class: 'left', 'aria-live': 'polite' });
  const comment = h('textarea', { class: 'comment', rows: 2, maxlength: RATE_COMMENT_MAX,
    placeholder: t('w.rate.comment'), 'aria-label': t('w.rate.comment'), oninput: check });
  const send = h('button', { type: 'submit', class: 'rate-send', disabled: true }, t('w.rate.send'));
  const stars = [1, 2, 3, 4, 5].map((n) => h('button', { type: 'button', 'data-score': n, title: String(n),
    'aria-pressed': 'false', onclick: () => { score = n; check(); } }, '★'.repeat(n)));
  // the counter in UTF-16 units, as maxlength counts: never more than the gateway's characters
  function check() {
    const n = RATE_COMMENT_MAX - comment.value.length;
    left.textContent = n >= 0 ? t('w.rate.left', { n }) : t('w.rate.over', { n: -n });
    left.classList.toggle('over', n < 0);
    for (const b of stars) b.setAttribute('aria-pressed', String(Number(b.dataset.score) === score));
    send.disabled = !score || n < 0 || !!state.rateFrame;
  }
  check();
  return [h('form', { class: 'rate-form', onsubmit: (e) => { e.preventDefault(); if (!send.disabled) rate(score, comment.value.trim()); } },
    h('span', {}, t('w.rate')), h('span', { class: 'stars' }, ...stars), comment, left, send)];
}
ui.rating = h('div', { class: 'rating', hidden: true });
ui.closed = h('div', { class: 'closed', hidden: true }, h('p', {}, t('w.closed')), ui.rating,
  h('button', { class: 'new', onclick: newChat }, t('w.new')));
ui.input = h('textarea', { rows: 2, placeholder: t('w.placeholder'), maxlength: 2000, oninput: typing,
  onkeydown: (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(); }
  } });
ui.form = h('form', { class: 'composer', onsubmit: (e) => { e.preventDefault(); sendText(); } },
  ui.input, h('button', { type: 'submit', class: 'send' }, t('w.send')));
ui.panel = h('section', { class: 'panel', hidden: true, 'aria-label': t('w.title') },
  h('header', {}, h('strong', {}, t('w.title')), ui.status,
    h('button', { class: 'x', title: t('w.close'), 'aria-label': t('w.close'), onclick: () => openPanel(false) }, '×')),
  ui.agent, ui.queue, ui.offhours, ui.log, ui.typing, ui.error, ui.closed, ui.form);
root.append(h('link', { rel: 'stylesheet', href: new URL('widget.css', import.meta.url).href }),
  ui.launcher, ui.panel);

function openPanel(open) {
  ui.panel.hidden = !open;
  ui.launcher.hidden = open;
  store.set('open', open);
  if (open) {
    session.start();
    ui.input.focus();
    markRead();
  }
}

// ---- the chat ---------------------------------------------------------------

const state = {
  resume: store.get('resume'),      // the resume token, or null
  chat: null,
  lastSeq: 0,                        // highest seq shown
  closed: false,
  helloError: null,                  // error code of the last hello
  lastTyping: 0,
  readSent: 0,
  rateFrame: null,                   // the rating to send (again) once the session is up
  agentRead: 0,                      // the agent has read the buyer's messages up to this seq
};

const session = new Session({
  url: wsUrl,
  pending: store.get('pending') || [],
  persist: (frames) => store.set('pending', frames),
  backoff: { min: 500, max: 10000 },
  greet() {
    state.helloError = null;
    const hello = { t: 'hello' };
    if (opts.name) hello.name = opts.name;
    if (state.resume) return { ...hello, resume: state.resume, since: state.lastSeq };
    hello.store = opts.store;
    if (opts.group) hello.group = opts.group;
    if (opts.context) hello.context = opts.context;
    const previous = store.get('previous');
    if (previous) hello.previous = previous;
    return hello;
  },
  onFrame: (f) => on[f.t]?.(f),
  onStatus(s) {
    // a closed chat's socket ends by design: nothing to report
    ui.status.textContent = s === 'online' || (s === 'stopped' && state.closed) ? '' : t('status.' + s);
    host.dataset.status = s;
  },
  onFailed(frame, err) {
    const el = ui.log.querySelector(`[data-id="${CSS.escape(frame.id)}"]`);
    if (el) {
      el.classList.add('failed');
      el.querySelector('.state').textContent = t('w.failed', { why: t.error(err.code) });
    }
  },
  onClose(code) {
    if (state.closed || code === 1000) return 'stop';
    if (state.helloError === 'unauthorized') {
      // the chat is gone (expired, or never stored): start a new one and
      // send the messages still pending there
      forgetChat();
      return 'now';
    }
    if (state.helloError === 'not_found') return 'stop';   // no such store
    return 'retry';
  },
});

function forgetChat() {
  state.resume = null;
  state.chat = null;
  state.lastSeq = 0;
  state.readSent = 0;
  state.agentRead = 0;
  showTyping(null);
  store.del('resume');
  for (const el of ui.log.querySelectorAll('[data-seq]')) el.remove();
}

// Places a message element by seq; pending ones (no seq yet) stay last.
function place(el) {
  const seq = Number(el.dataset.seq);
  for (const other of ui.log.children) {
    const s = other.dataset.seq;
    if (s === undefined || Number(s) > seq) {
      ui.log.insertBefore(el, other);
      return;
    }
  }
  ui.log.append(el);
}

function bubble(from, name, text) {
  const who = from === 'buyer' ? t('w.you') : from === 'system' ? t('w.system') : name || '';
  return h('li', { class: `msg from-${from}` },
    h('span', { class: 'who' }, who), h('p', { class: 'text' }, text), h('span', { class: 'state' }));
}

function scrollDown() {
  ui.log.scrollTop = ui.log.scrollHeight;
}

function showPending(frame) {
  const el = bubble('buyer', '', frame.text);
  el.dataset.id = frame.id;
  el.classList.add('pending');
  el.querySelector('.state').textContent = t('w.sending');
  ui.log.append(el);
  scrollDown();
}

function settle(el, seq) {
  el.dataset.seq = seq;
  el.classList.remove('pending');
  el.querySelector('.state').textContent = '';
  el.remove();
  place(el);
  markSeen(el);
}

// "Read" on the buyer's own stored messages up to the agent's read seq.
function markSeen(el) {
  const seen = el.classList.contains('from-buyer') && el.dataset.seq
    && Number(el.dataset.seq) <= state.agentRead;
  if (!seen || el.classList.contains('seen')) return;
  el.classList.add('seen');
  el.querySelector('.state').textContent = t('w.read');
}

// "Agent is typing…" for ms (null: hide it now).
function showTyping(name, ms) {
  clearTimeout(showTyping.timer);
  ui.typing.hidden = name === null;
  if (name === null) return;
  ui.typing.textContent = name ? t('w.typing.name', { name }) : t('w.typing');
  showTyping.timer = setTimeout(() => { ui.typing.hidden = true; }, ms);
}

function showError(code) {
  ui.error.textContent = t.error(code);
  ui.error.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { ui.error.hidden = true; }, 5000);
}

const on = {
  welcome(f) {
    if (state.chat && f.chat !== state.chat) forgetChat();
    state.chat = f.chat;
    state.resume = f.resume;
    store.set('resume', f.resume);
    if (state.rateFrame) session.send(state.rateFrame);
  },
  msg(f) {
    state.lastSeq = Math.max(state.lastSeq, f.seq);
    if (ui.log.querySelector(`[data-seq="${f.seq}"]`)) return;     // replayed twice
    const mine = f.id && f.from === 'buyer' && ui.log.querySelector(`[data-id="${CSS.escape(f.id)}"]`);
    if (mine) {
      settle(mine, f.seq);
    } else {
      const el = bubble(f.from, f.name, f.text);
      el.dataset.seq = f.seq;
      if (f.id) el.dataset.id = f.id;
      place(el);
      markSeen(el);
    }
    if (f.from === 'agent') showTyping(null);          // what it typed has come
    scrollDown();
    if (f.from !== 'buyer') markRead();
  },
  typing(f) {
    if (!state.closed) showTyping(f.name || '', f.for_ms || 6000);
  },
  read(f) {
    if (!(f.seq > state.agentRead)) return;
    state.agentRead = f.seq;
    for (const el of ui.log.querySelectorAll('.from-buyer[data-seq]')) markSeen(el);
  },
  ack(f) {
    state.lastSeq = Math.max(state.lastSeq, f.seq);
    store.del('previous');           // the new chat's record carries it now
    const el = ui.log.querySelector(`[data-id="${CSS.escape(f.id)}"]`);
    if (!el || el.dataset.seq) return;
    if (ui.log.querySelector(`[data-seq="${f.seq}"]`)) el.remove();
    else settle(el, f.seq);
  },
  queue(f) {
    // back in a queue (a transfer to a group, an agent gone): no agent now
    ui.queue.textContent = t('w.queue', { n: f.position });
    ui.queue.hidden = false;
    ui.agent.hidden = true;
  },
  agent(f) {
    ui.agent.textContent = t('w.agent', { name: f.name });
    ui.agent.hidden = false;
    ui.queue.hidden = true;
  },
  closed() {
    state.closed = true;
    showTyping(null);
    ui.closed.hidden = false;
    ui.form.hidden = true;
    ui.queue.hidden = true;
    ui.rating.hidden = !features.rate;
    // drawn when asked for: until then the composer is the panel's only text box
    if (!ui.rating.childElementCount) ui.rating.replaceChildren(...rateForm());
    if (store.get('rated') === state.chat && !ui.rating.querySelector('.thanks')) thanks();
  },
  rated() {
    thanks();
  },
  error(f) {
    if (state.rateFrame && state.closed && f.code === 'conflict') {
      thanks();                      // rated before (another tab): nothing more to ask
      return;
    }
    if (state.rateFrame && state.closed && (f.code === 'too_large' || f.code === 'bad_value')) {
      state.rateFrame = null;        // refused (a store with a lower limit): the form again
      for (const el of ui.rating.querySelectorAll('button, textarea')) el.disabled = false;
      ui.rating.querySelector('.comment')?.dispatchEvent(new Event('input'));
      showError(f.code);
      return;
    }
    if (!f.ref) state.helloError = f.code;
    if (f.code !== 'unavailable' || !f.ref) showError(f.code);
  },
};

function sendText() {
  const text = ui.input.value.trim();
  if (!text || state.closed) return;
  ui.input.value = '';
  const frame = { t: 'msg', id: newId(), text };
  showPending(frame);
  session.sendMsg(frame);
  session.start();
}

// typing and read: relayed to the agent (PROTOCOL.md 6.7)
function typing() {
  const now = Date.now();
  if (!ui.input.value || state.closed || now - state.lastTyping < TYPING_EVERY_MS) return;
  if (session.send({ t: 'typing' })) state.lastTyping = now;
}

function markRead() {
  if (ui.panel.hidden || document.hidden || state.lastSeq <= state.readSent) return;
  if (session.send({ t: 'read', seq: state.lastSeq })) state.readSent = state.lastSeq;
}
document.addEventListener('visibilitychange', markRead);

// the rating, once: sent now if the session is still up, else the closed
// chat is resumed (on.welcome sends it); the form gives way to thanks
function rate(score, comment) {
  if (!features.rate || state.rateFrame || !score) return;
  state.rateFrame = comment ? { t: 'rate', score, comment } : { t: 'rate', score };
  for (const el of ui.rating.querySelectorAll('button, textarea')) el.disabled = true;
  if (!session.send(state.rateFrame)) session.start();
}

function thanks() {
  state.rateFrame = null;
  store.set('rated', state.chat);
  ui.rating.replaceChildren(h('span', { class: 'thanks' }, t('w.rate.thanks')));
  ui.rating.hidden = false;
}

function newChat() {
  session.stop();
  session.dropPending();
  if (state.closed && state.resume) store.set('previous', state.resume);
  forgetChat();
  ui.log.replaceChildren();
  state.closed = false;
  state.rateFrame = null;
  ui.closed.hidden = true;
  ui.rating.replaceChildren();
  ui.form.hidden = false;
  ui.agent.hidden = true;
  ui.queue.hidden = true;
  session.start();
}

// ---- start --------------------------------------------------------------------

(document.body || document.documentElement).append(host);
for (const f of session.pending.values()) showPending(f);
if (state.resume || session.pending.size) session.start();
openPanel(opts.open || store.get('open') === true);
