import { builtinAdapters, sandboxAdapter } from '../adapters/index.js';
import type { App } from '../src/app.js';
import { adapterContract, type PlatformHarness } from './support/adapter-contract.js';

/** The sandbox's platform is its own world: a person talks through the admin API, as the console does. */
adapterContract('sandbox', {
  adapters: builtinAdapters,
  linked: false,
  harness: async (): Promise<PlatformHarness> => {
    let admin = '';
    const post = (path: string, body: unknown) => fetch(`${admin}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return {
      account: () => ({ adapter: { type: sandboxAdapter.type }, extra: { sandbox: { console: false } } }),
      attach: (app: App) => {
        admin = app.admin!.url;
      },
      say: async (text) => {
        const res = await post('/sandbox/messages', { user_id: 20001, message: text });
        if (!res.ok) throw new Error(`sandbox refused the message: ${res.status} ${await res.text()}`);
      },
      received: async (needle) => {
        for (let since = 0; ; ) {
          const res = await fetch(`${admin}/sandbox/messages?since=${since}&timeout_ms=5000`);
          const body = (await res.json()) as { messages: Array<{ raw_message: string }>; last_id: number };
          const hit = body.messages.find((m) => m.raw_message.includes(needle));
          if (hit) return hit.raw_message;
          since = body.last_id;
        }
      },
      // In process: there is no remote side that could stop answering.
      hang: async () => {},
      close: async () => {},
    };
  },
});
