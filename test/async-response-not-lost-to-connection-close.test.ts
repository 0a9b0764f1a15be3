import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { startApp, wsPort, tearDown } from './support/app.js';
import { addSlowAction, bodies, rawExchange } from './support/http.js';

// Failure mode 3 of issue 6: an action that completes later must still deliver its full
// response when the request said Connection: close, on HTTP/1.0, and when pipelined.

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)));

const HTTP = 'network:\n  - type: http\n    port: 0\n    heartbeat_interval_ms: 0\n';

describe('HTTP API: async answers are never lost', () => {
  it('with Connection: close, the full answer arrives before FIN', async () => {
    app = await startApp(HTTP);
    addSlowAction(app, 150);
    const raw = await rawExchange(
      wsPort(app),
      'POST /slow_echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"text":"late"}',
      cleanups,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(bodies(raw)).toEqual([expect.objectContaining({ status: 'ok', data: { text: 'late' } })]);
  });

  it('on HTTP/1.0', async () => {
    app = await startApp(HTTP);
    addSlowAction(app, 150);
    const raw = await rawExchange(wsPort(app), 'GET /slow_echo?text=old HTTP/1.0\r\nHost: localhost\r\n\r\n', cleanups);
    expect(raw).toMatch(/^HTTP\/1\.[01] 200 OK/);
    expect(bodies(raw)).toEqual([expect.objectContaining({ data: { text: 'old' } })]);
  });

  it('for a pipelined pair: both answers, in order, before FIN', async () => {
    app = await startApp(HTTP);
    addSlowAction(app, 150);
    const raw = await rawExchange(
      wsPort(app),
      'GET /slow_echo?text=one HTTP/1.1\r\nHost: localhost\r\n\r\nGET /slow_echo?text=two HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      cleanups,
    );
    expect(bodies(raw)).toEqual([
      expect.objectContaining({ data: { text: 'one' } }),
      expect.objectContaining({ data: { text: 'two' } }),
    ]);
  });
});
