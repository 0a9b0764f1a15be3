import { LruMap } from '../lru-map.js';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Admission rate limit per remote address: a token bucket of `perSecond` tokens refilled
 * continuously, burst up to `perSecond`. Remembers at most `maxAddresses` addresses (least
 * recently seen forgotten first), so a flood of distinct addresses cannot grow memory.
 * It does not limit established connections, only new upgrades; 0 turns it off.
 */
export class AddressRateLimit {
  readonly #perSecond: number;
  readonly #buckets: LruMap<string, Bucket>;

  constructor(perSecond: number, maxAddresses = 10_000) {
    this.#perSecond = perSecond;
    this.#buckets = new LruMap(maxAddresses);
  }

  /** True when `address` may open one more connection now (and counts it). */
  take(address: string, now = Date.now()): boolean {
    if (this.#perSecond <= 0) return true;
    const b = this.#buckets.get(address) ?? { tokens: this.#perSecond, at: now };
    b.tokens = Math.min(this.#perSecond, b.tokens + ((now - b.at) / 1000) * this.#perSecond);
    b.at = now;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.#buckets.set(address, b);
    return ok;
  }
}
