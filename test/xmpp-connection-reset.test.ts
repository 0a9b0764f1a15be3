import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { XmppSession } from '../adapters/xmpp/session.js';
import { NS } from '../adapters/xmpp/stanza.js';
import type { Logger } from '../src/index.js';
import { createTestApp, parseTestConfig, until, watchUnexpected } from './support/app.js';
import { Prosody } from './support/prosody.js';
import { ResetProxy, type ResetRule } from './support/reset-proxy.js';
import { xmppYaml } from './support/xmpp-fixture.js';

const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };

/** Unhandled rejections are reported once the microtasks after a macrotask have run: two turns are plenty. */
const settle = async () => {
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
};

/** The moments of a login at which the connection is reset (RST): each is a chunk the proxy drops. */
const LOGIN_MOMENTS: Record<string, ResetRule> = {
  // The client's stream header arrives; the server's never comes back (xmpp.js waits in open()).
  'the client opened its stream': (_c, from) => from === 'client',
  'the server opened its stream': (_c, from, s) => from === 'server' && s.includes('<stream:stream'),
  'SASL authentication': (_c, from, s) => from === 'client' && s.includes('<auth'),
  'resource binding': (_c, from, s) => from === 'client' && s.includes(':xmpp-bind'),
};

// A real Prosody behind a proxy that resets connections at chosen moments.
describe('XMPP: a connection reset at any moment is an ordinary lost connection', { timeout: 60_000 }, () => {
  let server: Prosody;
  const cleanups: Array<() => unknown> = [];

  beforeAll(async () => {
    server = await Prosody.start({ bot: 'botpw' });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  });

  async function proxy(rule: ResetRule = () => false): Promise<ResetProxy> {
    const p = await ResetProxy.start(server.port);
    p.rule = rule;
    cleanups.push(() => p.close());
    return p;
  }

  function unexpected(): unknown[] {
    const w = watchUnexpected();
    cleanups.push(w.stop);
    return w.errors;
  }

  const open = (service: string) =>
    XmppSession.open(
      {
        service,
        domain: Prosody.DOMAIN,
        username: 'bot',
        password: 'botpw',
        resource: 'reset',
        timeoutMs: 15_000,
        pingIntervalMs: 0,
        logger: quiet,
        onStanza() {},
      },
      new AbortController().signal,
    );

  for (const [moment, rule] of Object.entries(LOGIN_MOMENTS))
    it(`a reset during the login (${moment}) fails the attempt with ECONNRESET, no unhandled rejection`, async () => {
      const p = await proxy(rule);
      const errors = unexpected();
      await expect(open(p.service)).rejects.toMatchObject({
        code: 'ONEBRIDGE_XMPP_CONNECT',
        message: expect.stringContaining('ECONNRESET'),
      });
      expect(p.resets).toBe(1);
      await settle();
      expect(errors).toEqual([]);
    });

  it('a reset once online, with an iq pending, ends the session as "connection lost (read ECONNRESET)"', async () => {
    const p = await proxy();
    const errors = unexpected();
    const session = await open(p.service);
    cleanups.push(() => session.destroy());
    p.rule = (_c, from, s) => from === 'client' && s.includes(NS.DISCO_INFO);
    // A timeout far beyond the test's: the pending iq must fail when the connection ends.
    const iq = session.iq(
      session.xml('iq', { type: 'get', to: Prosody.DOMAIN }, session.xml('query', { xmlns: NS.DISCO_INFO })),
      10 * 60_000,
    );
    expect(await session.closed).toBe('connection lost (read ECONNRESET)');
    expect(session.online).toBe(false);
    await expect(iq).rejects.toMatchObject({
      code: 'ONEBRIDGE_XMPP_DOWN',
      message: 'the XMPP connection closed before the server answered (connection lost (read ECONNRESET))',
    });
    await settle();
    expect(errors).toEqual([]);
  });

  it('a reset during the goodbye: goodbye() still resolves', async () => {
    const p = await proxy();
    const errors = unexpected();
    const session = await open(p.service);
    cleanups.push(() => session.destroy());
    p.rule = (_c, from, s) => from === 'client' && s.includes('</stream:stream>');
    await session.goodbye();
    expect(p.resets).toBe(1);
    await settle();
    expect(errors).toEqual([]);
  });

  it('the adapter: resets while it logs in and once online; it reconnects by itself each time', async () => {
    // The first three connections are reset as the stream opens, where xmpp.js's start() leaked.
    let attempts = 0;
    const p = await proxy((_c, from) => from === 'client' && ++attempts <= 3);
    const errors = unexpected();
    const app = createTestApp(parseTestConfig(xmppYaml({ service: p.service } as Prosody, '', '[]')));
    cleanups.push(() => app.stop());
    await app.start();
    const online = () => [...app.accounts.values()][0]!.status().online;
    await until(online, 15_000, 'online after three resets');
    expect(p.resets).toBe(3);
    p.rule = () => false;
    p.reset();
    await until(() => !online(), 15_000, 'offline after the reset');
    await until(online, 15_000, 'online again');
    await settle();
    expect(errors).toEqual([]);
  });
});
