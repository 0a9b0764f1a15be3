import { DEFAULT_MAX_JSON_DEPTH, depthMessage, parseUntrustedJson } from '../untrusted-json.js';
import { failed } from './router.js';
import { Retcode, type ActionRequest, type ActionResponse } from './types.js';

export type ParsedFrame = { ok: true; request: ActionRequest } | { ok: false; response: ActionResponse };

const reject = (message: string, echo?: unknown): ParsedFrame => ({
  ok: false,
  response: failed(Retcode.BAD_REQUEST, message, echo),
});

/**
 * Reads an action request from a WebSocket text frame. A frame that is not a valid request
 * gets a 1400 response, carrying the echo whenever one can be read, so clients that wait on
 * echoes (Koishi) are never left waiting. A frame nested deeper than `maxDepth` is refused
 * unbuilt; its echo comes back only when the echo itself is within the limit.
 */
export function parseActionFrame(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): ParsedFrame {
  const parsed = parseUntrustedJson(text, maxDepth, { wantEcho: true });
  if (!parsed.ok)
    return parsed.reason === 'depth'
      ? reject(depthMessage('frame', maxDepth), parsed.echo)
      : reject('frame is not valid JSON');
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return reject('frame must be a JSON object {action, params, echo}');
  const { action, params, echo } = value as Record<string, unknown>;
  if (typeof action !== 'string' || action === '') return reject('"action" must be a non-empty string', echo);
  if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params)))
    return reject('"params" must be an object', echo);
  const request: ActionRequest = { action, params: (params as Record<string, unknown> | null | undefined) ?? {} };
  if (echo !== undefined) request.echo = echo;
  return { ok: true, request };
}
