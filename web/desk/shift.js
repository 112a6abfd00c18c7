// shift.js - the agent's shift in the desk's header (PROTOCOL.md 7.6):
// "on shift until 17:00" or "off shift, next shift Tue 5 Jan 09:00", in
// the agent's own (browser) time, with the store's time and zone beside
// it (the welcome names the zone). A store without shifts is always open:
// nothing is shown then.
//
// When the shift ends, a notice stays until dismissed: the open chats stay
// with the agent, no new ones come. Where the store allows overtime (the
// welcome's store.overtime), setting Ready while off shift takes new chats
// again (router.lua counts it as overtime): the notice offers that, and the
// header says "overtime" while it lasts. Where it does not, Ready off shift
// is said to bring nothing. The welcome's and shift's `shift.overtime` say
// whether the agent is in overtime now, so a reloaded page or another tab
// knows it (nothing is kept in the browser).
//
// Frames arrive through hooks (welcome, shift, state), after desk.js's own
// handling. Every text is set with textContent.

import { hooks } from './hooks.js';
import { t, h, $ } from './ui.js';

const view = {
  shift: null,                   // {on_shift, ends_at, next}
  store: null,                   // {id, name, timezone, overtime}
  state: 'away',
  overtime: false,               // ready set while off shift, where allowed (the server says)
};

// the header's part and the notice, placed beside the desk's own
const line = h('span', { id: 'shift', class: 'shift', hidden: true });
const banner = h('p', { id: 'shift-notice', class: 'shift-notice', role: 'status', hidden: true });
$('status').before(line);
$('toast').before(banner);

// ---- times --------------------------------------------------------------

const locale = () => (t.lang === 'zh' ? 'zh-CN' : 'en-GB');
const myZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

function dayKey(ms, timeZone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms);
}

// 17:00 today, else Tue 5 Jan 09:00 (in timeZone; the browser's by default)
function when(ms, timeZone) {
  const opts = { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  if (dayKey(ms, timeZone) !== dayKey(Date.now(), timeZone))
    Object.assign(opts, { weekday: 'short', day: 'numeric', month: 'short' });
  return new Intl.DateTimeFormat(locale(), opts).format(ms);
}

// the agent's time, then the store's: "17:00 (Europe/Berlin)" or
// "11:00 (17:00 in Europe/Berlin)" when the two clocks differ
function both(ms) {
  const mine = when(ms);
  const zone = view.store?.timezone;
  if (!zone) return mine;
  let theirs;
  try { theirs = when(ms, zone); } catch { return mine; }    // a zone this browser lacks
  return `${mine}${theirs === mine ? t('d.shift.zone', { zone }) : t('d.shift.storetime', { time: theirs, zone })}`;
}

// ---- drawing ------------------------------------------------------------

function draw() {
  const s = view.shift;
  // no shifts in this store: always on, nothing to say
  line.hidden = !s || (s.on_shift && !s.ends_at && !s.next);
  if (line.hidden) return;
  let text;
  if (s.on_shift) text = s.ends_at ? t('d.shift.until', { time: both(s.ends_at) }) : t('d.shift.on');
  else text = s.next ? t('d.shift.next', { time: both(s.next) }) : t('d.shift.none');
  const kids = [h('span', { class: 'label' }, text)];
  if (!s.on_shift && view.state === 'ready') {
    kids.push(view.overtime
      ? h('span', { class: 'badge overtime' }, t('d.shift.overtime'))
      : h('span', { class: 'badge idle', title: view.store?.overtime ? t('d.shift.ot.again') : t('d.shift.ot.no') },
        view.store?.overtime ? t('d.shift.ot.again.short') : t('d.shift.ot.no.short')));
  }
  line.replaceChildren(...kids);
  line.className = `shift ${s.on_shift ? 'on' : 'off'}${view.overtime && !s.on_shift ? ' ot' : ''}`;
  document.body.dataset.shift = s.on_shift ? 'on' : view.overtime ? 'overtime' : 'off';
}

// the notice when the shift ends: it stays until dismissed or the next shift
function ended(desk) {
  const open = desk.chats.size;
  const kids = [h('span', {}, open ? t('d.shift.ended', { n: open }) : t('d.shift.ended.none'))];
  if (view.store?.overtime) {
    kids.push(' ', h('span', {}, t('d.shift.ended.ot')), ' ',
      h('button', { type: 'button', class: 'overtime', onclick: () => desk.act.send({ t: 'state', state: 'ready' }) },
        t('d.shift.ot.button')));
  }
  kids.push(' ', h('button', { type: 'button', class: 'dismiss', onclick: () => { banner.hidden = true; } }, t('d.shift.dismiss')));
  banner.replaceChildren(...kids);
  banner.hidden = false;
}

// ---- frames -------------------------------------------------------------

hooks.on('welcome', (f) => {
  view.store = f.store || null;
  view.shift = f.shift || null;
  view.state = f.state;
  view.overtime = f.shift?.overtime === true;
  draw();
});

hooks.on('shift', (f, desk) => {
  const was = view.shift;
  view.shift = f.shift;
  view.overtime = f.shift.overtime === true;
  if (f.shift.on_shift) {
    banner.hidden = true;
    if (was && !was.on_shift) desk.act.notice(t('d.shift.started'));
  } else if (!was || was.on_shift) {
    ended(desk);
  }
  draw();
});

hooks.on('state', (f) => {
  view.state = f.state;
  // ready while off shift: overtime where the store allows it (router.lua "state")
  view.overtime = f.state === 'ready' && !!view.shift && !view.shift.on_shift && !!view.store?.overtime;
  if (view.overtime) banner.hidden = true;
  draw();
});

// the times say "today" or a day: keep them right past midnight
setInterval(draw, 60000);
