import { beforeAll } from 'vitest';
import { builtinAdapters } from '../adapters/index.js';
import { adapterContract, type PlatformHarness } from './support/adapter-contract.js';
import { ensureNgircd, Ngircd } from './support/ngircd.js';
import { RawIrc } from './support/raw-irc.js';

// On a fresh machine this installs the Debian package: minutes, not a hook's 20 s.
beforeAll(() => void ensureNgircd(), 600_000);

/** The IRC adapter's platform is a real ngircd; alice talks to the bot in private. */
adapterContract('irc', {
  adapters: builtinAdapters,
  timeoutMs: 10_000,
  linked: true,
  harness: async (): Promise<PlatformHarness> => {
    const server = await Ngircd.start({ limits: { MaxPenaltyTime: 0 } });
    let alice = await RawIrc.connect(server.port, 'alice');
    return {
      account: () => ({ adapter: { type: 'irc', host: '127.0.0.1', port: server.port, nick: 'contractbot', send_interval_ms: 0, reconnect: { initial_ms: 20, max_ms: 100 } } }),
      say: async (text) => alice.say('contractbot', text),
      received: async (needle) => (await alice.waitFor((l) => l.command === 'PRIVMSG' && (l.params[1] ?? '').includes(needle), 10_000, `"${needle}" from the bot`)).params[1]!,
      hang: async () => server.freeze(),
      // The server dies (SIGKILL) and comes back on the same port; alice dials in again.
      drop: async () => {
        await server.kill();
        return async () => {
          await server.restart();
          alice = await RawIrc.connect(server.port, 'alice');
        };
      },
      close: async () => {
        server.thaw();
        await alice.quit();
        await server.stop();
      },
    };
  },
});
