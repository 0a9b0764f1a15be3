import type { OneBotEvent } from '../onebot/types.js';

export interface HeldEventsOptions {
  /** 0 = hold nothing. */
  readonly maxEvents: number;
  /** Events older than this are dropped when drained; 0 = no age limit. */
  readonly maxAgeMs: number;
  readonly now?: () => number;
}

/**
 * Events kept for a peer that is away (disconnected, or too slow to take them), bounded by
 * count and age so memory stays flat however long the outage lasts. When full, the oldest
 * go first. Counts what it dropped, so the link can say so when it comes back.
 */
export class HeldEvents {
  readonly #max: number;
  readonly #maxAge: number;
  readonly #now: () => number;
  #items: Array<{ at: number; event: OneBotEvent }> = [];
  #dropped = 0;

  constructor(options: HeldEventsOptions) {
    this.#max = options.maxEvents;
    this.#maxAge = options.maxAgeMs;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Dropped since the last `takeDropped()`. */
  get dropped(): number {
    return this.#dropped;
  }

  push(event: OneBotEvent): void {
    if (this.#max <= 0) {
      this.#dropped++;
      return;
    }
    this.#items.push({ at: this.#now(), event });
    if (this.#items.length > this.#max) {
      this.#items.shift();
      this.#dropped++;
    }
  }

  /** The oldest event still fresh (older ones are dropped on the way), or undefined. */
  shift(): OneBotEvent | undefined {
    const cutoff = this.#maxAge > 0 ? this.#now() - this.#maxAge : -Infinity;
    for (let item = this.#items.shift(); item; item = this.#items.shift()) {
      if (item.at >= cutoff) return item.event;
      this.#dropped++;
    }
    return undefined;
  }

  /** Everything still fresh, oldest first; the store is empty afterwards. */
  drain(): OneBotEvent[] {
    const items = this.#items;
    this.#items = [];
    const cutoff = this.#maxAge > 0 ? this.#now() - this.#maxAge : -Infinity;
    let start = 0;
    while (start < items.length && items[start]!.at < cutoff) start++;
    this.#dropped += start;
    return items.slice(start).map((i) => i.event);
  }

  takeDropped(): number {
    const n = this.#dropped;
    this.#dropped = 0;
    return n;
  }
}
