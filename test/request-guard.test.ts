import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isLoopbackName } from '../src/config/request-guard.js';
import { parseTestConfig } from './support/app.js';
import { securityWarnings } from '../src/config/security-warnings.js';
import type { Logger } from '../src/logger.js';
import { RequestGuard } from '../src/transport/request-guard.js';

// The decision table of the request guard, for what sockets in tests cannot show: listeners
// bound beyond loopback (test traffic stays on loopback) and the log's rate limit.

function fakeReq(headers: Record<string, string>): IncomingMessage {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'GET', url: '/x', headers: lower, socket: { remoteAddress: '127.0.0.1', remotePort: 5 } } as unknown as IncomingMessage;
}

function logger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m: string) => lines.push(m), info: () => {}, debug: () => {}, error: () => {} } as unknown as Logger & { lines: string[] };
}

const guard = (host: string, extra: { allowed_origins?: string[]; allowed_hosts?: string[] } = {}, ownPages = false) =>
  new RequestGuard({ host, allowed_origins: extra.allowed_origins ?? [], allowed_hosts: extra.allowed_hosts ?? [] }, { logger: logger(), ownPages });

const status = (g: RequestGuard, headers: Record<string, string>) => {
  const v = g.check(fakeReq(headers));
  return v.ok ? 200 : v.status;
};

afterEach(() => vi.useRealTimers());

describe('request guard', () => {
  it('knows loopback names and addresses in every spelling', () => {
    for (const name of ['localhost', 'LOCALHOST.', 'a.localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]:80', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost:6700']) expect(isLoopbackName(name), name).toBe(true);
    for (const name of ['0.0.0.0', '::', '10.0.0.1', 'localhost.example.com', 'example.com', '::ffff:10.0.0.1', '128.0.0.1']) expect(isLoopbackName(name), name).toBe(false);
  });

  it('bound beyond loopback: no Host check unless allowed_hosts is set; then addresses and listed names pass', () => {
    expect(status(guard('0.0.0.0'), { Host: 'anything.example' })).toBe(200);
    const named = guard('0.0.0.0', { allowed_hosts: ['bot.example.com'] });
    expect(status(named, { Host: 'bot.example.com:6700' })).toBe(200);
    expect(status(named, { Host: '192.168.1.5:6700' })).toBe(200);
    expect(status(named, { Host: '[fe80::1]:6700' })).toBe(200);
    expect(status(named, { Host: 'attacker.example:6700' })).toBe(421);
    // Origins are checked wherever it is bound.
    expect(status(guard('0.0.0.0'), { Host: '192.168.1.5', Origin: 'http://192.168.1.5:8080' })).toBe(403);
  });

  it('bound to loopback: a non-loopback address in Host is refused too, "*" turns the check off', () => {
    expect(status(guard('127.0.0.1'), { Host: '192.168.1.5:6700' })).toBe(421);
    expect(status(guard('localhost'), { Host: 'localhost' })).toBe(200);
    expect(status(guard('127.0.0.1', { allowed_hosts: ['*'] }), { Host: 'attacker.example' })).toBe(200);
    // HTTP/1.0 without Host is no browser's request.
    expect(status(guard('127.0.0.1'), {})).toBe(200);
  });

  it('"*" allows every origin and page request; "null" only when listed', () => {
    const any = guard('127.0.0.1', { allowed_origins: ['*'] });
    expect(status(any, { Origin: 'https://whatever.example' })).toBe(200);
    expect(status(any, { 'Sec-Fetch-Site': 'cross-site' })).toBe(200);
    expect(status(guard('127.0.0.1'), { Origin: 'null' })).toBe(403);
    expect(status(guard('127.0.0.1', { allowed_origins: ['null'] }), { Origin: 'null' })).toBe(200);
  });

  it('own pages: same origin only on a name that cannot be an attacker\'s', () => {
    const admin = (host: string, allowed_hosts: string[] = []) => guard(host, { allowed_hosts }, true);
    expect(status(admin('0.0.0.0'), { Host: '192.168.1.5:6790', Origin: 'http://192.168.1.5:6790' })).toBe(200);
    // Bound everywhere with no names listed, a DNS name could be a rebinding one.
    expect(status(admin('0.0.0.0'), { Host: 'box.lan:6790', Origin: 'http://box.lan:6790' })).toBe(403);
    expect(status(admin('0.0.0.0', ['box.lan']), { Host: 'box.lan:6790', Origin: 'http://box.lan:6790' })).toBe(200);
    // Behind a TLS proxy that keeps Host: https origin, default port.
    expect(status(admin('127.0.0.1', ['dash.example']), { Host: 'dash.example', Origin: 'https://dash.example' })).toBe(200);
    // Same-origin from the browser's point of view, but not this listener's page.
    expect(status(guard('127.0.0.1'), { Host: '127.0.0.1:6700', Origin: 'http://127.0.0.1:6700' })).toBe(403);
    expect(status(guard('127.0.0.1'), { Host: '127.0.0.1:6700', 'Sec-Fetch-Site': 'same-origin' })).toBe(403);
  });

  it('logs refusals at most once per kind per 10 s, with the count in between; every one is counted', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const log = logger();
    const counted: string[] = [];
    const g = new RequestGuard({ host: '127.0.0.1', allowed_origins: [], allowed_hosts: [] }, { logger: log, onRefused: (k) => counted.push(k) });
    for (let i = 0; i < 50; i++) g.check(fakeReq({ Origin: 'http://evil.example' }));
    g.check(fakeReq({ Host: 'attacker.example' }));
    expect(log.lines).toHaveLength(2);
    expect(log.lines[0]).toMatch(/^refused GET \/x from 127\.0\.0\.1:5: Origin http:\/\/evil\.example is not allowed; add it to allowed_origins .*\(403\)$/);
    expect(log.lines[1]).toMatch(/Host "attacker\.example" is not a name this listener answers to.*\(421\)$/);
    vi.advanceTimersByTime(10_000);
    g.check(fakeReq({ Origin: 'http://evil.example' }));
    expect(log.lines).toHaveLength(3);
    expect(log.lines[2]).toMatch(/\(403\) \(\+49 more refused since the last line\)$/);
    expect(counted.filter((k) => k === 'origin')).toHaveLength(51);
    expect(counted.filter((k) => k === 'host')).toHaveLength(1);
  });

  it('quotes a long hostile Origin only as a short prefix', () => {
    const log = logger();
    const g = new RequestGuard({ host: '127.0.0.1', allowed_origins: [], allowed_hosts: [] }, { logger: log });
    const v = g.check(fakeReq({ Origin: `http://${'a'.repeat(5000)}.example` }));
    expect(v.ok).toBe(false);
    expect(log.lines[0]!.length).toBeLessThan(300);
  });
});

describe('security warnings (onebridge check)', () => {
  const warnings = (yaml: string) => securityWarnings(parseTestConfig(yaml)).map((w) => `${w.path}: ${w.message}`);

  it('none for the defaults, nor for a token-protected listener beyond loopback', () => {
    expect(warnings('network:\n  - type: ws\nadmin: {}\n')).toEqual([]);
    expect(warnings('network:\n  - { type: ws, host: 0.0.0.0, access_token: t, allowed_origins: ["*"] }\n')).toEqual([]);
  });

  it('names each risky key and the fix', () => {
    const found = warnings(`network:
  - { type: ws, host: 0.0.0.0 }
  - { type: http, sse: true, port: 5700, allowed_origins: ["*"] }
  - { type: http, port: 5701, allowed_origins: ["null"], allowed_hosts: ["*"] }
admin: { host: "::" }
`);
    expect(found).toEqual([
      'network[0].host: warning: 0.0.0.0 is reachable from other machines and there is no access_token: anyone who reaches the port can use this forward WebSocket; set network[0].access_token, or bind 127.0.0.1',
      'network[1].allowed_origins: warning: "*" lets every web page you open use this HTTP API and SSE stream, and there is no access_token; list the origins you need, or set network[1].access_token',
      'network[2].allowed_origins: warning: "null" is the origin of any sandboxed frame or local file, from any site, and there is no access_token; remove it, or set network[2].access_token',
      'network[2].allowed_hosts: warning: "*" turns off the Host check, so a DNS-rebinding web page can reach this HTTP API, and there is no access_token; list the names you need, or set network[2].access_token',
      'admin.host: warning: :: is reachable from other machines and there is no access_token: anyone who reaches the port can use the admin endpoint; set admin.access_token, or bind 127.0.0.1',
    ]);
  });
});
