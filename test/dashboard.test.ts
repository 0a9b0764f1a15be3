import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { recentLogs } from '../src/logger.js';
import { startApp, tearDown, TestClient, wsPort } from './support/app.js';
import { CHROMIUM_ARGS, CHROMIUM_HEADLESS_SHELL, ensureChromiumHeadlessShell, INSTALL_MS } from './support/chromium.js';

// Issue 18 in real Chromium (Debian package `chromium-headless-shell`: the `chromium` build
// without its browser shell, see support/chromium.ts; driven by playwright-core): the
// admin server's dashboard asks for its token, shows connections live and carries the
// sandbox chat. Waits are on page state; each bound guards a hang and is generous because
// emulated arm64 runs are ~10x slower. `ONEBRIDGE_SCREENSHOTS=1` refreshes docs/dashboard*.png.

const BROWSER_MS = 120_000;
/** Upper bound for one page condition (a hang guard, not a timing claim). */
const PAGE_MS = 30_000;
const TOKEN = 'dashboard-secret';
// A 4x4 PNG, red: what a bot sends inline as base64.
const RED_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEklEQVR4nGP4z8CAB+GTG8HSALfKY52fTcuYAAAAAElFTkSuQmCC';

const SUN_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120" viewBox="0 0 240 120"><rect width="240" height="120" rx="12" fill="#7dd3fc"/><circle cx="70" cy="60" r="30" fill="#facc15"/><text x="118" y="70" font-family="sans-serif" font-size="28" fill="#0c4a6e">21 °C</text></svg>`;

let browser: Browser;
let profile: string;
beforeAll(async () => {
  ensureChromiumHeadlessShell();
  profile = mkdtempSync(join(tmpdir(), 'onebridge-dashboard-'));
  browser = await chromium.launch({
    executablePath: CHROMIUM_HEADLESS_SHELL,
    args: CHROMIUM_ARGS,
    timeout: BROWSER_MS,
  });
}, INSTALL_MS + BROWSER_MS);
afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
}, BROWSER_MS);

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)), BROWSER_MS);

async function openPage(
  viewport = { width: 1280, height: 860 },
): Promise<{ page: Page; urls: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(PAGE_MS);
  const urls: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  // The browser reports every 401/400 answer as a console error; those are expected here.
  page.on(
    'console',
    (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text()),
  );
  return { page, urls, errors };
}

async function logIn(page: Page): Promise<void> {
  await page.goto(app!.admin!.url);
  await page.locator('#token').fill(TOKEN);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#feed-state.live').waitFor();
}

const SANDBOX_APP = `accounts: [{ self_id: 10001, adapter: { type: sandbox, nickname: Robo } }]
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0 }
admin: { port: 0, access_token: "${TOKEN}" }
`;

describe('dashboard in real Chromium', () => {
  it(
    'asks for the token, refuses a wrong one, and never puts it in a URL',
    async () => {
      app = await startApp(SANDBOX_APP);
      const { page, urls, errors } = await openPage();
      await page.goto(app.admin!.url);
      await page.locator('#login').waitFor({ state: 'visible' });
      expect(await page.locator('#app').isHidden()).toBe(true);

      await page.locator('#token').fill('not-the-token');
      await page.locator('#login button[type=submit]').click();
      await expect.poll(() => page.locator('#login-error').textContent(), { timeout: PAGE_MS }).toBe('Wrong token.');
      expect(await page.locator('#app').isHidden()).toBe(true);
      expect(await page.evaluate('sessionStorage.length')).toBe(0);

      await page.locator('#token').fill(TOKEN);
      await page.locator('#login button[type=submit]').click();
      await page.locator('#feed-state.live').waitFor();
      expect(await page.locator('#login').isHidden()).toBe(true);
      // A reload in the same tab goes straight in: the token is kept for the session.
      await page.reload();
      await page.locator('#feed-state.live').waitFor();
      expect(await page.locator('#login').isHidden()).toBe(true);
      // The accounts panel shows the sandbox bot online; the log panel has this app's startup
      // lines. The log ring is the process's: an app of an earlier test file wrote there too,
      // and may have had the same port before the system gave it out again, so the page must
      // show as many such lines as the ring holds, this app's included.
      await page.locator('#accounts li.online', { hasText: '10001' }).waitFor();
      const listening = `forward WS listening on ws://127.0.0.1:${wsPort(app)} `;
      const inRing = recentLogs.lines().filter((l) => l.message.includes(listening)).length;
      expect(inRing).toBeGreaterThanOrEqual(1);
      await expect
        .poll(() => page.locator('#logs li', { hasText: listening }).count(), { timeout: PAGE_MS })
        .toBe(inRing);

      expect(urls.filter((u) => u.includes(TOKEN) || u.includes('access_token'))).toEqual([]);
      expect(urls.some((u) => u.endsWith('/events'))).toBe(true);
      expect(errors).toEqual([]);
    },
    BROWSER_MS,
  );

  it(
    'a forward-WS bot client appears within a second and disappears when it leaves',
    async () => {
      app = await startApp(SANDBOX_APP);
      const { page, errors } = await openPage();
      await logIn(page);
      await page.locator('#connections td.empty').waitFor();
      // What one page→admin→page round trip costs on this machine: the bound below is a second
      // plus ten of those, so an emulated run is held to the same claim, scaled.
      const rtt = (await page.evaluate(`(async () => {
      const t0 = performance.now();
      await fetch('/status', { headers: { Authorization: 'Bearer ' + sessionStorage.getItem('onebridge.admin_token') } });
      return performance.now() - t0;
    })()`)) as number;
      const bound = 1000 + 10 * rtt;

      const t0 = Date.now();
      const bot = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`, {
        headers: { 'User-Agent': 'test-bot/1.0' },
      });
      cleanups.push(() => bot.close());
      const row = page.locator('tr[data-transport="ws"]');
      await row.waitFor();
      const appeared = Date.now() - t0;
      await expect
        .poll(() => row.locator('td[data-label="Client"]').textContent(), { timeout: PAGE_MS })
        .toBe('test-bot/1.0');
      expect(await row.locator('td[data-label="Transport"]').textContent()).toBe('ws/universal');
      expect(await row.locator('td[data-label="State"]').textContent()).toBe('open');

      const t1 = Date.now();
      await bot.close();
      await row.waitFor({ state: 'detached' });
      const vanished = Date.now() - t1;
      expect({ appeared: appeared < bound, vanished: vanished < bound }).toEqual({ appeared: true, vanished: true });
      expect(errors).toEqual([]);
    },
    BROWSER_MS,
  );

  it(
    'shows refused actions per connection, the account send queue (pacing) and the descriptor budget',
    async () => {
      // Pacing so slow that, after the burst of one, every further send waits in the queue.
      app = await startApp(`accounts:
  - { self_id: 10001, adapter: { type: sandbox, nickname: Robo }, rate_limit: { messages_per_s: 0.01, burst: 1 } }
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0, actions: { deny: [set_group_kick] } }
admin: { port: 0, access_token: "${TOKEN}" }
`);
      const bot = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
      cleanups.push(() => bot.close());
      const { page, errors } = await openPage();
      await logIn(page);
      const row = page.locator('tr[data-transport="ws"]');
      await row.waitFor();
      expect(await row.locator('td[data-label="Refused"]').textContent()).toBe('0');
      expect(await bot.call('set_group_kick', { group_id: 30001, user_id: 20003 }, 'k', PAGE_MS)).toMatchObject({
        retcode: 1403,
      });
      for (const echo of ['s1', 's2', 's3'])
        expect(await bot.call('send_group_msg_async', { group_id: 30001, message: echo }, echo, PAGE_MS)).toMatchObject(
          { status: 'async' },
        );
      await expect.poll(() => row.locator('td[data-label="Refused"]').textContent(), { timeout: PAGE_MS }).toBe('1');
      const account = page.locator('#accounts li[data-self-id="10001"]');
      await expect.poll(() => account.textContent(), { timeout: PAGE_MS }).toBe('10001 online · send queue 2');
      expect(await page.locator('#facts').textContent()).toMatch(/· fds \d+\/(\d+|—) · client sockets \d+\/(\d+|—)/);
      // On a phone the new column is a labelled line of the card; nothing scrolls sideways.
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      expect(await row.locator('td[data-label="Refused"]').isVisible()).toBe(true);
      expect(errors).toEqual([]);
    },
    BROWSER_MS,
  );

  it(
    'sandbox chat: a typed message reaches the bot, its reply (with an image) shows; poke and recall work',
    async () => {
      app = await startApp(SANDBOX_APP);
      const bot = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
      cleanups.push(() => bot.close());
      const { page, errors } = await openPage();
      await logIn(page);
      await page.locator('#chat-panel').waitFor({ state: 'visible' });
      await page.locator('#chat-target').selectOption('group:30001');
      await page.locator('#chat-user').selectOption('20002');

      // The picker inserts a face; the CQ code travels as typed.
      await page.locator('#chat-input').fill('hello bot ');
      await page.locator('#picker-toggle').click();
      await page.locator('#picker-face button[title="face 14"]').click();
      await page.locator('#composer button[type=submit]').click();
      const heard = await bot.nextWhere((f) => f['post_type'] === 'message', PAGE_MS);
      expect(heard).toMatchObject({
        message_type: 'group',
        group_id: 30001,
        user_id: 20002,
        raw_message: 'hello bot [CQ:face,id=14]',
      });
      await page.locator('#chat-log li.mine', { hasText: 'hello bot' }).waitFor();

      const reply = await bot.call(
        'send_group_msg',
        { group_id: 30001, message: `hi Bob [CQ:image,file=base64://${RED_PNG}]` },
        'reply',
        PAGE_MS,
      );
      expect(reply).toMatchObject({ status: 'ok' });
      const answer = page.locator('#chat-log li.bot', { hasText: 'hi Bob' });
      await answer.waitFor();
      await expect
        .poll(
          () =>
            answer
              .locator('img')
              .evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth),
          { timeout: PAGE_MS },
        )
        .toBe(4);

      await page.locator('#poke').click();
      const poke = await bot.nextWhere((f) => f['sub_type'] === 'poke', PAGE_MS);
      expect(poke).toMatchObject({ notice_type: 'notify', group_id: 30001, user_id: 20002, target_id: 10001 });
      await page.locator('#chat-log li.notice', { hasText: 'poked' }).waitFor();

      // Bob recalls his own message: the bot hears it and the page strikes it through.
      await page
        .locator('#chat-log li.mine', { hasText: 'hello bot' })
        .locator('button', { hasText: 'recall' })
        .click();
      const recall = await bot.nextWhere((f) => f['notice_type'] === 'group_recall', PAGE_MS);
      expect(recall).toMatchObject({ group_id: 30001, user_id: 20002, message_id: heard['message_id'] });
      await page.locator('#chat-log li.recalled', { hasText: 'hello bot' }).waitFor();

      // Friend request from Carol: the bot gets a request event with a flag to answer.
      await page.locator('#chat-user').selectOption('20003');
      await page.locator('#friend-request').click();
      expect(await bot.nextWhere((f) => f['post_type'] === 'request', PAGE_MS)).toMatchObject({
        request_type: 'friend',
        user_id: 20003,
      });
      // A refusal from the world shows as an error line, not silence: Carol already is a member.
      await page.locator('#join-request').click();
      await expect.poll(() => page.locator('#chat-error').textContent(), { timeout: PAGE_MS }).not.toBe('');
      // A reload keeps the conversation: the feed starts with the world's stored messages.
      await page.reload();
      await page.locator('#chat-log li.bot', { hasText: 'hi Bob' }).locator('img').waitFor();
      expect(errors).toEqual([]);
    },
    BROWSER_MS,
  );

  it(
    'shows reverse-WS links reconnecting with held events and a webhook queue; desktop and phone layouts',
    async () => {
      // Nothing listens on `closed`; `hook` takes webhook POSTs and never answers, so they queue.
      const probe: Server = createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const closed = (probe.address() as { port: number }).port;
      await new Promise((r) => probe.close(r));
      const hook: Server = createServer(() => {});
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
      cleanups.push(() => new Promise((r) => hook.close(r)));
      cleanups.push(() => hook.closeAllConnections());
      app = await startApp(`accounts: [{ self_id: 10001, adapter: { type: sandbox, nickname: Robo } }]
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0, ping_interval_ms: 500 }
  - { type: ws-reverse, url: "ws://127.0.0.1:${closed}/onebot/v11/ws", heartbeat_interval_ms: 0, reconnect: { initial_ms: 100, max_ms: 400 } }
  - { type: http-post, url: "http://127.0.0.1:${(hook.address() as { port: number }).port}/onebot", timeout_ms: 600000 }
admin: { port: 0, access_token: "${TOKEN}" }
shutdown: { grace_ms: 100 }  # the stuck webhook never takes the \`disable\` event
`);
      const bot = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`, {
        headers: { 'User-Agent': 'NoneBot/2.4.2 aiohttp' },
      });
      cleanups.push(() => bot.close());
      const { page, errors } = await openPage({ width: 1440, height: 900 });
      await logIn(page);
      await page.locator('#chat-target').selectOption('group:30001');
      await page.locator('#chat-user').selectOption('20001');
      for (const text of ['/weather Tokyo', 'thanks [CQ:face,id=76]']) {
        await page.locator('#chat-input').fill(text);
        await page.locator('#composer button[type=submit]').click();
        const heard = await bot.nextWhere((f) => f['post_type'] === 'message', PAGE_MS);
        // The bot can hear it before the page has its answer: the next line is typed only once
        // the page has cleared the box, as a person would.
        await expect.poll(() => page.locator('#chat-input').inputValue(), { timeout: PAGE_MS }).toBe('');
        if (text.startsWith('/weather'))
          await bot.call(
            'send_group_msg',
            {
              group_id: 30001,
              message: `[CQ:reply,id=${String(heard['message_id'])}]Tokyo: sunny, 21 °C [CQ:image,file=base64://${Buffer.from(SUN_SVG).toString('base64')}]`,
            },
            'w',
            PAGE_MS,
          );
      }
      await page.locator('#chat-log li.bot img').waitFor();

      const reverse = page.locator('tr[data-transport="ws-reverse"]');
      await expect
        .poll(async () => Number(await reverse.locator('td[data-label="Reconnects"]').textContent()), {
          timeout: PAGE_MS,
        })
        .toBeGreaterThan(0);
      expect(await reverse.locator('td[data-label="State"]').textContent()).toBe('connecting');
      // Both user messages (and the bot's nothing: report_self_message is off) wait for the framework.
      await expect
        .poll(async () => Number(await reverse.locator('td[data-label="Held"]').textContent()), { timeout: PAGE_MS })
        .toBeGreaterThanOrEqual(2);
      // The webhook is stuck on its first POST (lifecycle enable); the messages queue behind it.
      const webhook = page.locator('tr[data-transport="http-post"]');
      await expect
        .poll(async () => Number(await webhook.locator('td[data-label="Queue"]').textContent()), { timeout: PAGE_MS })
        .toBeGreaterThanOrEqual(2);
      await expect
        .poll(() => page.locator('tr[data-transport="ws"] td[data-label="Last pong"]').textContent(), {
          timeout: PAGE_MS,
        })
        .toMatch(/s ago$/);
      expect(errors).toEqual([]);

      // Layouts: on a phone the tables become cards, nothing scrolls sideways.
      const dir = process.env['ONEBRIDGE_SCREENSHOTS'] === '1' ? 'docs' : profile;
      await page.screenshot({ path: join(dir, 'dashboard.png') });
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(dir, 'dashboard-phone.png'), fullPage: true });
      expect(statSync(join(dir, 'dashboard.png')).size).toBeGreaterThan(10_000);
    },
    BROWSER_MS,
  );
});
