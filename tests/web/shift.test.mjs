// shift.test.mjs - the desk's shift status in a real browser against a
// real chatgwd (with its test clock) and Redis (harness.mjs): on shift
// until the end, in the agent's own time and the store's; at the end, off
// shift with the next start, a notice that the open chats stay and no new
// one comes; overtime where the store allows it. Screenshots under
// tests/web/screenshots/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, shot, waitFor, openWidget, say, loginDesk } from './harness.mjs';

const utc = (...a) => Date.UTC(...a);
// Monday 2027-01-04; Berlin is UTC+1: the day shift 09:00-17:00 is 08:00-16:00 UTC
const SHIFT = ['    timezone Europe/Berlin', '    shift day 09:00-17:00 mon-fri', '    overtime yes',
  '    hold_max 0', '    breach_after 7d', '    reassign_after 0', '    away_reassign 0'];

test('the desk: on shift until the end; then off shift with the next start, open chats kept, overtime', async (t) => {
  const w = await setup(t, { store: SHIFT, clock: utc(2027, 0, 4, 14, 0) });
  const token = w.agent('alice', 'Alice');
  w.ctl('roster', 'set', 'alice', 'day', '--days', 'mon-fri');
  // the agent's browser is in New York (UTC-5): 17:00 in Berlin is 11:00 there
  const deskCtx = await w.context({ timezoneId: 'America/New_York' });
  const [buyerCtx, buyer2Ctx] = [await w.context(), await w.context()];
  // the desk's clock reads the gateway's (the test clock), so "today" is the same day
  await deskCtx.clock.install({ time: utc(2027, 0, 4, 14, 0) });
  const desk = await deskCtx.newPage();
  const buyer = await buyerCtx.newPage();

  await loginDesk(desk, `${w.gw.url}/desk/`, token);
  const shift = desk.locator('#shift');
  await shift.locator('.label', { hasText: 'On shift until 11:00 (17:00 in Europe/Berlin)' }).waitFor();
  assert.match(await shift.getAttribute('class'), /\bon\b/);
  await desk.locator('#ready').click();
  await desk.locator('#ready.on').waitFor();
  // on shift and ready: a chat comes
  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'Before five');
  await desk.locator('#chat-list .item').waitFor();
  await shot(desk, 'shift-on');

  // 17:00 in Berlin: the shift ends; the chat stays, the header says when the next one starts
  await w.setClock(utc(2027, 0, 4, 15, 59, 58, 500));
  await desk.clock.setSystemTime(utc(2027, 0, 4, 15, 59, 58, 500));
  await shift.locator('.label', { hasText: 'Off shift · next shift Tue 5 Jan, 03:00 (Tue 5 Jan, 09:00 in Europe/Berlin)' })
    .waitFor();
  const notice = desk.locator('#shift-notice');
  await notice.locator('span', { hasText: 'Your shift has ended. Your 1 open chat(s) stay with you' }).waitFor();
  await notice.locator('span', { hasText: 'no new chats will come' }).waitFor();
  // still ready from before the end: no overtime, nothing new comes
  await shift.locator('.badge.idle').waitFor();
  assert.equal(await desk.locator('#chat-list .item').count(), 1);
  await shot(desk, 'shift-ended');
  const buyer2 = await buyer2Ctx.newPage();
  await openWidget(buyer2, `${w.gw.url}/demo/`);
  await say(buyer2, 'After five');
  await waitFor(() => w.redis('zcard', 'cg:q:demo:pre-sales') === '1', 'the second chat queued');
  assert.equal(await desk.locator('#chat-list .item').count(), 1);
  // the chat it kept is still answered from the desk
  await desk.locator('#chat-list .item').click();
  await desk.locator('#reply').fill('Still here for you');
  await desk.locator('#composer button[type=submit]').click();
  await buyer.locator('.msg.from-agent .text', { hasText: 'Still here for you' }).waitFor();

  // this store allows overtime: the notice offers it; then the queued chat comes
  await notice.locator('button.overtime', { hasText: 'Work overtime' }).click();
  await shift.locator('.badge.overtime', { hasText: 'Overtime' }).waitFor();
  assert.equal(await notice.isHidden(), true);
  await waitFor(async () => (await desk.locator('#chat-list .item').count()) === 2, 'the queued chat at the desk');
  assert.equal(w.redis('zcard', 'cg:q:demo:pre-sales'), '0');
  await shot(desk, 'shift-overtime');
  // another tab (its own sessionStorage), as after a reload: the welcome says overtime
  const desk2 = await deskCtx.newPage();
  await loginDesk(desk2, `${w.gw.url}/desk/`, token);
  await desk2.locator('#shift .badge.overtime', { hasText: 'Overtime' }).waitFor();
  assert.equal(await desk2.evaluate(() => document.body.dataset.shift), 'overtime');
  assert.deepEqual([...deskCtx.errors, ...buyerCtx.errors, ...buyer2Ctx.errors], []);
});

test('the desk in Chinese, off shift in a store without overtime: Ready brings no chats, it says so', async (t) => {
  const noOt = SHIFT.filter((l) => !l.includes('overtime'));
  // Monday 20:00 in Berlin, off shift
  const w = await setup(t, { store: noOt, clock: utc(2027, 0, 4, 19, 0) });
  const token = w.agent('alice', 'Alice');
  const deskCtx = await w.context({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const desk = await deskCtx.newPage();
  await loginDesk(desk, `${w.gw.url}/desk/`, token);
  const shift = desk.locator('#shift');
  // the next start: Tuesday 09:00 in Berlin is 16:00 in Shanghai
  await shift.locator('.label', { hasText: /^不在班 · 下一班 .*16:00（Europe\/Berlin 时间 .*09:00）$/ }).waitFor();
  await desk.locator('#ready').click();
  await shift.locator('.badge.idle', { hasText: '不接新会话（不允许加班）' }).waitFor();
  assert.equal(await desk.locator('#shift-notice').isHidden(), true);
  await shot(desk, 'shift-off-zh');
  assert.deepEqual(deskCtx.errors, []);
});
