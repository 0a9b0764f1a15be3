import { stringifyCQ } from './cqcode.js';
import type { MessageFormat, OneBotEvent, Segment } from './types.js';

/** How many recent events keep their encodings. */
const RECENT = 4;

interface Encoded {
  array?: Buffer;
  string?: Buffer;
}

/**
 * Serialises each event once per message format, however many sockets and transports send
 * it: the same Buffer goes to every client, so fan-out costs one JSON.stringify per format.
 *
 * It remembers only the last few events (by identity): transports encode an event while the
 * account emits it, so that is enough, and nothing accumulates. It does not deduplicate equal
 * but distinct event objects, nor an event encoded again long after it was emitted (that
 * just costs one more stringify).
 */
export class EventEncoder {
  // A WeakMap keyed by every event cost a third of fan-out throughput to one client
  // (ephemeron table growth and GC work per event); a tiny ring scanned by identity is free.
  readonly #events: Array<OneBotEvent | undefined> = new Array<OneBotEvent | undefined>(RECENT).fill(undefined);
  readonly #entries: Encoded[] = Array.from({ length: RECENT }, () => ({}));
  #next = 0;

  encode(event: OneBotEvent, format: MessageFormat): Buffer {
    let slot = this.#events.indexOf(event);
    if (slot === -1) {
      slot = this.#next;
      this.#next = (slot + 1) % RECENT;
      this.#events[slot] = event;
      this.#entries[slot] = {};
    }
    const entry = this.#entries[slot]!;
    let buf = entry[format];
    if (!buf) {
      buf = Buffer.from(JSON.stringify(format === 'string' ? toStringFormat(event) : event));
      entry[format] = buf;
    }
    return buf;
  }
}

function toStringFormat(event: OneBotEvent): OneBotEvent {
  return Array.isArray(event['message']) ? { ...event, message: stringifyCQ(event['message'] as Segment[]) } : event;
}

/** One encoder for the process: transports share it so an event is encoded once overall. */
export const sharedEncoder = new EventEncoder();
