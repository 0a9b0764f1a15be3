/** An endpoint a component adds to the admin server. Handlers see parsed input, never sockets. */
export interface AdminRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  handle(req: AdminRequest): Promise<AdminReply | AdminStream> | AdminReply | AdminStream;
}

export interface AdminRequest {
  readonly query: URLSearchParams;
  /** Parsed JSON body for POST; undefined for GET. */
  readonly body: unknown;
  /** Aborted when the request's client goes away or the server shuts down: end long polls. */
  readonly signal: AbortSignal;
}

export interface AdminReply {
  readonly status: number;
  /** JSON-encoded, unless `contentType` is set: then sent as is (a string). */
  readonly body: unknown;
  /** For non-JSON answers (`/metrics` text). */
  readonly contentType?: string;
}

/**
 * A reply that stays open as server-sent events (the dashboard's live feeds). `stream` writes
 * events with `send` until `signal` aborts (client gone, server shutting down) and must stop
 * writing then; the server ends the response. It does not buffer for a slow reader: the
 * server cuts a reader that falls too far behind.
 */
export interface AdminStream {
  readonly stream: (send: (event: string, data: unknown) => void, signal: AbortSignal) => void;
}

export const isStream = (reply: AdminReply | AdminStream): reply is AdminStream => 'stream' in reply;
