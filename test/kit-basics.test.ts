import { createServer, request, type Server } from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BodyError,
  DeadlineError,
  readBody,
  signBody,
  sleep,
  verifyBody,
  withArrayMessage,
  withDeadline,
} from '../src/kit/index.js';

describe('withDeadline', () => {
  afterEach(() => void vi.useRealTimers());

  it('settles like the promise when it is in time, and leaves no timer', async () => {
    vi.useFakeTimers();
    const p = withDeadline(Promise.resolve(7), 1000);
    await expect(p).resolves.toBe(7);
    expect(vi.getTimerCount()).toBe(0);
    await expect(withDeadline(Promise.reject(new Error('boom')), 1000)).rejects.toThrow('boom');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with ONEBRIDGE_TIMEOUT at the deadline, naming the wait', async () => {
    vi.useFakeTimers();
    const p = withDeadline(new Promise(() => {}), 500, undefined, { what: 'IRC registration' });
    const seen = expect(p).rejects.toMatchObject({
      code: 'ONEBRIDGE_TIMEOUT',
      what: 'IRC registration',
      message: 'IRC registration did not finish within 500 ms',
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await seen;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a signal already aborted still leaves the late rejection of the work handled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const ac = new AbortController();
      ac.abort();
      let fail!: (err: Error) => void;
      const work = new Promise<never>((_, reject) => (fail = reject));
      await expect(withDeadline(work, 1000, ac.signal)).rejects.toMatchObject({ code: 'ONEBRIDGE_ABORTED' });
      fail(new Error('the work failed after the caller gave up'));
      // Node reports unhandled rejections after the microtask queue drains: a macrotask later.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('rejects with ONEBRIDGE_ABORTED when the signal aborts, before or during the wait', async () => {
    const ac = new AbortController();
    const p = withDeadline(new Promise(() => {}), 0, ac.signal);
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(DeadlineError);
    await expect(p).rejects.toMatchObject({ code: 'ONEBRIDGE_ABORTED' });
    await expect(withDeadline(Promise.resolve(1), 100, ac.signal)).rejects.toMatchObject({ code: 'ONEBRIDGE_ABORTED' });
  });

  it('a late rejection of the promise is not an unhandled rejection', async () => {
    vi.useFakeTimers();
    let fail!: (e: Error) => void;
    const p = withDeadline(new Promise((_r, reject) => (fail = reject)), 10);
    const seen = expect(p).rejects.toMatchObject({ code: 'ONEBRIDGE_TIMEOUT' });
    await vi.advanceTimersByTimeAsync(10);
    await seen;
    vi.useRealTimers();
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    fail(new Error('late'));
    await new Promise((r) => setImmediate(r));
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });

  it('sleep resolves after ms and rejects on abort', async () => {
    vi.useFakeTimers();
    const s = sleep(100);
    await vi.advanceTimersByTimeAsync(100);
    await expect(s).resolves.toBeUndefined();
    const ac = new AbortController();
    const t = sleep(100, ac.signal);
    ac.abort();
    await expect(t).rejects.toMatchObject({ code: 'ONEBRIDGE_ABORTED' });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('readBody', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    server?.close();
    server = undefined;
  });

  async function serve(limit: number): Promise<number> {
    server = createServer((req, res) => {
      readBody(req, limit).then(
        (body) => res.end(`ok ${body.length} ${body.toString().slice(0, 5)}`),
        (err: unknown) => res.writeHead(err instanceof BodyError ? err.status : 500).end(`${(err as Error).message}`),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as { port: number }).port;
  }

  function post(port: number, body: Buffer, chunked: boolean): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          headers: chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': body.length },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      if (chunked) {
        for (let i = 0; i < body.length; i += 1000) req.write(body.subarray(i, i + 1000));
        req.end();
      } else req.end(body);
    });
  }

  it('reads a body up to the limit, and refuses past it by declared length or by counting', async () => {
    const port = await serve(4096);
    expect(await post(port, Buffer.from('hello world'), false)).toEqual({ status: 200, text: 'ok 11 hello' });
    expect(await post(port, Buffer.alloc(4096, 'a'), true)).toEqual({ status: 200, text: 'ok 4096 aaaaa' });
    expect(await post(port, Buffer.alloc(5000, 'b'), false)).toMatchObject({
      status: 413,
      text: 'body of 5000 bytes is over the limit of 4096 (max_body_bytes)',
    });
    const chunked = await post(port, Buffer.alloc(5000, 'c'), true).catch((err: Error) => ({
      status: -1,
      text: err.message,
    }));
    // Counting stops at the first chunk past the limit; the answer may race the rest of the upload.
    if (chunked.status !== -1)
      expect(chunked).toMatchObject({ status: 413, text: 'body is over the limit of 4096 bytes (max_body_bytes)' });
    expect(await post(port, Buffer.alloc(0), false)).toEqual({ status: 200, text: 'ok 0 ' });
  });
});

describe('signBody / verifyBody', () => {
  it('signs as OneBot HTTP POST does and verifies in constant time', () => {
    // HMAC-SHA1("secret", "{}"), computed independently with `openssl dgst -sha1 -hmac secret`.
    expect(signBody('secret', Buffer.from('{}'))).toBe('sha1=5d61605c3feea9799210ddcb71307d4ba264225f');
    const sig = signBody('secret', '{"a":1}');
    expect(sig).toMatch(/^sha1=[0-9a-f]{40}$/);
    expect(verifyBody('secret', Buffer.from('{"a":1}'), sig)).toBe(true);
    expect(verifyBody('secret', '{"a":2}', sig)).toBe(false);
    expect(verifyBody('other', '{"a":1}', sig)).toBe(false);
    expect(verifyBody('secret', '{"a":1}', undefined)).toBe(false);
    expect(verifyBody('secret', '{"a":1}', ['x'])).toBe(false);
    expect(verifyBody('secret', '{"a":1}', 'sha1=short')).toBe(false);
  });
});

describe('withArrayMessage', () => {
  it('turns a CQ string message into segments and keeps raw_message; leaves others alone', () => {
    const e = { post_type: 'message', message: 'hi [CQ:at,qq=1]' };
    expect(withArrayMessage(e)).toEqual({
      post_type: 'message',
      message: [
        { type: 'text', data: { text: 'hi ' } },
        { type: 'at', data: { qq: '1' } },
      ],
      raw_message: 'hi [CQ:at,qq=1]',
    });
    const arr = { post_type: 'message', message: [] };
    expect(withArrayMessage(arr)).toBe(arr);
  });
});
