import * as z from 'zod/mini';
import { durationMs, intIn, urlOf } from '../../src/kit/index.js';

const nonEmpty = (what: string) =>
  z.string({ error: `expected ${what}` }).check(z.minLength(1, { error: `expected ${what}` }));

/** A multi-user chat room (XEP-0045) the bot joins; it becomes a OneBot group. */
const XmppRoom = z.strictObject({
  /** The room's bare JID, e.g. `room@conference.example.org`. */
  jid: z.pipe(
    z.string({ error: 'expected a room JID, e.g. room@conference.example.org' }).check(
      z.regex(/^[^@/\s]+@[^@/\s]+$/, {
        error: 'expected a bare room JID (local@domain, no /resource), e.g. room@conference.example.org',
      }),
    ),
    z.transform((v) => v.toLowerCase()),
  ),
  /** The bot's nick in the room; default: the account's `username`. */
  nick: z.optional(nonEmpty('a nick')),
  /** For password-protected rooms. */
  password: z.optional(z.string({ error: 'expected a string' })),
});

/**
 * `accounts[].adapter` `type: xmpp`: the bot is one XMPP account; its rooms are groups and its
 * one-to-one chats are private messages. `self_id`, when omitted, is derived from the bot's
 * bare JID (`username@domain`), the same on every start.
 */
export const XmppAdapterConfig = z
  .strictObject({
    /** Where to connect: `xmpp://host:5222` (STARTTLS when the server offers it) or `xmpps://host:5223` (direct TLS). */
    service: z
      .string({ error: 'expected an xmpp:// or xmpps:// URL, e.g. xmpp://example.org:5222' })
      .check(urlOf('xmpp', 'xmpp://example.org:5222')),
    /** The account's domain (the part after @); default: the service's host name. */
    domain: z.optional(nonEmpty('a domain, e.g. example.org')),
    /** The account's local part (before the @). */
    username: nonEmpty('the account name (the part of the JID before @)'),
    password: nonEmpty('the account password'),
    /** The resource this connection binds (the part after /). */
    resource: z._default(nonEmpty('a resource name'), 'onebridge'),
    rooms: z._default(z.array(XmppRoom), []),
    reconnect: z.prefault(
      z.strictObject({
        initial_ms: z._default(intIn(1, 3_600_000, ' (milliseconds)'), 1000),
        max_ms: z._default(intIn(1, 3_600_000, ' (milliseconds)'), 60_000),
      }),
      {},
    ),
    /** Connecting and logging in must finish within this, else the attempt is dropped and retried. */
    connect_timeout_ms: z._default(intIn(100, 600_000, ' (milliseconds)'), 15_000),
    /** XEP-0199 ping to the server this often; no answer within connect_timeout_ms = link lost. 0 = off. */
    ping_interval_ms: z._default(durationMs(), 60_000),
  })
  .check(
    z.superRefine((c, ctx) => {
      if (c.reconnect.max_ms < c.reconnect.initial_ms)
        ctx.addIssue({
          code: 'custom',
          path: ['reconnect', 'max_ms'],
          message: `must be at least reconnect.initial_ms (${c.reconnect.initial_ms})`,
        });
      const seen = new Map<string, number>();
      c.rooms.forEach((room, i) => {
        const first = seen.get(room.jid);
        if (first !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['rooms', i, 'jid'],
            message: `duplicate room ${room.jid} (also rooms[${first}]); list each room once`,
          });
        else seen.set(room.jid, i);
      });
    }),
  );
export type XmppAdapterConfig = z.infer<typeof XmppAdapterConfig>;

/** The account's domain: `domain`, else the service URL's host. */
export function domainOf(config: Pick<XmppAdapterConfig, 'service' | 'domain'>): string {
  return (config.domain ?? new URL(config.service).hostname).toLowerCase();
}
