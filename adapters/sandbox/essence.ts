import { now } from '../../src/onebot/events.js';
import { ActionError } from '../../src/onebot/params.js';
import type { ActionTable } from '../../src/onebot/router.js';
import { Retcode } from '../../src/onebot/types.js';
import { ANONYMOUS_USER_ID } from './anonymous.js';
import type { SandboxWorld } from './world.js';

/** One entry of get_essence_msg_list, with go-cqhttp's field names. */
export interface EssenceEntry {
  readonly message_id: number;
  readonly sender_id: number;
  readonly sender_nick: string;
  readonly sender_time: number;
  readonly operator_id: number;
  readonly operator_nick: string;
  readonly operator_time: number;
}

/** group → message_id → entry, per world. */
const lists = new WeakMap<SandboxWorld, Map<number, Map<number, EssenceEntry>>>();

function groupList(world: SandboxWorld, groupId: number): Map<number, EssenceEntry> {
  let byGroup = lists.get(world);
  if (!byGroup) {
    byGroup = new Map();
    lists.set(world, byGroup);
  }
  let list = byGroup.get(groupId);
  if (!list) {
    list = new Map();
    byGroup.set(groupId, list);
  }
  return list;
}

/**
 * Marks (or unmarks) a stored group message as essence. The actor must be an admin of the
 * group. The other bots of the group get go-cqhttp's `essence` notice (`sub_type` add or
 * delete, `sender_id`, `operator_id`, `message_id`); as in go-cqhttp, the operator does not
 * hear of its own change.
 */
export function setEssence(world: SandboxWorld, actor: number, messageId: number, enable: boolean): void {
  const m = world.store.get(messageId);
  if (m.group_id === undefined) throw new ActionError(Retcode.FAILED, `message ${messageId} is a private message; only group messages can be essence`);
  const groupId = m.group_id;
  world.requireRole(groupId, actor, 'admin');
  const list = groupList(world, groupId);
  if (!enable && !list.has(messageId)) throw new ActionError(Retcode.FAILED, `message ${messageId} is not an essence message of group ${groupId}`);
  const senderId = m.anonymous ? ANONYMOUS_USER_ID : m.user_id;
  if (enable) {
    list.set(messageId, { message_id: messageId, sender_id: senderId, sender_nick: m.sender.nickname, sender_time: m.time, operator_id: actor, operator_nick: world.displayName(actor, groupId), operator_time: now() });
  } else list.delete(messageId);
  world.announce(`[group ${groupId}] ${world.displayName(actor, groupId)} ${enable ? 'set' : 'removed'} message ${messageId} as essence`, world.groupAudience(groupId, actor), () => ({
    notice_type: 'essence',
    sub_type: enable ? 'add' : 'delete',
    group_id: groupId,
    sender_id: senderId,
    operator_id: actor,
    message_id: messageId,
  }));
}

/** set_essence_msg, delete_essence_msg, get_essence_msg_list. */
export function essenceActions(world: SandboxWorld, selfId: number): ActionTable {
  return {
    set_essence_msg: (p) => void setEssence(world, selfId, p.int('message_id'), true),
    delete_essence_msg: (p) => void setEssence(world, selfId, p.int('message_id'), false),
    get_essence_msg_list: (p) => {
      const groupId = p.int('group_id');
      world.member(groupId, selfId);
      return [...groupList(world, groupId).values()];
    },
  };
}
