import { EventEmitter } from 'eventemitter3';
import type { Adapter } from './adapter.js';
import type { BotStatus } from './onebot/events.js';
import type { OneBotEvent } from './onebot/types.js';
import type { ActionRouter } from './onebot/router.js';

/**
 * One bot account: its adapter, its action router, and the event stream every transport
 * serving it subscribes to (`on('event')`).
 */
export class Account extends EventEmitter<{ event: [OneBotEvent] }> {
  readonly selfId: number;
  readonly adapter: Adapter;
  readonly router: ActionRouter;

  constructor(selfId: number, adapter: Adapter, router: ActionRouter) {
    super();
    this.selfId = selfId;
    this.adapter = adapter;
    this.router = router;
  }

  status(): BotStatus {
    return this.adapter.status();
  }
}
