import type { Adapter, AdapterContext } from '../../src/kit/index.js';
import { xmppActions } from './actions.js';
import { XmppBot } from './bot.js';
import type { XmppAdapterConfig } from './config.js';

/**
 * How long the server gets to answer our end of stream at shutdown before the socket is cut.
 * A live server answers in milliseconds; the app stops adapters one after another, so a hung
 * server costs each account this much.
 */
const GOODBYE_MS = 300;

/** An xmpp account's adapter; see index.ts. Imported when an xmpp account is created. */
export function createXmppAdapter(config: XmppAdapterConfig, ctx: AdapterContext): Adapter {
  const bot = new XmppBot(config, ctx);
  return {
    actions: xmppActions(bot),
    status: () => ({ online: bot.link.state === 'open', good: bot.link.state === 'open' }),
    async start() {
      bot.link.start();
    },
    // Derived, not asked: the same on every start, known before the server answers.
    identify: async () => bot.dir.users.id(bot.dir.self),
    selfIdSource: `derived from the JID ${bot.dir.self}`,
    stop: () => bot.link.stop(GOODBYE_MS),
  };
}
