import { defineAdapter } from '../../src/kit/index.js';
import { IrcAdapterConfig } from './config.js';

/**
 * `type: irc`: the bot is one user on an IRC server. Only the config schema is loaded with
 * the CLI; the client (`adapter.js` and the session under it) is imported when an irc account
 * is created, so users of other adapters never load it.
 */
export const ircAdapter = defineAdapter({
  type: 'irc',
  config: IrcAdapterConfig,
  // Without self_id, the id is derived from the configured nick like every IRC user's.
  learnsSelfId: true,
  async create(config, ctx) {
    const { createIrcAdapter } = await import('./adapter.js');
    return createIrcAdapter(config, ctx);
  },
});
