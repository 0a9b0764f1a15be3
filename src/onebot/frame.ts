import { failed } from './router.js';
import { Retcode, type ActionRequest, type ActionResponse } from './types.js';

export type ParsedFrame = { ok: true; request: ActionRequest } | { ok: false; response: ActionResponse };

const reject = (message: string, echo?: unknown): ParsedFrame => ({ ok: false, response: failed(Retcode.BAD_REQUEST, message, echo) });

/**
 * Reads an action request from a WebSocket text frame. A frame that is not a valid request
 * gets a 1400 response, carrying the echo whenever one can be read, so clients that wait on
 * echoes (Koishi) are never left waiting.
 */
export function parseActionFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return reject('frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return reject('frame must be a JSON object {action, params, echo}');
  const { action, params, echo } = value as Record<string, unknown>;
  if (typeof action !== 'string' || action === '') return reject('"action" must be a non-empty string', echo);
  if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params))) return reject('"params" must be an object', echo);
  const request: ActionRequest = { action, params: (params as Record<string, unknown> | null | undefined) ?? {} };
  if (echo !== undefined) request.echo = echo;
  return { ok: true, request };
}
