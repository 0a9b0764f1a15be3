import { defineAdapter, type Adapter } from '../../src/kit/index.js';
import { xmppActions } from './actions.js';
import { XmppBot } from './bot.js';
import { XmppAdapterConfig } from './config.js';

/**
 * How long the server gets to answer our end of stream at shutdown before the socket is cut.
 * A live server answers in milliseconds; the app stops adapters one after another, so a hung
 * server costs each account this much.
 */
const GOODBYE_MS = 300;

/**
 * `type: xmpp`: one XMPP account. Rooms (XEP-0045) are groups, direct chats are private
 * messages, the roster is the friend list. xmpp.js is imported when the account starts, so
 * other adapters' users never load it. `self_id` may be omitted: it is derived from the bot's
 * bare JID (see `Directory`).
 */
export const xmppAdapter = defineAdapter({
  type: 'xmpp',
  config: XmppAdapterConfig,
  learnsSelfId: true,
  create(config, ctx): Adapter {
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
  },
});
