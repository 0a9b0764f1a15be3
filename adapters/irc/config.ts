import * as z from 'zod/mini';
import { host, intIn } from '../../src/kit/index.js';

const NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/;
const nickError =
  'expected an IRC nick (up to 30 characters: a letter or one of [ ] \\ ` _ ^ { | } first, then also digits and -)';
const CHANNEL = /^[#&+!][^\s,\x07]{1,199}( [^\s,]+)?$/;

/**
 * `accounts[].adapter` `type: irc`: the bot is one IRC user on one server. Channels it is in
 * are OneBot groups; nicks are users. Every key has a default but `host` and `nick`.
 */
export const IrcAdapterConfig = z.strictObject({
  /** The IRC server's host name or address. */
  host: host(),
  /**
   * The network's name, part of every derived user_id and group_id; the host when empty. Set it
   * when the same network is reached through another server name, so ids stay the same.
   */
  network: z._default(z.string(), ''),
  /** 6667 is plain IRC; TLS servers usually listen on 6697. */
  port: z._default(intIn(1, 65535), 6667),
  /** Connect with TLS (the server certificate is verified against Node's CA store). */
  tls: z._default(z.boolean(), false),
  /** The nick to use; when taken, `nick_`, `nick__`, then `nick` + 4 digits. */
  nick: z.string({ error: nickError }).check(z.regex(NICK, { error: nickError })),
  /** The user name (ident) part of the bot's `nick!user@host`; the nick when empty. */
  username: z._default(
    z.string().check(z.regex(/^[^\s@]*$/, { error: 'expected a user name without spaces or @' })),
    '',
  ),
  /** The "real name" others see in WHOIS. */
  realname: z._default(z.string().check(z.minLength(1, { error: 'expected a non-empty string' })), 'onebridge'),
  /** Server password (`PASS`); empty for none. Not the NickServ password: use `sasl` for that. */
  password: z._default(z.string(), ''),
  /** Log in to the network's account (NickServ) with SASL PLAIN before registering. */
  sasl: z.optional(
    z.strictObject({
      account: z.string().check(z.minLength(1, { error: 'expected the account name' })),
      password: z.string().check(z.minLength(1, { error: 'expected the account password' })),
    }),
  ),
  /** Channels to join, and to join again after a reconnect; `"#name key"` for a keyed channel. */
  channels: z._default(
    z.array(
      z.string().check(
        z.regex(CHANNEL, {
          error: 'expected a channel name like "#onebridge" (optionally followed by a space and its key)',
        }),
      ),
    ),
    [],
  ),
  /** Waits between reconnect attempts: full-jitter exponential backoff from initial_ms up to max_ms. */
  reconnect: z
    .prefault(
      z.strictObject({
        initial_ms: z._default(intIn(1, 3_600_000, ' (milliseconds)'), 1000),
        max_ms: z._default(intIn(1, 3_600_000, ' (milliseconds)'), 60_000),
      }),
      {},
    )
    .check(
      z.refine((r) => r.max_ms >= r.initial_ms, { error: 'max_ms must be at least initial_ms', path: ['max_ms'] }),
    ),
  /** Flood control: the bot's lines leave at most one per this many milliseconds (0 = no pacing). */
  send_interval_ms: z._default(intIn(0, 60_000, ' (milliseconds)'), 500),
  /** Lines waiting for flood control; a message that does not fit is refused with retcode 1429. */
  max_queue: z._default(intIn(1, 100_000), 100),
  /** No welcome from the server within this long: the attempt is dropped and retried. */
  registration_timeout_ms: z._default(intIn(100, 600_000, ' (milliseconds)'), 30_000),
  /** After this much silence from the server the bot sends PING; twice this long and the link is dropped. */
  ping_interval_ms: z._default(intIn(100, 3_600_000, ' (milliseconds)'), 60_000),
  /** Sent with QUIT when onebridge stops. */
  quit_message: z._default(z.string(), 'onebridge shutting down'),
});
export type IrcAdapterConfig = z.infer<typeof IrcAdapterConfig> & { readonly type: 'irc' };
