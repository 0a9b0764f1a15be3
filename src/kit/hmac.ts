import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * OneBot v11's HTTP POST signature: `sha1=<hex HMAC-SHA1(secret, body)>` over the exact bytes
 * sent, in the `X-Signature` header.
 */
export function signBody(secret: string, body: Buffer | string): string {
  return `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
}

/**
 * Whether `header` (an `X-Signature` value) signs `body` with `secret`, compared in constant
 * time. A missing or malformed header is simply false. It does not say why it failed.
 */
export function verifyBody(secret: string, body: Buffer | string, header: string | string[] | undefined): boolean {
  const got = Buffer.from(typeof header === 'string' ? header : '');
  const expected = Buffer.from(signBody(secret, body));
  return got.length === expected.length && timingSafeEqual(got, expected);
}
