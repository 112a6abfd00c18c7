// floor.test.mjs - the supervisor floor in a real browser against a real
// chatgwd and Redis (harness.mjs): a queued chat and its breach on the
// floor, watching a chat, a whisper that reaches the desk and never the
// buyer, a chat assigned from the floor, the wallboard; and the buyer's
// rating after close, stored with the chat. Screenshots under
// tests/web/screenshots/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, shot, waitFor, openWidget, say, loginDesk, loginFloor } from './harness.mjs';

test('the floor: a queued chat breaches, is watched, assigned from the floor, whispered about', async (t) => {
  const w = await setup(t, { store: ['    hold_after 300ms', '    breach_after 1s', '    reassign_after 0s'] });
  const aliceTok = w.agent('alice', 'Alice');
  const supTok = w.supervisor('sue', 'Sue');
  const [floorCtx, buyerCtx, deskCtx] = [await w.context(), await w.context(), await w.context()];
  const floor = await floorCtx.newPage();
  const buyer = await buyerCtx.newPage();
  const desk = await deskCtx.newPage();

  await loginFloor(floor, `${w.gw.url}/floor/`, supTok);
  await floor.locator('#agents tr[data-agent="alice"] .state', { hasText: 'offline' }).waitFor();
  // no agent ready: the buyer's chat waits in its queue
  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'Anyone there?');
  await floor.locator('#queues tr[data-group="pre-sales"] .n', { hasText: '1' }).waitFor();
  const row = floor.locator('#chats tbody tr').first();
  await row.locator('td', { hasText: 'queued' }).waitFor();
  // unanswered past breach_after: flagged
  await row.locator('.flag-breach', { hasText: 'Breach' }).waitFor();
  await shot(floor, 'floor-breach');

  // watch: the history, then the buyer's next message live
  await row.click();
  await floor.locator('#watch-log .msg.from-buyer .text', { hasText: 'Anyone there?' }).waitFor();
  await say(buyer, 'Hello?');
  await floor.locator('#watch-log .msg.from-buyer .text', { hasText: 'Hello?' }).waitFor();

  // the agent comes online (away); the floor assigns the chat with force
  await loginDesk(desk, `${w.gw.url}/desk/`, aliceTok);
  await floor.locator('#agents tr[data-agent="alice"] .state', { hasText: 'away' }).waitFor();
  // a store without shifts: on shift; no guard hits yet; the chat's priority
  assert.equal(await floor.locator('#agents tr[data-agent="alice"] .shift').textContent(), 'on shift');
  assert.equal(await floor.locator('#agents tr[data-agent="alice"] .guard').textContent(), '0');
  assert.equal(await row.locator('.prio').textContent(), 'normal');
  await floor.locator('#assign-to').fill('alice');
  await floor.locator('#assign-force').check();
  await floor.locator('#assign').click();
  await desk.locator('#chat-list .item').waitFor();
  await floor.locator('#chats tbody tr td', { hasText: 'assigned' }).waitFor();
  await floor.locator('#agents tr[data-agent="alice"] .load', { hasText: '1/4' }).waitFor();
  await buyer.locator('.banner.agent', { hasText: 'Alice' }).waitFor();

  // a whisper: the desk shows it as private, the buyer never sees it
  await floor.locator('#whisper-text').fill('Offer the coupon');
  await floor.locator('#whisper button[type=submit]').click();
  await floor.locator('#watch-log .msg.private .text', { hasText: 'Offer the coupon' }).waitFor();
  await desk.locator('#chat-list .item').click();
  await desk.locator('#chat-log .msg.private .text', { hasText: 'Offer the coupon' }).waitFor();
  await desk.locator('#reply').fill('Hi, Alice here.');
  await desk.locator('#composer button[type=submit]').click();
  await buyer.locator('.msg.from-agent .text', { hasText: 'Alice here' }).waitFor();
  await floor.locator('#watch-log .msg.from-agent .text', { hasText: 'Alice here' }).waitFor();
  const seen = await buyer.locator('.log .msg .text').allTextContents();
  assert.ok(!seen.some((s) => s.includes('coupon')), `the buyer saw the whisper: ${seen}`);
  // a reload replays the transcript (the panel stays open): still no whisper
  await buyer.reload();
  await buyer.locator('.msg.from-agent .text', { hasText: 'Alice here' }).waitFor();
  assert.ok(!(await buyer.locator('.log .msg .text').allTextContents()).some((s) => s.includes('coupon')));
  await shot(desk, 'floor-whisper-desk');
  await shot(floor, 'floor-watch');

  // the wallboard: big numbers, no watch panel
  await floor.locator('#wall').click();
  assert.ok(await floor.evaluate(() => document.body.classList.contains('wall')));
  assert.equal(await floor.locator('#watch').isVisible(), false);
  await shot(floor, 'floor-wallboard');
  assert.deepEqual([...floorCtx.errors, ...buyerCtx.errors, ...deskCtx.errors], []);
});

test('the widget: a 1-5 rating and a comment after close, sent once and stored with the chat as text', async (t) => {
  const w = await setup(t);
  const token = w.agent('alice', 'Alice');
  const [buyerCtx, deskCtx] = [await w.context(), await w.context()];
  const buyer = await buyerCtx.newPage();
  const desk = await deskCtx.newPage();
  await loginDesk(desk, `${w.gw.url}/desk/`, token);
  await desk.locator('#ready').click();
  await desk.locator('#ready.on').waitFor();
  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'Just a question');
  await desk.locator('#chat-list .item').click();
  await desk.locator('#close-chat').click();

  const rating = buyer.locator('.rating');
  await rating.waitFor();
  // nothing to send before a score is chosen; the comment is optional and bounded
  const send = rating.locator('.rate-send');
  assert.equal(await send.isDisabled(), true);
  await rating.locator('button[data-score="4"]').click();
  assert.equal(await rating.locator('button[data-score="4"]').getAttribute('aria-pressed'), 'true');
  assert.equal(await send.isDisabled(), false);
  const comment = rating.locator('textarea.comment');
  assert.equal(await comment.getAttribute('maxlength'), '2000');
  await rating.locator('.left', { hasText: '2000 characters left' }).waitFor();
  await comment.fill('x'.repeat(2001));          // a paste past the bound: cut at it
  assert.equal((await comment.inputValue()).length, 2000);
  await rating.locator('.left', { hasText: '0 characters left' }).waitFor();
  const said = '<b>Quick</b> & kind, thank you';
  await comment.fill(said);
  await rating.locator('.left', { hasText: `${2000 - said.length} characters left` }).waitFor();
  await shot(buyer, 'widget-rating-comment');
  await send.click();
  await rating.locator('.thanks').waitFor();
  // sent once: no form is left to send it again
  assert.equal(await rating.locator('button, textarea').count(), 0);
  await shot(buyer, 'widget-rated');
  const chat = await waitFor(() => w.redis('--scan', '--pattern', 'cg:chat:*').split('\n').find(Boolean), 'the chat key');
  await waitFor(() => w.redis('hget', chat, 'rating') === '4', 'the rating stored');
  // the comment as the buyer typed it: text, not markup
  assert.equal(w.redis('hget', chat, 'rating_comment'), said);
  // a reload of the closed chat still says thanks, with no form
  await buyer.reload();
  await buyer.locator('.rating .thanks').waitFor();
  assert.equal(await buyer.locator('.rating button, .rating textarea').count(), 0);
  assert.deepEqual([...buyerCtx.errors, ...deskCtx.errors], []);
});

test('a page of another origin cannot open a supervisor session; the floor itself can, in Chinese', async (t) => {
  const w = await setup(t);
  const token = w.supervisor('sue', 'Sue');
  const site = await w.foreignSite(`<!doctype html><title>Other</title><script>
      window.supTry = new Promise((done) => {
        const ws = new WebSocket(${JSON.stringify(w.gw.url.replace('http', 'ws') + '/v1/supervisor')});
        const seen = [];
        ws.onopen = () => ws.send(JSON.stringify({ t: 'login', token: ${JSON.stringify(token)} }));
        ws.onmessage = (e) => seen.push(JSON.parse(e.data).t);
        ws.onclose = (e) => done({ code: e.code, seen });
      });
    </script>`);
  const page = await (await w.context()).newPage();
  await page.goto(site);
  const tried = await page.evaluate(() => window.supTry);
  assert.equal(tried.code, 1006);
  assert.deepEqual(tried.seen, []);
  await waitFor(() => w.gw.log().includes('event=upgrade_refused role=supervisor reason=origin'), 'the refusal logged');

  const ctx = await w.context({ locale: 'zh-CN' });
  const floor = await ctx.newPage();
  await loginFloor(floor, `${w.gw.url}/floor/`, token);
  assert.equal(await floor.locator('#sup-name').textContent(), 'Sue');
  await floor.locator('#queues tr[data-group="after-sales"]').waitFor();
  assert.equal(await floor.locator('.tile h2').first().textContent(), '排队');
  assert.equal(await floor.locator('#wall').textContent(), '大屏模式');
  await shot(floor, 'floor-zh');
  assert.deepEqual(ctx.errors, []);
});

test('the floor chart: the hour\'s median first response appears once an agent answers', async (t) => {
  const w = await setup(t);
  const aliceTok = w.agent('alice', 'Alice');
  const supTok = w.supervisor('sue', 'Sue');
  const [floorCtx, buyerCtx, deskCtx] = [await w.context(), await w.context(), await w.context()];
  const floor = await floorCtx.newPage();
  const buyer = await buyerCtx.newPage();
  const desk = await deskCtx.newPage();

  await loginFloor(floor, `${w.gw.url}/floor/`, supTok);
  const fr = floor.locator('#chart-legend .key-fr');
  // nothing answered yet this hour: no figure
  await fr.filter({ hasText: 'First response, median this hour: —' }).waitFor();
  await loginDesk(desk, `${w.gw.url}/desk/`, aliceTok);
  await desk.locator('#ready').click();
  await desk.locator('#ready.on').waitFor();
  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'Is the blue one in stock?');
  await desk.locator('#chat-list .item').click();
  await desk.locator('#reply').fill('Yes, it is.');
  await desk.locator('#composer button[type=submit]').click();
  await buyer.locator('.msg.from-agent .text', { hasText: 'Yes, it is.' }).waitFor();
  // the stats event brings the hour's median (the 5 s bucket: answered at once)
  await fr.filter({ hasText: /median this hour: ≤ (5|10) s$/ }).waitFor();
  await floor.locator('#chart-legend .key-waiting', { hasText: 'Waiting buyers: 0' }).waitFor();
  await shot(floor, 'floor-chart-first-response');
  assert.deepEqual([...floorCtx.errors, ...buyerCtx.errors, ...deskCtx.errors], []);
});
