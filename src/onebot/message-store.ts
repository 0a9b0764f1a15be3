import { LRUCache } from 'lru-cache';
import type { Sender } from './events.js';
import { ActionError } from './params.js';
import { Retcode, type Message } from './types.js';

export interface StoredMessage {
  readonly message_id: number;
  readonly time: number;
  readonly message_type: 'private' | 'group';
  readonly group_id?: number;
  /** The sender. */
  readonly user_id: number;
  /** The other party of a private message. */
  readonly to?: number;
  readonly sender: Sender;
  readonly message: Message;
  readonly raw_message: string;
  /** Set for an anonymous group message: `{id, name, flag}`; `sender` is then the placeholder. */
  readonly anonymous?: Readonly<Record<string, unknown>>;
}

/**
 * `message_id` → message, for get_msg, delete_msg, reply segments and recall notices. Bounded:
 * the least recently used go first past `capacity`, so memory stays flat however long it runs.
 * An id that was evicted or never existed is a clear failure (retcode 100), not a crash.
 */
export class MessageStore {
  readonly #cache: LRUCache<number, StoredMessage>;

  constructor(capacity: number) {
    this.#cache = new LRUCache({ max: Math.max(1, capacity) });
  }

  get size(): number {
    return this.#cache.size;
  }

  put(message: StoredMessage): void {
    this.#cache.set(message.message_id, message);
  }

  /**
   * The message, or a failed ActionError with retcode 100, as go-cqhttp answers (MSG_NOT_FOUND):
   * 1404 is the spec's "no such action", which a client may read as the action missing.
   */
  get(messageId: number): StoredMessage {
    const m = this.#cache.get(messageId);
    if (!m) throw new ActionError(Retcode.FAILED, `message ${messageId} not found (evicted from the message store, or never existed)`);
    return m;
  }

  /** Whether it is held, without touching its recency. */
  has(messageId: number): boolean {
    return this.#cache.has(messageId);
  }

  /** Every stored message, without touching recency (history lookups). */
  values(): IterableIterator<StoredMessage> {
    return this.#cache.values();
  }

  delete(messageId: number): boolean {
    return this.#cache.delete(messageId);
  }
}
