import { preview } from '../untrusted-json.js';
import { OneBridgeError } from '../errors.js';
import { InvalidMessageError, toMessage } from './message.js';
import { Retcode, type Message } from './types.js';

/** A failed action with a retcode; routers answer it as `{status: "failed", retcode, message}`. */
export class ActionError extends OneBridgeError {
  readonly retcode: number;

  constructor(retcode: number, message: string) {
    super('ONEBRIDGE_ACTION_FAILED', message);
    this.retcode = retcode;
  }
}

const badParam = (name: string, expected: string, got: unknown) =>
  new ActionError(Retcode.BAD_REQUEST, `param ${name}: expected ${expected}, got ${got === undefined ? 'nothing' : preview(got)}`);

/**
 * Typed reads of an action's params. Numbers and booleans given as strings are accepted, as
 * OneBot's HTTP form allows (`?user_id=123&auto_escape=true`); anything else is a 1400 that
 * names the param. It does not reject unknown params: clients send extension fields freely.
 */
export class Params {
  readonly raw: Readonly<Record<string, unknown>>;

  constructor(raw: Record<string, unknown>) {
    this.raw = raw;
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  int(name: string): number {
    const v = this.raw[name];
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw badParam(name, 'an integer', v);
    return n;
  }

  optionalInt(name: string): number | undefined;
  optionalInt(name: string, fallback: number): number;
  optionalInt(name: string, fallback?: number): number | undefined {
    return this.has(name) ? this.int(name) : fallback;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw[name];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 1) return true;
    if (v === 0) return false;
    // The strings go-cqhttp accepts, in any case: bots send "True" (Python's str(True)) and "yes".
    const s = typeof v === 'string' ? v.toLowerCase() : undefined;
    if (s === 'true' || s === 'yes' || s === '1') return true;
    if (s === 'false' || s === 'no' || s === '0') return false;
    throw badParam(name, 'a boolean', v);
  }

  string(name: string): string {
    const v = this.raw[name];
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    throw badParam(name, 'a string', v);
  }

  optionalString(name: string, fallback = ''): string {
    return this.has(name) ? this.string(name) : fallback;
  }

  /** A param that must be a JSON object (e.g. `context` of `.handle_quick_operation`). */
  object(name: string): Record<string, unknown> {
    const v = this.raw[name];
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    throw badParam(name, 'an object', v);
  }

  /** The `message` param with `auto_escape` applied. */
  message(name = 'message'): Message {
    if (!this.has(name)) throw badParam(name, 'a message (string, segment or list of segments)', undefined);
    try {
      return toMessage(this.raw[name], this.bool('auto_escape', false), name);
    } catch (err) {
      if (err instanceof InvalidMessageError) throw new ActionError(Retcode.BAD_REQUEST, `param ${err.message}`);
      throw err;
    }
  }
}
