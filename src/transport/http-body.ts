import type { IncomingMessage } from 'node:http';
import { BodyError, readBody } from '../kit/body.js';
import { DEFAULT_MAX_JSON_DEPTH, depthMessage, parseUntrustedJson } from '../untrusted-json.js';

export { BodyError };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Query and form values are strings; one that is valid JSON starting with `[` or `{` is read
 * as that JSON, as go-cqhttp does, so GET and form callers can send segment arrays and
 * objects (`?message=[{"type":"face","data":{"id":"1"}}]`). Anything else stays the string:
 * `[CQ:face,id=1]` is not JSON, so CQ strings are untouched.
 */
export function jsonValues(entries: Iterable<[string, string]>, maxDepth = DEFAULT_MAX_JSON_DEPTH): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    out[key] = value;
    if (value.startsWith('[') || value.startsWith('{')) {
      // Not JSON: the literal text. Too deep: refused like a body, never built.
      const parsed = parseUntrustedJson(value, maxDepth);
      if (parsed.ok) out[key] = parsed.value;
      else if (parsed.reason === 'depth') throw new BodyError(400, depthMessage(`param ${key}`, maxDepth));
    }
  }
  return out;
}

/**
 * Reads a POST body as OneBot's HTTP API allows: JSON or `x-www-form-urlencoded`, an object
 * either way (form values through `jsonValues`). An empty body is `{}` whatever its type. 406
 * for other content types, 400 for a malformed body or JSON nested deeper than `maxDepth`
 * (`limits.max_json_depth`), 413 past `limit` bytes (reading stops there).
 */
export async function readParams(req: IncomingMessage, limit: number, maxDepth = DEFAULT_MAX_JSON_DEPTH): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) return {};
  const text = raw.toString('utf8');
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    const parsed = parseUntrustedJson(text, maxDepth, { wantEcho: true });
    if (!parsed.ok) throw parsed.reason === 'depth' ? new BodyError(400, depthMessage('JSON body', maxDepth), parsed.echo) : new BodyError(400, 'body is not valid JSON');
    if (!isObject(parsed.value)) throw new BodyError(400, 'JSON body must be an object of params');
    return parsed.value;
  }
  if (type === 'application/x-www-form-urlencoded') return jsonValues(new URLSearchParams(text), maxDepth);
  throw new BodyError(406, `Content-Type ${type || '(none)'} is not accepted; send application/json or application/x-www-form-urlencoded`);
}
