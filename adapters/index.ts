import type { AnyAdapterDefinition } from '../src/adapter.js';
import { ircAdapter } from './irc/index.js';
import { relayAdapter } from './relay/index.js';
import { sandboxAdapter } from './sandbox/index.js';
import { xmppAdapter } from './xmpp/index.js';

export { ircAdapter, relayAdapter, sandboxAdapter, xmppAdapter };

/**
 * The adapters the `onebridge` CLI offers. The first one is the default account's (no
 * `accounts:` in the config). A new platform adds one line here and nothing in `src/`.
 */
export const builtinAdapters: readonly AnyAdapterDefinition[] = [sandboxAdapter, relayAdapter, ircAdapter, xmppAdapter];
