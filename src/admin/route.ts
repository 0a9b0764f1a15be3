/** An endpoint a component adds to the admin server. Handlers see parsed input, never sockets. */
export interface AdminRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  handle(req: AdminRequest): Promise<AdminReply> | AdminReply;
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
