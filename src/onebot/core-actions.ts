import { VERSION } from '../package-info.js';
import type { BotStatus } from './events.js';
import { quickOperationAction } from './quick-operation.js';
import type { ActionRouter, ActionTable } from './router.js';

/** Actions onebridge answers itself, whatever the adapter. */
export function coreActions(status: () => BotStatus, router: () => ActionRouter): ActionTable {
  return {
    '.handle_quick_operation': quickOperationAction(router),
    get_version_info: () => ({
      app_name: 'onebridge',
      app_version: VERSION,
      protocol_version: 'v11',
      onebot_version: '11',
    }),
    get_status: () => status(),
  };
}
