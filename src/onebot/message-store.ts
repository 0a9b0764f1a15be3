import { LruMap } from '../lru-map.js';
import type { Sender } from './events.js';
import { ActionError } from './action-error.js';
import { formatMessage } from './message.js';
import { Retcode, type Message, type MessageFormat } from './types.js';

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
/** A stored message as `get_msg` answers it, in the caller's message format. */
export function getMsgData(m: StoredMessage, format: MessageFormat): Record<string, unknown> {
  return {
    time: m.time,
    message_type: m.message_type,
    message_id: m.message_id,
    real_id: m.message_id,
    sender: m.sender,
    message: formatMessage(m.message, format),
    raw_message: m.raw_message,
    ...(m.group_id === undefined ? {} : { group_id: m.group_id }),
  };
}

export class MessageStore {
  readonly #cache: LruMap<number, StoredMessage>;

  constructor(capacity: number) {
    this.#cache = new LruMap(Math.max(1, Math.floor(capacity)));
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
    if (!m)
      throw new ActionError(
        Retcode.FAILED,
        `message ${messageId} not found (evicted from the message store, or never existed)`,
      );
    return m;
  }

  /** Whether it is held, without touching its recency. */
  has(messageId: number): boolean {
    return this.#cache.has(messageId);
  }

  /** Every stored message, without touching recency (history lookups). */
  values(): MapIterator<StoredMessage> {
    return this.#cache.values();
  }

  delete(messageId: number): boolean {
    return this.#cache.delete(messageId);
  }
}
