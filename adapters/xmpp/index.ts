import { defineAdapter } from '../../src/kit/index.js';
import { XmppAdapterConfig } from './config.js';

/**
 * `type: xmpp`: one XMPP account. Rooms (XEP-0045) are groups, direct chats are private
 * messages, the roster is the friend list. Only the config schema loads with the CLI: the
 * implementation (`adapter.js`) is imported when an xmpp account is created, and xmpp.js when
 * it starts, so other adapters' users never load either. `self_id` may be omitted: it is
 * derived from the bot's bare JID (see `Directory`).
 */
export const xmppAdapter = defineAdapter({
  type: 'xmpp',
  config: XmppAdapterConfig,
  learnsSelfId: true,
  async create(config, ctx) {
    const { createXmppAdapter } = await import('./adapter.js');
    return createXmppAdapter(config, ctx);
  },
});
