// harness.mjs - what the browser tests run against: a real redis-server on a
// private unix socket, a real chatgwd serving the repository's web/, real
// agents made with chatgwctl, and Debian's chromium driven by
// playwright-core (never a downloaded browser). Every process started here
// is stopped by the test's cleanup, even when the test fails.
//
// API: setup (one test's world, with setClock for a test clock), waitFor,
// shot; the pages' steps: openWidget, say, loginDesk, loginFloor, buyerTexts.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, openSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '..', '..');
const CHATGWD = join(ROOT, 'build', 'chatgwd');
const CHATGWCTL = join(ROOT, 'build', 'chatgwctl');
const SHOTS = join(HERE, 'screenshots');
export const GREETING = 'Welcome to {store}, {buyer}! An agent will be with you shortly.';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(pred, what, timeout = 10000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(50);
  }
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function httpStatus(port, path) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return r.status;
  } catch {
    return 0;
  }
}

function exited(proc) {
  return new Promise((ok) => {
    if (proc.exitCode !== null || proc.signalCode !== null) ok();
    else proc.once('exit', ok);
  });
}

class Gateway {
  // storeLines: more lines of the demo store's block (e.g. '    hold_after 300ms');
  // clockMs: the wall clock chatgwd reads at start (ms, ahead of now), for a
  // test clock (--test-clock and test_clock_offset)
  constructor(dir, redisUrl, port, storeLines = [], clockMs = 0) {
    this.dir = dir;
    this.port = port;
    this.redisUrl = redisUrl;
    this.storeLines = storeLines;
    this.conf = join(dir, 'gw.conf');
    this.logPath = join(dir, 'gw.log');
    this.args = clockMs ? ['--test-clock'] : [];
    this.write(clockMs ? clockMs - Date.now() : 0);
  }

  write(offsetMs) {
    const { dir, port, redisUrl, storeLines } = this;
    writeFileSync(this.conf, [
      `listen "127.0.0.1:${port}"`,
      `redis "${redisUrl}"`,
      `state_dir "${join(dir, 'state')}"`,
      `web_root "${join(ROOT, 'web')}"`,
      'log_level info',
      'redis_backoff_max 500ms',
      'new_chat_rate 100000',
      'new_chat_burst 1000000',
      ...(offsetMs ? [`test_clock_offset ${Math.round(offsetMs)}ms`] : []),
      'store demo',
      '    name "Demo Store"',
      `    greeting "${GREETING}"`,
      '    groups pre-sales after-sales',
      // the shipped plugins with their shipped data, as `make run` has them
      `    plugin quickreply "${join(ROOT, 'build', 'plugins', 'quickreply.so')}"`,
      `        library "${join(ROOT, 'conf', 'quickreply-en.txt')}"`,
      `    plugin guard "${join(ROOT, 'build', 'plugins', 'guard.so')}"`,
      `        rules "${join(ROOT, 'conf', 'guard-tmall.rules')}"`,
      ...storeLines,
      '',
    ].join('\n'));
  }

  async start() {
    const log = openSync(this.logPath, 'a');
    this.proc = spawn(CHATGWD, ['-c', this.conf, ...this.args], { stdio: ['ignore', log, log] });
    await waitFor(async () => {
      if (this.proc.exitCode !== null) throw new Error(`chatgwd exited:\n${this.log()}`);
      return (await httpStatus(this.port, '/healthz')) === 200;
    }, `chatgwd :${this.port} ready`);
    return this;
  }

  // moves the test clock to read atMs now (a new config and SIGHUP), once
  // chatgwd has logged the change
  async setClock(atMs) {
    const offset = atMs - Date.now();
    if (offset <= 0) throw new Error('the test clock only runs ahead');
    const count = () => this.log().split('test_clock').length;
    const n = count();
    this.write(offset);
    this.proc.kill('SIGHUP');
    await waitFor(() => count() > n, 'test_clock logged');
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    await exited(this.proc);
  }

  log() {
    try { return readFileSync(this.logPath, 'utf8'); } catch { return ''; }
  }

  get url() { return `http://127.0.0.1:${this.port}`; }
}

// One test's world. t: the node:test context (its cleanup stops it all).
// opts.store: more lines for the demo store's block (the clock's options);
// opts.clock: ms since the epoch the gateway's test clock reads at start.
export async function setup(t, opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cgw'));
  const procs = [];
  const closers = [];
  t.after(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    for (const p of procs) if (p.exitCode === null) { p.kill('SIGKILL'); await exited(p); }
    rmSync(dir, { recursive: true, force: true });
  });

  const sock = join(dir, 'redis.sock');
  const redis = spawn('/usr/bin/redis-server', ['--port', '0', '--unixsocket', sock, '--dir', dir,
    '--appendonly', 'yes', '--save', '', '--logfile', join(dir, 'redis.log')], { stdio: 'ignore' });
  procs.push(redis);
  await waitFor(() => spawnSync('redis-cli', ['-s', sock, 'ping']).stdout?.toString().trim() === 'PONG',
    'redis-server');

  const gw = new Gateway(dir, `unix://${sock}`, await freePort(), opts.store, opts.clock);
  await gw.start();
  closers.push(() => gw.stop());
  const track = () => { if (gw.proc && !procs.includes(gw.proc)) procs.push(gw.proc); };
  track();

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
  closers.push(() => browser.close());

  return {
    dir,
    gw,
    browser,
    // restarts chatgwd on the same port and Redis (SIGTERM, then start)
    async restartGateway(pauseMs = 0) {
      await gw.stop();
      if (pauseMs) await sleep(pauseMs);
      await gw.start();
      track();
    },
    // a new agent of the demo store; returns its token
    agent(id, name, group = 'pre-sales') {
      const r = spawnSync(CHATGWCTL, ['-c', gw.conf, 'agent', 'add', id, '--name', name, '--store', 'demo',
        '--group', group, '--capacity', '4']);
      if (r.status !== 0) throw new Error(`chatgwctl agent add: ${r.stderr}`);
      return r.stdout.toString().trim().split('\n').pop();
    },
    // chatgwctl's answer (status, stdout) for these arguments, with the gateway's config
    ctl(...args) {
      const r = spawnSync(CHATGWCTL, ['-c', gw.conf, ...args]);
      if (r.status !== 0) throw new Error(`chatgwctl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.toString();
    },
    // moves the gateway's test clock (opts.clock) to read atMs now
    setClock: (atMs) => gw.setClock(atMs),
    // a new supervisor of the demo store; returns its token
    supervisor(id, name) {
      const r = spawnSync(CHATGWCTL, ['-c', gw.conf, 'supervisor', 'add', id, '--name', name, '--store', 'demo']);
      if (r.status !== 0) throw new Error(`chatgwctl supervisor add: ${r.stderr}`);
      return r.stdout.toString().trim().split('\n').pop();
    },
    // a Redis command's reply, as redis-cli prints it
    redis(...args) {
      return spawnSync('redis-cli', ['-s', sock, ...args]).stdout.toString().trim();
    },
    // a web server of another origin serving `html` at /
    async foreignSite(html) {
      const srv = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(html);
      });
      await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
      closers.push(() => new Promise((ok) => srv.close(ok)));
      return `http://127.0.0.1:${srv.address().port}`;
    },
    async context(opts = {}) {
      const ctx = await browser.newContext({ locale: 'en-US', ...opts });
      const errors = [];
      ctx.on('page', (p) => p.on('pageerror', (e) => errors.push(String(e))));
      ctx.errors = errors;
      return ctx;
    },
  };
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

// ---- steps on the pages, shared by the tests ----

// the texts of the buyer's messages, in order, as the widget shows them
export const buyerTexts = (page) => page.locator('.log .msg.from-buyer .text').allTextContents();

export async function openWidget(page, url) {
  await page.goto(url);
  await page.locator('.launcher').click();
  await page.locator('.panel textarea').waitFor();
}

export async function say(page, text) {
  await page.locator('.panel textarea').fill(text);
  await page.locator('.panel .send').click();
}

export async function loginFloor(page, url, token) {
  await page.goto(url);
  await page.locator('#token').fill(token);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#floor').waitFor();
}

export async function loginDesk(page, url, token) {
  await page.goto(url);
  await page.locator('#token').fill(token);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#desk').waitFor();
}
