import * as z from 'zod';
import { compileFilter, FilterError } from './filter.js';

const pattern = z
  .string({ error: 'expected an action name or pattern, e.g. get_* or send_group_msg' })
  .min(1, { error: 'expected an action name or pattern, e.g. get_*' });
const target = z.union([z.int(), z.string().regex(/^\d+$/)], { error: 'expected a numeric id' });

/** `network[].actions`: what this entry's clients may call (see docs/policy.md). */
export const ActionsConfig = z.strictObject({
  /** Patterns (`*` wildcard) an action must match; omitted = every action. */
  allow: z.array(pattern).optional(),
  /** Patterns refused even when allowed; deny wins. */
  deny: z.array(pattern).default([]),
  /** Where the send family may send: an omitted list leaves that kind open, `[]` closes it. */
  send_to: z
    .strictObject({
      groups: z.array(target).optional(),
      users: z.array(target).optional(),
    })
    .optional(),
});
export type ActionsConfig = z.infer<typeof ActionsConfig>;

/** An inline go-cqhttp filter: checked here so a bad one is a config error naming its inner key. */
export const FilterConfig = z.unknown().superRefine((value, ctx) => {
  try {
    compileFilter(value);
  } catch (err) {
    if (!(err instanceof FilterError)) throw err;
    ctx.addIssue({ code: 'custom', path: [...err.path], message: `invalid filter: ${err.message}` });
  }
});

/**
 * Keys every `network[]` entry takes for policy: spread into each entry's schema. All three
 * can change on live reload.
 */
export const networkPolicyShape = {
  /** go-cqhttp event filter, inline. Lifecycle and heartbeat are never filtered. */
  filter: FilterConfig.optional(),
  /** go-cqhttp event filter from a JSON or YAML file, relative to the config file. */
  filter_file: z.string({ error: 'expected a file path' }).min(1, { error: 'expected a file path' }).optional(),
  actions: ActionsConfig.optional(),
};

/** `accounts[].rate_limit`: token bucket for every message-sending action of the account. */
export const RateLimitConfig = z.strictObject({
  /** Sustained sends per second (may be below 1, e.g. 0.5). */
  messages_per_s: z
    .number({ error: 'expected a number above 0' })
    .positive({ error: 'expected a number above 0' })
    .max(10_000, { error: 'expected a number up to 10000' }),
  /** Sends allowed back to back after a quiet spell. */
  burst: z
    .int({ error: 'expected integer 1-10000' })
    .min(1, { error: 'expected integer 1-10000' })
    .max(10_000, { error: 'expected integer 1-10000' })
    .default(1),
  /** Sends that may wait; one more answers 1429 at once. */
  max_queue: z
    .int({ error: 'expected integer 0-100000' })
    .min(0, { error: 'expected integer 0-100000' })
    .max(100_000, { error: 'expected integer 0-100000' })
    .default(100),
});
export type RateLimitConfig = z.infer<typeof RateLimitConfig>;
