import { createHash } from 'node:crypto';
import { now, type Sender } from '../../src/onebot/events.js';
import { ActionError, type Params } from '../../src/onebot/params.js';
import type { ActionTable } from '../../src/onebot/router.js';
import { Retcode, type Message } from '../../src/onebot/types.js';
import { preview } from '../../src/untrusted-json.js';
import type { SandboxWorld, WorldMessage } from './world.js';

/** The `user_id` every anonymous group message carries on QQ, and so in go-cqhttp's events. */
export const ANONYMOUS_USER_ID = 80000000;

/** go-cqhttp's `anonymous` object: `flag` is `<id>|<name>`, what set_group_anonymous_ban takes. */
// A type, not an interface: it is stored where plain JSON records are expected.
export type AnonymousIdentity = {
  readonly id: number;
  readonly name: string;
  readonly flag: string;
};

/** Names handed out when the sender does not pick one, like the platform's masks. */
const NAMES = ['Masked Fox', 'Quiet Owl', 'Hidden Crane', 'Silent Hare', 'Veiled Lynx', 'Shy Otter'];

/** The `sender` an anonymous message shows: the placeholder id, the mask's name. */
export function anonymousSender(identity: AnonymousIdentity): Sender {
  return { user_id: ANONYMOUS_USER_ID, nickname: identity.name, sex: 'unknown', age: 0 };
}

interface AnonymousState {
  /** `<group>:<user>` → identity: a user keeps one mask per group, so bans stick to it. */
  readonly identities: Map<string, AnonymousIdentity>;
  /** `<group>:<mask id>` → unix seconds the mask is muted until. */
  readonly bans: Map<string, number>;
}

const states = new WeakMap<SandboxWorld, AnonymousState>();

function stateOf(world: SandboxWorld): AnonymousState {
  let state = states.get(world);
  if (!state) {
    state = { identities: new Map(), bans: new Map() };
    states.set(world, state);
  }
  return state;
}

const failed = (message: string) => new ActionError(Retcode.FAILED, message);

/**
 * A user speaks anonymously in a group: the group must allow it (set_group_anonymous; on by
 * default in the sandbox) and the user's mask must not be muted. The bots see sub_type
 * `anonymous`, `user_id` 80000000 and the `anonymous` object; the console sees who it was.
 */
export function sayAnonymously(world: SandboxWorld, from: number, groupId: number, message: Message, name?: string): WorldMessage {
  const group = world.group(groupId);
  world.member(groupId, from);
  if (!group.anonymous) throw failed(`anonymous chat is off in group ${groupId}; an admin turns it on with set_group_anonymous`);
  const state = stateOf(world);
  const key = `${groupId}:${from}`;
  let identity = state.identities.get(key);
  if (!identity || (name !== undefined && name !== '' && name !== identity.name)) {
    // A stable id per user and group: the same mask comes back, as a ban expects.
    const id = createHash('sha1').update(key).digest().readUInt32BE(0) & 0x7fffffff;
    const chosen = name || NAMES[id % NAMES.length]!;
    identity = { id, name: chosen, flag: `${id}|${chosen}` };
    state.identities.set(key, identity);
  }
  const until = state.bans.get(`${groupId}:${identity.id}`) ?? 0;
  if (until > now()) throw failed(`anonymous ${identity.name} is muted in group ${groupId} for ${until - now()} more s`);
  return world.say(from, { group_id: groupId }, message, { anonymous: identity });
}

/** `set_group_anonymous_ban`, with go-cqhttp's params: `anonymous` (object), `anonymous_flag` or `flag`. */
export function anonymousActions(world: SandboxWorld, selfId: number): ActionTable {
  return {
    set_group_anonymous_ban: (p: Params) => {
      const groupId = p.int('group_id');
      const fromObject = p.has('anonymous') ? p.object('anonymous')['flag'] : undefined;
      const flag = typeof fromObject === 'string' ? fromObject : p.optionalString('anonymous_flag') || p.optionalString('flag');
      const [idText, name] = flag.split('|', 2);
      const id = Number(idText);
      if (!flag || name === undefined || !Number.isSafeInteger(id)) throw new ActionError(Retcode.BAD_REQUEST, `param anonymous_flag: expected the "<id>|<name>" flag of an anonymous message's anonymous object, got ${preview(flag)}`);
      world.requireRole(groupId, selfId, 'admin');
      const state = stateOf(world);
      const known = [...state.identities].some(([key, identity]) => key.startsWith(`${groupId}:`) && identity.id === id);
      if (!known) throw failed(`no anonymous member with flag ${flag} has spoken in group ${groupId}`);
      const duration = Math.max(0, p.optionalInt('duration', 30 * 60));
      state.bans.set(`${groupId}:${id}`, duration > 0 ? now() + duration : 0);
      // The platform tells no one; the console shows it.
      world.announce(`[group ${groupId}] ${world.displayName(selfId, groupId)} ${duration > 0 ? `muted anonymous ${name} for ${duration} s` : `unmuted anonymous ${name}`}`, () => false, () => ({}));
      return null;
    },
  };
}

/** Who a group message's event names: the real member, or the anonymous placeholder and mask. */
export function authorOf(world: SandboxWorld, m: WorldMessage, groupId: number): { user_id: number; sender: Sender; anonymous?: AnonymousIdentity } {
  if (m.anonymous) return { user_id: ANONYMOUS_USER_ID, sender: anonymousSender(m.anonymous), anonymous: m.anonymous };
  return { user_id: m.from, sender: world.sender(m.from, groupId) };
}
