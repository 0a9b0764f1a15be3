import { LruMap } from '../lru-map.js';
import type { Sender } from '../onebot/events.js';
import { getMsgData, MessageStore, type StoredMessage } from '../onebot/message-store.js';
import type { ActionContext, ActionTable } from '../onebot/router.js';
import { stringifyCQ } from '../onebot/cqcode.js';
import type { Message } from '../onebot/types.js';

/** A message as an adapter records it; `message_id` is given out by `PlatformMessages`. */
export interface PlatformMessage {
  /** The platform's own id (IRCv3 `msgid`, XMPP stanza/stable id), when it has one. */
  readonly platformId?: string | undefined;
  readonly message_type: 'private' | 'group';
  readonly group_id?: number;
  /** The sender. */
  readonly user_id: number;
  /** The other party of a private message. */
  readonly to?: number;
  readonly sender: Sender;
  readonly message: Message;
  /** Seconds since the epoch; now when omitted. */
  readonly time?: number;
}

export interface RecordedMessage extends StoredMessage {
  readonly platformId: string | undefined;
}

export interface PlatformMessagesOptions {
  /** How many messages get_msg / delete_msg / reply can still find (least recently used go first). */
  readonly capacity?: number;
  /** First id given out; tests pin it. Default: random, so ids from before a restart rarely alias. */
  readonly firstId?: number;
}

const INT32_MAX = 0x7fffffff;

/**
 * OneBot `message_id`s (int32, as clients store them) for a platform's messages, kept in a
 * bounded MessageStore so `get_msg`, `delete_msg` and `reply` segments work, with the lookup
 * from the platform's own id (a platform reply or redaction names the message it targets).
 *
 * Ids count up from a random start and wrap within 1..2^31-1; they are not stable across
 * restarts (the store is in memory). It does not talk to the platform.
 */
export class PlatformMessages {
  readonly store: MessageStore;
  readonly #byPlatformId: LruMap<string, number>;
  readonly #platformIds = new Map<number, string>();
  #next: number;

  constructor(options: PlatformMessagesOptions = {}) {
    const capacity = Math.max(1, options.capacity ?? 10_000);
    this.store = new MessageStore(capacity);
    // Room for aliases (a few per message); an evicted alias leaves its message's own id alone.
    this.#byPlatformId = new LruMap(capacity * 4, (id, platformId) => {
      if (this.#platformIds.get(id) === platformId) this.#platformIds.delete(id);
    });
    this.#next = options.firstId ?? 1 + Math.floor(Math.random() * (INT32_MAX / 2));
  }

  /** Records a message and returns it with its new `message_id`. */
  record(m: PlatformMessage): RecordedMessage {
    const message_id = this.#take();
    const stored: StoredMessage = {
      message_id,
      time: m.time ?? Math.floor(Date.now() / 1000),
      message_type: m.message_type,
      ...(m.group_id !== undefined ? { group_id: m.group_id } : {}),
      user_id: m.user_id,
      ...(m.to !== undefined ? { to: m.to } : {}),
      sender: m.sender,
      message: m.message,
      raw_message: stringifyCQ(m.message),
    };
    this.store.put(stored);
    if (m.platformId !== undefined) {
      this.#byPlatformId.set(m.platformId, message_id);
      this.#platformIds.set(message_id, m.platformId);
    }
    return { ...stored, platformId: m.platformId };
  }

  /** The message, or ActionError 1404. */
  get(messageId: number): RecordedMessage {
    const m = this.store.get(messageId);
    return { ...m, platformId: this.#platformIds.get(messageId) };
  }

  /** The `message_id` of a platform id seen before, if still held. */
  idOf(platformId: string): number | undefined {
    const id = this.#byPlatformId.get(platformId);
    // The store may have evicted or deleted it while an alias still pointed at it.
    return id !== undefined && this.store.has(id) ? id : undefined;
  }

  /**
   * Another platform id for a recorded message, found by `idOf` like its first: the id a
   * server assigns on echo (XMPP stanza-id, IRCv3 msgid with echo-message) to a message sent
   * under the client's own id, or the other parts of a message sent as several. Ignored for
   * a message the store no longer holds.
   */
  alias(messageId: number, platformId: string): void {
    if (this.store.has(messageId)) this.#byPlatformId.set(platformId, messageId);
  }

  delete(messageId: number): boolean {
    const platformId = this.#platformIds.get(messageId);
    if (platformId !== undefined) this.#byPlatformId.delete(platformId);
    return this.store.delete(messageId);
  }

  /**
   * `get_msg` and `delete_msg` over this store. `remove` does the platform side of a delete
   * (a redaction); without it delete_msg only forgets the message here.
   */
  actions(remove?: (m: RecordedMessage) => Promise<void> | void): ActionTable {
    return {
      get_msg: (p, ctx: ActionContext) => {
        return getMsgData(this.get(p.int('message_id')), ctx.format);
      },
      delete_msg: async (p) => {
        const m = this.get(p.int('message_id'));
        await remove?.(m);
        this.delete(m.message_id);
        return null;
      },
    };
  }

  #take(): number {
    const id = this.#next;
    this.#next = id >= INT32_MAX ? 1 : id + 1;
    return id;
  }
}
