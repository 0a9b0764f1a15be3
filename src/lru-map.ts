/**
 * A Map that holds at most `max` entries and forgets the least recently used one first:
 * `get` and `set` count as a use; `has`, `peek` and iteration do not. `onRemove` hears every
 * entry that leaves other than by `clear()`: pushed out by a `set`, deleted, or overwritten
 * with another value.
 *
 * It does not expire entries by age, weigh them by size, or allocate anything up front. Not
 * `lru-cache`: that package reads `performance` when it loads, which pulls Node's perf_hooks
 * into every start (about 0.4 MiB RSS, bench "RSS at ready"), and fills its tables for `max`
 * entries when made; a JavaScript Map already keeps the order this needs.
 */
export class LruMap<K, V> {
  readonly max: number;
  readonly #onRemove: ((value: V, key: K) => void) | undefined;
  /** Oldest use first: Map iterates in insertion order, and a use re-inserts. */
  readonly #map = new Map<K, V>();

  constructor(max: number, onRemove?: (value: V, key: K) => void) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`LruMap max must be an integer >= 1, got ${max}`);
    this.max = max;
    this.#onRemove = onRemove;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, marking it the most recently used. */
  get(key: K): V | undefined {
    if (!this.#map.has(key)) return undefined;
    const value = this.#map.get(key) as V;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  /** The value, without touching its recency. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): this {
    if (this.#map.has(key)) {
      const old = this.#map.get(key) as V;
      this.#map.delete(key);
      this.#map.set(key, value);
      if (old !== value) this.#onRemove?.(old, key);
      return this;
    }
    this.#map.set(key, value);
    if (this.#map.size > this.max) {
      const [oldestKey, oldestValue] = this.#map.entries().next().value as [K, V];
      this.#map.delete(oldestKey);
      this.#onRemove?.(oldestValue, oldestKey);
    }
    return this;
  }

  delete(key: K): boolean {
    if (!this.#map.has(key)) return false;
    const value = this.#map.get(key) as V;
    this.#map.delete(key);
    this.#onRemove?.(value, key);
    return true;
  }

  /** Forgets everything, without calling `onRemove`. */
  clear(): void {
    this.#map.clear();
  }

  /** Values, least recently used first. */
  values(): MapIterator<V> {
    return this.#map.values();
  }

  /** Keys, least recently used first. */
  keys(): MapIterator<K> {
    return this.#map.keys();
  }
}
