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
}

/**
 * `message_id` → message, for get_msg, delete_msg, reply segments and recall notices. Bounded:
 * the least recently used go first past `capacity`, so memory stays flat however long it runs.
 * An id that was evicted or never existed is a clear failure, not a crash.
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

  /** The message, or ActionError 1404 saying it is unknown. */
  get(messageId: number): StoredMessage {
    const m = this.#cache.get(messageId);
    if (!m) throw new ActionError(Retcode.NOT_FOUND, `message ${messageId} not found (evicted from the message store, or never existed)`);
    return m;
  }

  /** Whether it is held, without touching its recency. */
  has(messageId: number): boolean {
    return this.#cache.has(messageId);
  }

  delete(messageId: number): boolean {
    return this.#cache.delete(messageId);
  }
}
