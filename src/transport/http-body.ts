import type { IncomingMessage } from 'node:http';
import { BodyError, readBody } from '../kit/body.js';
import { DEFAULT_MAX_JSON_DEPTH, depthMessage, parseUntrustedJson } from '../untrusted-json.js';

export { BodyError };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads a POST body as OneBot's HTTP API allows: JSON or `x-www-form-urlencoded`, an object
 * either way. An empty body is `{}` whatever its type. 406 for other content types, 400 for a
 * malformed body or JSON nested deeper than `maxDepth` (`limits.max_json_depth`), 413 past
 * `limit` bytes (reading stops there).
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
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
  throw new BodyError(406, `Content-Type ${type || '(none)'} is not accepted; send application/json or application/x-www-form-urlencoded`);
}
