import { isIP } from 'node:net';
import * as z from 'zod/mini';

/**
 * Building blocks for config schemas. Every message starts with "expected …": the loader
 * appends what it got, so a user sees both the rule and the offending value.
 *
 * Each returns one shared instance per distinct rule (zod schemas are immutable: `.default()`
 * and the like wrap or copy), so the ~100 fields of the config schemas cost a few dozen
 * instances to build and hold at every start.
 */
const ints = new Map<string, z.ZodMiniNumberFormat>();

export function intIn(min: number, max: number, note = ''): z.ZodMiniNumberFormat {
  const key = `${min}:${max}:${note}`;
  let schema = ints.get(key);
  if (!schema) {
    const error = `expected integer ${min}-${max}${note}`;
    // Both bounds in one step: each chained .min()/.max() is a clone that keeps its parent
    // alive (zod 4), ~8 KiB a field instead of ~6.
    schema = z.int({ error }).check(z.gte(min, { error }), z.lte(max, { error }));
    ints.set(key, schema);
  }
  return schema;
}

export const port = () => intIn(0, 65535, ' (0 picks a free port)');
export const durationMs = (max = 86_400_000) => intIn(0, max, ' (milliseconds)');
export const selfId = () => intIn(1, Number.MAX_SAFE_INTEGER, ' (the bot account id)');
/** An IP address, or a name made of DNS labels (letters, digits, hyphens); `999.1.1.1` is neither. */
export function isValidHost(value: string): boolean {
  if (isIP(value) !== 0) return true;
  if (value.length > 253 || /^[\d.]+$/.test(value)) return false;
  return value.split('.').every((label) => /^[a-z\d]([a-z\d-]{0,61}[a-z\d])?$/i.test(label));
}

let hostSchema: z.ZodMiniString | undefined;
export const host = (): z.ZodMiniString =>
  (hostSchema ??= z
    .string({ error: 'expected a host name or IP address' })
    .check(
      z.minLength(1, { error: 'expected a host name or IP address' }),
      z.refine(isValidHost, { error: 'expected a host name or IP address, e.g. 127.0.0.1, 0.0.0.0 or ::1' }),
    ));
let tokenSchema: z.ZodMiniDefault<z.ZodMiniString> | undefined;
export const token = () =>
  (tokenSchema ??= z._default(z.string({ error: 'expected a string (empty for no token)' }), ''));
/**
 * `host` and `port` of something that listens: loopback unless the user opens it up, so a
 * config that names only a port never exposes it. Spread into an object schema.
 */
export const listenAt = (defaultPort: number) => ({
  host: z._default(host(), '127.0.0.1'),
  port: z._default(port(), defaultPort),
});

/**
 * The check for a URL field: the scheme or its TLS form (`ws`/`wss`), a host, and parseable.
 * Its message shows `example`; the field's own type error (not a string) stays the caller's.
 */
export function urlOf(scheme: 'ws' | 'http' | 'xmpp', example: string): z.core.$ZodCheck<string> {
  const pattern = new RegExp(`^${scheme}s?://[^/\\s]+`, 'i');
  return z.refine((v: string) => pattern.test(v) && URL.canParse(v), {
    error: `expected ${scheme === 'ws' ? 'a' : 'an'} ${scheme}:// or ${scheme}s:// URL, e.g. ${example}`,
  });
}
export const MessageFormat = z.enum(['array', 'string']);
export type MessageFormat = z.infer<typeof MessageFormat>;

/** `['network', 1, 'port']` → `network[1].port`, the notation config errors use. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    // Keys that are not plain names (a filter's `.or`) are quoted, so the path stays unambiguous.
    else if (out && !/^[A-Za-z_][\w-]*$/.test(String(part))) out += `[${JSON.stringify(String(part))}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}
