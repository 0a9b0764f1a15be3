import * as z from 'zod/mini';
import { intIn } from '../../src/config/types.js';

/** `accounts[].adapter` for the sandbox: a bot living in the simulated world. */
export const SandboxAdapterConfig = z.strictObject({
  /** The bot's nickname in the world (get_login_info). */
  nickname: z._default(z.string(), 'onebridge-bot'),
  /** Also send the bot's own messages to it, as `message_sent` events. */
  report_self_message: z._default(z.boolean(), false),
});
export type SandboxAdapterConfig = z.infer<typeof SandboxAdapterConfig> & { readonly type: 'sandbox' };

const userId = () => intIn(1, Number.MAX_SAFE_INTEGER, ' (a user id)');

export const SandboxUser = z.strictObject({
  user_id: userId(),
  nickname: z.string().check(z.minLength(1)),
  sex: z._default(z.enum(['male', 'female', 'unknown']), 'unknown'),
  age: z._default(intIn(0, 200), 0),
});

export const SandboxMember = z.strictObject({
  user_id: userId(),
  role: z._default(z.enum(['owner', 'admin', 'member']), 'member'),
  card: z._default(z.string(), ''),
});

export const SandboxGroup = z.strictObject({
  group_id: intIn(1, Number.MAX_SAFE_INTEGER, ' (a group id)'),
  group_name: z.string().check(z.minLength(1)),
  members: z._default(z.array(SandboxMember), []),
});

/**
 * Top-level `sandbox:`: the simulated world shared by every sandbox account. Bots join every
 * group as members (unless listed with another role) and are friends with every user.
 */
export const SandboxWorldConfig = z.strictObject({
  /**
   * Chat console: `auto` on a terminal this process has in the foreground, else none; `true`
   * also reads lines from a non-terminal stdin (a pipe); `false` never.
   */
  console: z._default(z.union([z.literal('auto'), z.boolean()], { error: 'expected auto, true or false' }), 'auto'),
  /** The role bots get in groups that do not list them (admin, so they can manage). */
  bot_role: z._default(z.enum(['owner', 'admin', 'member']), 'admin'),
  /** How many messages get_msg / delete_msg / recalls can still find (least recently used go first). */
  message_capacity: z._default(intIn(1, 10_000_000), 10_000),
  users: z._default(z.array(SandboxUser), [
    { user_id: 20001, nickname: 'Alice', sex: 'female', age: 0 },
    { user_id: 20002, nickname: 'Bob', sex: 'male', age: 0 },
    { user_id: 20003, nickname: 'Carol', sex: 'unknown', age: 0 },
  ]),
  groups: z._default(z.array(SandboxGroup), [
    {
      group_id: 30001,
      group_name: 'Sandbox Group',
      members: [
        { user_id: 20001, role: 'owner', card: '' },
        { user_id: 20002, role: 'admin', card: '' },
        { user_id: 20003, role: 'member', card: '' },
      ],
    },
  ]),
});
export type SandboxWorldConfig = z.infer<typeof SandboxWorldConfig>;
