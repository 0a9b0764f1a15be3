import * as z from 'zod/mini';
import { intIn } from '../config/types.js';
import { compileFilter, FilterError } from './filter.js';

const pattern = z
  .string({ error: 'expected an action name or pattern, e.g. get_* or send_group_msg' })
  .check(z.minLength(1, { error: 'expected an action name or pattern, e.g. get_*' }));
const target = z.union([z.int(), z.string().check(z.regex(/^\d+$/))], { error: 'expected a numeric id' });

/** `network[].actions`: what this entry's clients may call (see docs/policy.md). */
export const ActionsConfig = z.strictObject({
  /** Patterns (`*` wildcard) an action must match; omitted = every action. */
  allow: z.optional(z.array(pattern)),
  /** Patterns refused even when allowed; deny wins. */
  deny: z._default(z.array(pattern), []),
  /** Where the send family may send: an omitted list leaves that kind open, `[]` closes it. */
  send_to: z.optional(
    z.strictObject({
      groups: z.optional(z.array(target)),
      users: z.optional(z.array(target)),
    }),
  ),
});
export type ActionsConfig = z.infer<typeof ActionsConfig>;

/** An inline go-cqhttp filter: checked here so a bad one is a config error naming its inner key. */
export const FilterConfig = z.unknown().check(
  z.superRefine((value, ctx) => {
    try {
      compileFilter(value);
    } catch (err) {
      if (!(err instanceof FilterError)) throw err;
      ctx.addIssue({ code: 'custom', path: [...err.path], message: `invalid filter: ${err.message}` });
    }
  }),
);

/**
 * Keys every `network[]` entry takes for policy: spread into each entry's schema. All three
 * can change on live reload.
 */
export const networkPolicyShape = {
  /** go-cqhttp event filter, inline. Lifecycle and heartbeat are never filtered. */
  filter: z.optional(FilterConfig),
  /** go-cqhttp event filter from a JSON or YAML file, relative to the config file. */
  filter_file: z.optional(
    z.string({ error: 'expected a file path' }).check(z.minLength(1, { error: 'expected a file path' })),
  ),
  actions: z.optional(ActionsConfig),
};

/** `accounts[].rate_limit`: token bucket for every message-sending action of the account. */
export const RateLimitConfig = z.strictObject({
  /** Sustained sends per second (may be below 1, e.g. 0.5). */
  messages_per_s: z
    .number({ error: 'expected a number above 0' })
    .check(
      z.positive({ error: 'expected a number above 0' }),
      z.lte(10_000, { error: 'expected a number up to 10000' }),
    ),
  /** Sends allowed back to back after a quiet spell. */
  burst: z._default(intIn(1, 10_000), 1),
  /** Sends that may wait; one more answers 1429 at once. */
  max_queue: z._default(intIn(0, 100_000), 100),
});
export type RateLimitConfig = z.infer<typeof RateLimitConfig>;
