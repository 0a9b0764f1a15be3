import { defineAdapter } from '../../src/kit/index.js';
import { RelayAdapterConfig } from './config.js';

/**
 * The relay: an existing OneBot implementation is the platform. Events from it reach every
 * transport of the account (normalised, so each connection point's format applies); any
 * action no core table answers is passed upstream as is and its answer comes back to the
 * caller with the caller's echo. Upstream down: actions fail at once with 1503, get_status
 * says offline. `identify` learns self_id from upstream's get_login_info when the config omits
 * it; it does not check a configured self_id against upstream's.
 *
 * Only the config schema loads with the CLI; the implementation (`adapter.js`) is imported
 * when a relay account is created, so a start without one never reads it.
 */
export const relayAdapter = defineAdapter({
  type: 'relay',
  config: RelayAdapterConfig,
  learnsSelfId: true,
  async create(config, ctx) {
    const { createRelayAdapter } = await import('./adapter.js');
    return createRelayAdapter(config, ctx);
  },
});
