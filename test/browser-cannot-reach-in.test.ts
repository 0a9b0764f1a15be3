import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { startApp, tearDown } from './support/app.js';
import { CHROMIUM, ensureChromium, INSTALL_MS } from './support/chromium.js';

// Issue 19 in a real browser: a page served from another loopback port (what any web page
// can do) tries every way in while real Chromium (Debian package `chromium`) sets the headers
// itself. The page reports what it saw to its own server; the test waits on that report.

// Chromium's start dominates; generous because emulated arm64 runs are ~10x slower.
const BROWSER_MS = 120_000;

beforeAll(ensureChromium, INSTALL_MS);

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)));

/** The attacker's page, on its own loopback port; resolves with what the page reports. */
async function servePage(
  script: (origin: string) => string,
): Promise<{ origin: string; report: Promise<Record<string, string>> }> {
  let deliver!: (r: Record<string, string>) => void;
  const report = new Promise<Record<string, string>>((resolve) => (deliver = resolve));
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/report') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        deliver(JSON.parse(body) as Record<string, string>);
        res.end();
      });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>evil</title><script>${script(origin)}</script>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  cleanups.push(() => server.closeAllConnections());
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { origin, report };
}

function openInChromium(url: string): void {
  const profile = mkdtempSync(join(tmpdir(), 'onebridge-chromium-'));
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-extensions',
      `--user-data-dir=${profile}`,
      url,
    ],
    { stdio: 'ignore', detached: true },
  );
  cleanups.push(() => {
    // Chromium's helpers share its process group: end the whole group we started, by its id.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(profile, { recursive: true, force: true });
  });
}

const portOf = (i: number) => (app!.transports[i] as unknown as { port: number }).port;

describe('real Chromium: a page on another port cannot reach in', () => {
  it(
    'WebSocket refused, form POST and <img> GET never run, SSE refused; an allowed origin works',
    async () => {
      const page = await servePage(
        () => `
const out = {};
const settle = (name, p) => p.then((v) => (out[name] = v), (e) => (out[name] = 'error ' + e));
const ws = (url) => new Promise((resolve) => { const s = new WebSocket(url); s.onopen = () => { resolve('open'); s.close(); }; s.onerror = () => resolve('refused'); });
const img = (url) => new Promise((resolve) => { const i = new Image(); i.onload = () => resolve('loaded'); i.onerror = () => resolve('error'); i.src = url; });
const sse = (url) => new Promise((resolve) => { const e = new EventSource(url); e.onopen = () => { resolve('open'); e.close(); }; e.onerror = () => { resolve('refused'); e.close(); }; });
const form = (url, text) => fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'group_id=30001&message=' + text }).then(() => 'sent');
const P = JSON.parse(decodeURIComponent(location.hash.slice(1)));
Promise.all([
  settle('ws_default', ws('ws://127.0.0.1:' + P.ws + '/')),
  settle('ws_allowed', ws('ws://127.0.0.1:' + P.wsAllowed + '/')),
  settle('img', img('http://127.0.0.1:' + P.http + '/send_group_msg?group_id=30001&message=via-img')),
  settle('form', form('http://127.0.0.1:' + P.http + '/send_group_msg', 'via-form')),
  settle('sse', sse('http://127.0.0.1:' + P.http + '/_events')),
  settle('form_allowed', form('http://127.0.0.1:' + P.httpAllowed + '/send_group_msg', 'allowed-page')),
]).then(() => fetch('/report', { method: 'POST', body: JSON.stringify(out) }));
`,
      );
      app = await startApp(`network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0 }
  - { type: ws, port: 0, heartbeat_interval_ms: 0, allowed_origins: ["${page.origin}"] }
  - { type: http, port: 0, sse: true, heartbeat_interval_ms: 0 }
  - { type: http, port: 0, allowed_origins: ["${page.origin}"] }
admin: { port: 0 }
`);
      const ports = { ws: portOf(0), wsAllowed: portOf(1), http: portOf(2), httpAllowed: portOf(3) };
      openInChromium(`${page.origin}/#${encodeURIComponent(JSON.stringify(ports))}`);
      const seen = await page.report;
      expect(seen).toEqual({
        ws_default: 'refused',
        ws_allowed: 'open',
        img: 'error',
        form: 'sent',
        sse: 'refused',
        form_allowed: 'sent',
      });
      // The browser sent all of them; only the allowed page's message reached the world.
      const sent = (await (await fetch(`${app.admin!.url}/sandbox/messages?since=0&timeout_ms=0`)).json()) as {
        messages: Array<{ raw_message: string }>;
      };
      expect(sent.messages.map((m) => m.raw_message)).toEqual(['allowed-page']);
      // ws_default, img, form, sse: each refused by the origin check (the img by Sec-Fetch-Site).
      expect(app.registry.refusals()).toEqual({ origin: 4 });
    },
    BROWSER_MS,
  );
});
