import type { IncomingMessage } from 'node:http';
import { OneBridgeError } from '../errors.js';

/** A request body onebridge refuses, with the HTTP status that says why. */
export class BodyError extends OneBridgeError {
  readonly status: 400 | 406 | 413;
  /** The body's top-level `echo`, when it could be read (a body refused for depth). */
  readonly echo: unknown;

  constructor(status: 400 | 406 | 413, message: string, echo?: unknown) {
    super('ONEBRIDGE_BAD_BODY', message);
    this.status = status;
    this.echo = echo;
  }
}

/**
 * Reads a request body into one Buffer, refusing past `limit` bytes: a declared
 * `Content-Length` over it fails before reading (the rest is drained, so the socket stays
 * usable for the 413), an undeclared one stops at the first chunk past it (BodyError 413).
 * A client that goes away mid-body is BodyError 400 naming the stream's error code.
 *
 * It does not parse, check the content type or apply a timeout: callers bound the wait.
 */
export async function readBody(req: IncomingMessage, limit: number, name = 'max_body_bytes'): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    throw new BodyError(413, `body of ${declared} bytes is over the limit of ${limit} (${name})`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new BodyError(413, `body is over the limit of ${limit} bytes (${name})`);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof BodyError) throw err;
    // The client's doing (it aborted a chunked body, reset the connection): a 400, not our error.
    throw new BodyError(400, `the request body could not be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
