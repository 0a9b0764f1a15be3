import { OneBridgeError } from '../errors.js';
import { parseCQ, stringifyCQ } from './cqcode.js';
import type { Message, MessageFormat, Segment } from './types.js';

/** Thrown by `toMessage` for a value that is not a message; routers answer it with 1400. */
export class InvalidMessageError extends OneBridgeError {
  constructor(message: string) {
    super('ONEBRIDGE_INVALID_MESSAGE', message);
  }
}

function isSegment(value: unknown): value is { type: string; data?: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function toSegment(value: unknown, where: string): Segment {
  if (!isSegment(value)) throw new InvalidMessageError(`${where}: expected a segment {type, data}`);
  const data = value.data ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new InvalidMessageError(`${where}.data: expected an object`);
  return { type: value.type, data: data as Record<string, unknown> };
}

/**
 * A message param as OneBot allows it: a CQ string, an array of segments, or one segment
 * object. With `autoEscape` a string is plain text, CQ codes and all.
 */
export function toMessage(value: unknown, autoEscape = false, name = 'message'): Message {
  if (typeof value === 'string') return autoEscape ? (value ? [{ type: 'text', data: { text: value } }] : []) : parseCQ(value);
  if (Array.isArray(value)) return value.map((v, i) => toSegment(v, `${name}[${i}]`));
  if (isSegment(value)) return [toSegment(value, name)];
  throw new InvalidMessageError(`${name}: expected a string, a segment or a list of segments`);
}

export function formatMessage(message: Message, format: MessageFormat): Message | string {
  return format === 'string' ? stringifyCQ(message) : message;
}

/** The text a person would read: text segments as they are, other segments as CQ codes. */
export function plainText(message: Message): string {
  return message.map((s) => (s.type === 'text' ? String(s.data['text'] ?? '') : stringifyCQ([s]))).join('');
}

/**
 * An event as onebridge carries it inside: a `message` given as a CQ string (peers with
 * `message_format: string`) becomes segments, and `raw_message` keeps the string. Other events
 * come back as they are, the same object.
 */
export function withArrayMessage<E extends { [key: string]: unknown }>(event: E): E {
  const raw = event['message'];
  if (typeof raw !== 'string') return event;
  return { ...event, message: parseCQ(raw), raw_message: typeof event['raw_message'] === 'string' ? event['raw_message'] : raw };
}
