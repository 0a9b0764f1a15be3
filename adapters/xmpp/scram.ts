import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** Servers ask 4096-10000; far more is a server making us burn CPU. */
const MAX_ITERATIONS = 1_000_000;

const hmac = (key: Buffer, text: string | Buffer) => createHmac('sha1', key).update(text).digest();

/** RFC 5802 `saslname`: `=` and `,` escaped. */
const saslName = (name: string) => name.replace(/=/g, '=3D').replace(/,/g, '=2C');

/** xmpp.js passes SASL payloads as binary strings (one char per byte: btoa/atob). */
const toBinary = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

/**
 * SASL SCRAM-SHA-1 (RFC 5802) with Node's crypto, for xmpp.js's mechanism factory. The
 * library's own one derives the key with 10,000 awaited WebCrypto HMAC calls: ~2 s per login
 * on a 2-core server, far more on a phone, at every reconnect; `pbkdf2` takes milliseconds.
 * Checks the server's nonce and iteration count. `verify` checks the server's signature, but
 * xmpp.js does not hand the final `success` data to the mechanism, so a login does not call it
 * (the library's own mechanism does not check it either). No channel binding (`n,,`) and no
 * SASLprep beyond UTF-8 (passwords with unusual Unicode forms may need PLAIN over TLS).
 */
export class ScramSha1 {
  static readonly mechanismName = 'SCRAM-SHA-1';
  readonly name = ScramSha1.mechanismName;
  readonly clientFirst = true;
  readonly #nonce: string;
  #stage: 'first' | 'final' | 'done' = 'first';
  #clientFirstBare = '';
  #clientFinal = '';
  #serverSignature: Buffer | undefined;
  #password = '';

  constructor(nonce = randomBytes(18).toString('base64')) {
    this.#nonce = nonce;
  }

  /** The next message to the server, as a binary string. xmpp.js calls it before and after `challenge`. */
  async response(cred: { username: string | null; password: string | null }): Promise<string> {
    if (this.#stage === 'first') {
      this.#password = cred.password ?? '';
      this.#clientFirstBare = `n=${saslName(cred.username ?? '')},r=${this.#nonce}`;
      this.#stage = 'final';
      return toBinary(`n,,${this.#clientFirstBare}`);
    }
    return this.#clientFinal;
  }

  /** The server's challenge (binary string); computes the proof `response` sends next. */
  async challenge(serverFirst: string): Promise<void> {
    if (this.#stage !== 'final') throw new Error('SCRAM: unexpected challenge');
    const text = Buffer.from(serverFirst, 'latin1').toString('utf8');
    const attrs = new Map(text.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
    const nonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    if (!nonce.startsWith(this.#nonce) || nonce.length <= this.#nonce.length) throw new Error('SCRAM: the server nonce does not extend ours');
    if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) throw new Error(`SCRAM: iteration count ${attrs.get('i')} out of range`);
    if (salt.length === 0) throw new Error('SCRAM: no salt');
    const salted = await pbkdf2Async(Buffer.from(this.#password, 'utf8'), salt, iterations, 20, 'sha1');
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha1').update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${text},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    this.#serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    this.#clientFinal = toBinary(`${withoutProof},p=${proof.toString('base64')}`);
    this.#stage = 'done';
  }

  /** The server's final message (`v=…`) proves it knew the password too. */
  verify(serverFinal: string): boolean {
    const v = /(?:^|,)v=([^,]*)/.exec(Buffer.from(serverFinal, 'latin1').toString('utf8'))?.[1];
    if (!v || !this.#serverSignature) return false;
    const got = Buffer.from(v, 'base64');
    return got.length === this.#serverSignature.length && timingSafeEqual(got, this.#serverSignature);
  }
}
