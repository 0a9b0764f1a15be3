import { groupMessageEvent } from '../../src/onebot/events.js';
import { formatMessage } from '../../src/onebot/message.js';
import { ActionError } from '../../src/onebot/params.js';
import type { ActionTable } from '../../src/onebot/router.js';
import { Retcode } from '../../src/onebot/types.js';
import { ANONYMOUS_USER_ID } from './anonymous.js';
import type { SandboxWorld, WorldMessage } from './world.js';

/** get_group_msg_history answers this many messages, ending at `message_seq`, as go-cqhttp (seq-19 … seq). */
const HISTORY_PAGE = 20;
/** @all a day: per group, and per member in each group (the sandbox's numbers). */
const AT_ALL_PER_DAY = 10;

interface AtAllCount {
  day: string;
  group: number;
  byUser: Map<number, number>;
}

interface ExtrasState {
  readonly atAll: Map<number, AtAllCount>;
  readonly portraits: Map<number, string>;
}

const states = new WeakMap<SandboxWorld, ExtrasState>();

const today = () => new Date().toISOString().slice(0, 10);

function stateOf(world: SandboxWorld): ExtrasState {
  let state = states.get(world);
  if (!state) {
    const s: ExtrasState = { atAll: new Map(), portraits: new Map() };
    // Counts every @all said in a group, whoever says it; the world lives as long as the app.
    world.on('message', (m: WorldMessage) => {
      if (m.group_id === undefined || !m.message.some((seg) => seg.type === 'at' && String(seg.data['qq']) === 'all')) return;
      const count = atAllToday(s, m.group_id);
      count.group++;
      count.byUser.set(m.from, (count.byUser.get(m.from) ?? 0) + 1);
    });
    states.set(world, s);
    state = s;
  }
  return state;
}

function atAllToday(state: ExtrasState, groupId: number): AtAllCount {
  let count = state.atAll.get(groupId);
  if (!count || count.day !== today()) {
    count = { day: today(), group: 0, byUser: new Map() };
    state.atAll.set(groupId, count);
  }
  return count;
}

/**
 * go-cqhttp extensions about groups and the account that the sandbox answers from its world:
 * get_group_msg_history, mark_msg_as_read, get_group_at_all_remain, get_online_clients,
 * set_group_portrait, get_group_system_msg. Field names are go-cqhttp's.
 */
export function groupExtraActions(world: SandboxWorld, selfId: number): ActionTable {
  const state = stateOf(world);
  const inGroup = (groupId: number) => {
    const group = world.group(groupId);
    if (!group.members.has(selfId)) throw new ActionError(Retcode.FAILED, `the bot is not in group ${groupId}`);
    return group;
  };
  return {
    get_group_msg_history: (p, ctx) => {
      const groupId = p.int('group_id');
      inGroup(groupId);
      // The sandbox's message_seq is the message_id; 0 or none means the latest.
      const seq = p.optionalInt('message_seq', 0);
      const found = [...world.store.values()].filter((m) => m.group_id === groupId && (seq <= 0 || m.message_id <= seq)).sort((a, b) => a.message_id - b.message_id);
      const page = found.slice(-HISTORY_PAGE);
      const messages = page.map((m) => {
        const event = groupMessageEvent(selfId, { message_id: m.message_id, group_id: groupId, user_id: m.anonymous ? ANONYMOUS_USER_ID : m.user_id, message: m.message, sender: m.sender, time: m.time, anonymous: m.anonymous });
        return { ...event, message: formatMessage(m.message, ctx.format), message_seq: m.message_id };
      });
      return { messages };
    },
    mark_msg_as_read: (p) => {
      world.store.get(p.int('message_id'));
      return null;
    },
    get_group_at_all_remain: (p) => {
      const groupId = p.int('group_id');
      inGroup(groupId);
      const count = atAllToday(state, groupId);
      const forGroup = Math.max(0, AT_ALL_PER_DAY - count.group);
      const forUin = Math.max(0, AT_ALL_PER_DAY - (count.byUser.get(selfId) ?? 0));
      const role = world.member(groupId, selfId).role;
      return { can_at_all: role !== 'member' && forGroup > 0 && forUin > 0, remain_at_all_count_for_group: forGroup, remain_at_all_count_for_uin: forUin };
    },
    get_online_clients: () => ({ clients: [{ app_id: 0, device_name: 'onebridge sandbox', device_kind: 'sandbox' }] }),
    set_group_portrait: (p) => {
      const groupId = p.int('group_id');
      const file = p.string('file');
      if (!file) throw new ActionError(Retcode.BAD_REQUEST, 'param file: expected the picture (a path, URL or base64://)');
      world.requireRole(groupId, selfId, 'admin');
      state.portraits.set(groupId, file);
      // The platform sends no notice; the console shows it.
      world.announce(`[group ${groupId}] ${world.displayName(selfId, groupId)} changed the group picture`, () => false, () => ({}));
      return null;
    },
    get_group_system_msg: () => {
      const joins = world
        .pendingRequests()
        .filter((r) => r.kind === 'group' && world.groups.get(r.target)?.members.get(selfId)?.role !== 'member' && world.groups.get(r.target)?.members.has(selfId))
        .map((r) => ({
          request_id: Number(/(\d+)$/.exec(r.flag)?.[1] ?? 0),
          requester_uin: r.user_id,
          requester_nick: world.displayName(r.user_id),
          message: r.comment,
          group_id: r.target,
          group_name: world.groups.get(r.target)?.group_name ?? '',
          checked: false,
          actor: 0,
          // The sandbox's flags are not numbers: set_group_add_request takes this one.
          flag: r.flag,
        }));
      // The sandbox has no invitations: nobody can invite a bot into a group yet.
      return { invited_requests: [], join_requests: joins };
    },
  };
}
