// transcript.js - the floor's transcript viewer: any chat of the
// supervisor's stores while it is kept, open or closed (PROTOCOL.md 8.4,
// `transcript {chat, from?}`), opened from the watched chat or by its id
// (a closed chat's, as evidence in a platform dispute). It shows the
// chat's record (buyer, agent, times, outcome, the buyer's rating and
// comment) and each record of the transcript with its time and writer;
// private ones (an agent's notes, a supervisor's whispers) are marked. The
// gateway pages by 100 records: "more" asks for the next page (`next`).
// "Copy as text" puts a plain-text version on the clipboard (and shows it,
// selected, where the clipboard is refused); "Print" prints the viewer alone.
//
// The gateway answers a transcript's failure with an error that has no
// `ref`: while a request is out, such an error is taken as its answer.
// Every text is set with textContent (h()), never parsed as HTML.
//
// API: transcriptViewer({send, watched}) -> {open(chat), show(frame), failed(error) -> bool}.

import { t, h, $ } from '../desk/ui.js';

const CHAT_ID = /^[0-9a-f]{32}$/;
const pad = (n, w = 2) => String(n).padStart(w, '0');

// 2027-01-04 15:00:01, in the browser's zone (said in the viewer's head)
function stamp(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function zoneName() {
  const off = -new Date().getTimezoneOffset();
  const z = `UTC${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${Intl.DateTimeFormat().resolvedOptions().timeZone} (${z})`;
}

const word = (prefix, v) => (t.has(prefix + v) ? t(prefix + v) : v);

// who wrote a record, as the viewer names it
function writer(m, rec) {
  switch (m.from) {
  case 'buyer': return t('f.tr.w.buyer', { name: m.name || rec.name || rec.buyer || '' }).trim();
  case 'agent': return t('f.tr.w.agent', { name: m.name || rec.agent_name || rec.agent || '' }).trim();
  case 'supervisor': return t('f.tr.w.supervisor', { name: m.name || '' }).trim();
  case 'auto': return t('f.tr.w.auto', { name: m.name || '' }).trim();
  case 'system': return t('f.tr.w.system');
  default: return m.from || '?';
  }
}

const privateTag = (m) => (m.from === 'supervisor' ? t('f.tr.whisper') : t('f.tr.note'));

// the record's lines: [label, value], the empty ones left out
function facts(rec) {
  const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
  return [
    ['f.tr.store', rec.store],
    ['f.tr.buyer', [rec.name, rec.buyer].filter(Boolean).join(' · ')],
    ['f.tr.group', rec.group],
    ['f.tr.state', rec.state && word('f.tr.st.', rec.state)],
    ['f.tr.agent', [rec.agent_name, rec.agent].filter(Boolean).join(' · ')],
    ['f.tr.created', stamp(rec.created)],
    ['f.tr.assigned', stamp(rec.assigned)],
    ['f.tr.closed', stamp(rec.closed)],
    ['f.tr.reason', rec.reason && word('f.tr.why.', rec.reason)],
    ['f.tr.outcome', rec.outcome && word('f.tr.out.', rec.outcome)],
    ['f.tr.rating', rec.rating ? `${'★'.repeat(rec.rating)}${'☆'.repeat(Math.max(0, 5 - rec.rating))} (${rec.rating}/5)` : ''],
    ['f.tr.comment', rec.rating_comment],
    ['f.tr.fr', rec.fr ? secs(rec.fr) : ''],
    ['f.tr.rn', rec.rn],
    ['f.tr.brn', rec.brn],
  ].filter(([, v]) => v !== undefined && v !== null && v !== '');
}

export function transcriptViewer({ send, watched }) {
  const v = { chat: null, rec: null, msgs: new Map(), n: 0, next: null, pending: null };

  // ---- the page's parts: the id form in the header, a button in the watch panel, the viewer
  const input = h('input', { id: 'tr-chat', maxlength: 40, spellcheck: 'false', autocomplete: 'off',
    placeholder: t('f.tr.id'), 'aria-label': t('f.tr.id') });
  const form = h('form', { id: 'tr-open', class: 'tr-open' }, input, h('button', { type: 'submit' }, t('f.tr.open')));
  form.addEventListener('submit', (e) => { e.preventDefault(); open(input.value); });
  $('wall').before(form);
  $('unwatch').before(h('button', { id: 'tr-watched', type: 'button', onclick: () => watched() && open(watched()) },
    t('f.tr.open')));

  const title = h('strong', { class: 'tr-title' });
  const zone = h('span', { class: 'muted tr-zone' });
  const err = h('p', { class: 'error tr-error', role: 'alert', hidden: true });
  const dl = h('dl', { class: 'tr-record' });
  const log = h('ol', { class: 'log tr-log' });
  const count = h('p', { class: 'muted tr-count' });
  const more = h('button', { type: 'button', class: 'tr-more', hidden: true, onclick: () => ask(v.chat, v.next) }, t('f.tr.more'));
  const plain = h('textarea', { class: 'tr-plain', readonly: true, rows: 10, hidden: true, 'aria-label': t('f.tr.copy') });
  const copyBtn = h('button', { type: 'button', class: 'tr-copy', onclick: copy }, t('f.tr.copy'));
  const printBtn = h('button', { type: 'button', class: 'tr-print', onclick: () => window.print() }, t('f.tr.print'));
  const box = h('section', { id: 'transcript', class: 'transcript', hidden: true, 'aria-label': t('f.tr.title') },
    h('header', { class: 'chat-head' }, title, zone, h('span', { class: 'grow' }), copyBtn, printBtn,
      h('button', { type: 'button', class: 'tr-x', onclick: close }, t('f.tr.close'))),
    err, dl, log, count, more, plain);
  $('floor').append(box);

  function open(raw) {
    const chat = String(raw || '').trim().toLowerCase();
    reset(chat);
    box.hidden = false;
    document.body.classList.add('tr-on');
    if (!CHAT_ID.test(chat)) { fail(t('f.tr.badid')); return; }
    ask(chat, 1);
  }

  function reset(chat) {
    Object.assign(v, { chat, rec: null, msgs: new Map(), n: 0, next: null, pending: null });
    title.textContent = t('f.tr.of', { chat });
    zone.textContent = '';
    err.hidden = true;
    dl.replaceChildren();
    log.replaceChildren();
    count.textContent = '';
    more.hidden = true;
    plain.hidden = true;
    copyBtn.disabled = printBtn.disabled = true;
  }

  function ask(chat, from) {
    const frame = { t: 'transcript', chat };
    if (from > 1) frame.from = from;
    v.pending = { chat, from };
    more.disabled = true;
    if (!send(frame)) { v.pending = null; more.disabled = false; fail(t('f.tr.offline')); }
  }

  function close() {
    box.hidden = true;
    document.body.classList.remove('tr-on');
    v.pending = null;
  }

  function fail(text) {
    err.textContent = text;
    err.hidden = false;
  }

  // a `transcript` frame: the first page replaces, the next ones add
  function show(f) {
    if (f.chat !== v.chat) return;
    v.pending = null;
    v.rec = f.record || {};
    v.n = f.n;
    v.next = f.next ?? null;
    (f.messages || []).forEach((m, i) => { if (m) v.msgs.set(m.seq ?? f.first + i, m); });
    draw();
  }

  // an error while a transcript is asked for is its answer (no ref, 8.4)
  function failed(e) {
    if (!v.pending || e.ref) return false;
    const p = v.pending;
    v.pending = null;
    more.disabled = false;
    fail(e.code === 'not_found' ? t('f.tr.notfound', { chat: p.chat }) : t.error(e.code));
    return true;
  }

  function draw() {
    const rec = v.rec;
    zone.textContent = t('f.tr.times', { zone: zoneName() });
    dl.replaceChildren(...facts(rec).flatMap(([k, val]) => [h('dt', {}, t(k)), h('dd', { 'data-f': k.slice(5) }, val)]));
    const msgs = [...v.msgs.values()].sort((a, b) => a.seq - b.seq);
    log.replaceChildren(...msgs.map((m) => h('li', { class: `msg from-${m.from}${m.private ? ' private' : ''}`, 'data-seq': m.seq },
      h('span', { class: 'who' }, h('time', { datetime: new Date(m.ts || 0).toISOString() }, stamp(m.ts)), ' ',
        h('span', { class: 'writer' }, writer(m, rec)),
        m.private ? h('span', { class: 'tag private-tag' }, privateTag(m)) : null),
      h('p', { class: 'text' }, m.text ?? ''))));
    count.textContent = t('f.tr.count', { shown: msgs.length, n: v.n });
    more.hidden = v.next === null;
    more.disabled = false;
    copyBtn.disabled = printBtn.disabled = false;
    if (!plain.hidden) plain.value = asText();
  }

  // the viewer as plain text: the record, then one line per record
  function asText() {
    const rec = v.rec || {};
    const lines = [t('f.tr.of', { chat: v.chat }), t('f.tr.times', { zone: zoneName() }), ''];
    for (const [k, val] of facts(rec)) lines.push(`${t(k)}: ${val}`);
    lines.push('');
    for (const m of [...v.msgs.values()].sort((a, b) => a.seq - b.seq)) {
      const tag = m.private ? ` [${privateTag(m)}]` : '';
      lines.push(`#${m.seq} ${stamp(m.ts)} ${writer(m, rec)}${tag}: ${m.text ?? ''}`);
    }
    if (v.next !== null) lines.push('', t('f.tr.count', { shown: v.msgs.size, n: v.n }));
    return lines.join('\n');
  }

  async function copy() {
    const text = asText();
    plain.value = text;
    plain.hidden = false;
    plain.select();
    try { await navigator.clipboard.writeText(text); copyBtn.textContent = t('f.tr.copied'); }
    catch { copyBtn.textContent = t('f.tr.copy.select'); }    // selected: Ctrl+C copies it
    setTimeout(() => { copyBtn.textContent = t('f.tr.copy'); }, 3000);
  }

  return { open, show, failed };
}
