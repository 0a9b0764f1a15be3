import { builtinAdapters } from '../adapters/index.js';
import { adapterContract, type PlatformHarness } from './support/adapter-contract.js';
import { Prosody } from './support/prosody.js';
import { bodyOf, XmppPeer } from './support/xmpp-peer.js';

/** The XMPP adapter's platform is a real Prosody; Alice writes to the bot directly. */
adapterContract('xmpp', {
  adapters: builtinAdapters,
  timeoutMs: 15_000,
  linked: true,
  harness: async (): Promise<PlatformHarness> => {
    const server = await Prosody.start({ bot: 'botpw', alice: 'alicepw' });
    let alice = await XmppPeer.connect(server, 'alice', 'alicepw');
    return {
      account: () => ({ adapter: { type: 'xmpp', service: server.service, domain: 'localhost', username: 'bot', password: 'botpw', reconnect: { initial_ms: 50, max_ms: 300 } } }),
      // Sent to the bare JID: delivered at once, or from offline storage when the bot's presence follows.
      say: async (text) => void (await alice.chat('bot@localhost', text)),
      received: async (needle) => bodyOf(await alice.waitFor((s) => bodyOf(s)?.includes(needle) === true, 15_000, `"${needle}"`))!,
      hang: async () => server.freeze(),
      // The server dies (every client with it) and comes back on the same port with the same data.
      drop: async () => {
        await server.kill();
        return async () => {
          await alice.close();
          await server.restart();
          alice = await XmppPeer.connect(server, 'alice', 'alicepw');
        };
      },
      close: async () => {
        server.thaw();
        await alice.close();
        await server.stop();
      },
    };
  },
});
