import * as z from 'zod';
import { intIn } from '../../src/config/types.js';

/** `accounts[].adapter` for the sandbox: a bot living in the simulated world. */
export const SandboxAdapterConfig = z.strictObject({
  /** The bot's nickname in the world (get_login_info). */
  nickname: z.string().default('onebridge-bot'),
  /** Also send the bot's own messages to it, as `message_sent` events. */
  report_self_message: z.boolean().default(false),
});
export type SandboxAdapterConfig = z.infer<typeof SandboxAdapterConfig> & { readonly type: 'sandbox' };

const userId = () => intIn(1, Number.MAX_SAFE_INTEGER, ' (a user id)');

export const SandboxUser = z.strictObject({
  user_id: userId(),
  nickname: z.string().min(1),
  sex: z.enum(['male', 'female', 'unknown']).default('unknown'),
  age: intIn(0, 200).default(0),
});

export const SandboxMember = z.strictObject({
  user_id: userId(),
  role: z.enum(['owner', 'admin', 'member']).default('member'),
  card: z.string().default(''),
});

export const SandboxGroup = z.strictObject({
  group_id: intIn(1, Number.MAX_SAFE_INTEGER, ' (a group id)'),
  group_name: z.string().min(1),
  members: z.array(SandboxMember).default([]),
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
  console: z.union([z.literal('auto'), z.boolean()], { error: 'expected auto, true or false' }).default('auto'),
  /** The role bots get in groups that do not list them (admin, so they can manage). */
  bot_role: z.enum(['owner', 'admin', 'member']).default('admin'),
  /** How many messages get_msg / delete_msg / recalls can still find (least recently used go first). */
  message_capacity: intIn(1, 10_000_000).default(10_000),
  users: z.array(SandboxUser).default([
    { user_id: 20001, nickname: 'Alice', sex: 'female', age: 0 },
    { user_id: 20002, nickname: 'Bob', sex: 'male', age: 0 },
    { user_id: 20003, nickname: 'Carol', sex: 'unknown', age: 0 },
  ]),
  groups: z.array(SandboxGroup).default([
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
