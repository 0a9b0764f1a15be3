/** OneBot v11 wire types shared by every transport and adapter. */

export interface Segment {
  type: string;
  data: Record<string, unknown>;
}

/** A message in array form, the canonical form inside onebridge. */
export type Message = Segment[];

export type MessageFormat = 'array' | 'string';

/** Any OneBot event. Builders in `events.ts` make the standard ones. */
export interface OneBotEvent {
  time: number;
  self_id: number;
  post_type: string;
  [key: string]: unknown;
}

export interface ActionRequest {
  action: string;
  params: Record<string, unknown>;
  /** Any JSON value; returned unchanged in the response. Absent when the request had none. */
  echo?: unknown;
}

export type ActionStatus = 'ok' | 'async' | 'failed';

export interface ActionResponse {
  status: ActionStatus;
  retcode: number;
  data: unknown;
  /** Human-readable error (empty on success); peers send it and clients tolerate it. */
  message: string;
  wording: string;
  echo?: unknown;
}

/**
 * Return codes. 0/1 are the spec's; 14xx are the HTTP statuses mapped for WebSocket, as the
 * spec's communication chapter describes; 100 is the conventional "action failed" of peers.
 */
export const Retcode = {
  OK: 0,
  ASYNC: 1,
  /** The adapter could not carry out a valid request (target not found, not permitted …). */
  FAILED: 100,
  BAD_REQUEST: 1400,
  UNAUTHORIZED: 1401,
  FORBIDDEN: 1403,
  NOT_FOUND: 1404,
  INTERNAL: 1500,
  /** The platform link is down (reconnecting): nothing was sent. */
  UNAVAILABLE: 1503,
} as const;
