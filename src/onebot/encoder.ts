import { stringifyCQ } from './cqcode.js';
import type { MessageFormat, OneBotEvent, Segment } from './types.js';

interface Encoded {
  array?: Buffer;
  string?: Buffer;
}

/**
 * Serialises each event once per message format, however many sockets and transports send
 * it: the same Buffer goes to every client, so fan-out costs one JSON.stringify per format.
 * Entries live as long as the event object does (a WeakMap), so nothing accumulates.
 */
export class EventEncoder {
  readonly #cache = new WeakMap<OneBotEvent, Encoded>();

  encode(event: OneBotEvent, format: MessageFormat): Buffer {
    let entry = this.#cache.get(event);
    if (!entry) {
      entry = {};
      this.#cache.set(event, entry);
    }
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
