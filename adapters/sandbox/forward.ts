import { LruMap } from '../../src/lru-map.js';
import { now } from '../../src/onebot/events.js';
import { formatMessage, InvalidMessageError, toMessage } from '../../src/onebot/message.js';
import { ActionError, type Params } from '../../src/onebot/params.js';
import type { ActionTable } from '../../src/onebot/router.js';
import { Retcode, type Message, type MessageFormat } from '../../src/onebot/types.js';
import { preview } from '../../src/untrusted-json.js';
import { ANONYMOUS_USER_ID } from './anonymous.js';
import type { SandboxWorld } from './world.js';

/** One message of a forward (merged chat): who said it, when, and what. */
export interface ForwardNode {
  readonly user_id: number;
  readonly nickname: string;
  readonly time: number;
  /** A nested forward is one `forward` segment whose id is in the same store. */
  readonly content: Message;
  readonly group_id?: number;
}

/** Deeper nesting than this is refused: input from a bot must not drive unbounded recursion. */
const MAX_DEPTH = 8;

/**
 * Forward messages by id (go-cqhttp's `forward_id` / the `forward` segment's `id`), bounded
 * like the message store: least recently used go first, an unknown id is a clear failure.
 */
export class ForwardStore {
  readonly #cache: LruMap<string, readonly ForwardNode[]>;
  #next = 1;

  constructor(capacity: number) {
    this.#cache = new LruMap(Math.max(1, Math.floor(capacity)));
  }

  put(nodes: readonly ForwardNode[]): string {
    const id = `sandbox-forward-${this.#next++}`;
    this.#cache.set(id, nodes);
    return id;
  }

  /** The nodes, or undefined for an id never stored or evicted. */
  find(id: string): readonly ForwardNode[] | undefined {
    return this.#cache.get(id);
  }
}

const bad = (message: string) => new ActionError(Retcode.BAD_REQUEST, message);

/**
 * Builds and stores a forward from `node` segments, as go-cqhttp reads them: `{id}` quotes a
 * stored message; a custom node has `user_id` (or `uin`), `nickname` (or `name`), `content`
 * (any message form; nodes inside it nest a forward) and optional `time`. Unlike go-cqhttp,
 * which skips a bad node silently, a bad node fails the whole call with 1400 naming it.
 */
export function buildForward(
  world: SandboxWorld,
  nodes: Message,
  groupId: number | undefined,
  where: string,
  depth = 0,
): string {
  if (depth >= MAX_DEPTH) throw bad(`${where}: forward messages nest more than ${MAX_DEPTH} deep`);
  if (nodes.length === 0) throw bad(`${where}: expected at least one node segment`);
  const out = nodes.map((seg, i): ForwardNode => {
    const at = `${where}[${i}]`;
    if (seg.type !== 'node') throw bad(`${at}: expected a node segment, got ${preview(seg.type)}`);
    const d = seg.data;
    if (d['id'] !== undefined && d['id'] !== null && d['id'] !== '') {
      const id = Number(d['id']);
      if (!Number.isSafeInteger(id)) throw bad(`${at}.data.id: expected a message_id, got ${preview(d['id'])}`);
      const m = world.store.get(id);
      return {
        user_id: m.anonymous ? ANONYMOUS_USER_ID : m.user_id,
        nickname: m.sender.nickname,
        time: m.time,
        content: m.message,
        ...(m.group_id === undefined ? {} : { group_id: m.group_id }),
      };
    }
    const uin = Number(d['user_id'] ?? d['uin']);
    if (!Number.isSafeInteger(uin) || uin <= 0)
      throw bad(`${at}.data.user_id (or uin): expected a user id, got ${preview(d['user_id'] ?? d['uin'])}`);
    const name = d['nickname'] ?? d['name'];
    if (typeof name !== 'string' || name === '')
      throw bad(`${at}.data.nickname (or name): expected a non-empty string`);
    let content: Message;
    try {
      content = toMessage(d['content'], false, `${at}.data.content`);
    } catch (err) {
      if (err instanceof InvalidMessageError) throw bad(err.message);
      throw err;
    }
    if (content.length === 0) throw bad(`${at}.data.content: the message is empty`);
    if (content.some((s) => s.type === 'node'))
      content = [
        { type: 'forward', data: { id: buildForward(world, content, groupId, `${at}.data.content`, depth + 1) } },
      ];
    const time = Number(d['time']);
    return {
      user_id: uin,
      nickname: name,
      time: Number.isSafeInteger(time) && time > 0 ? time : now(),
      content,
      ...(groupId === undefined ? {} : { group_id: groupId }),
    };
  });
  return world.forwards.put(out);
}

/**
 * A message made of `node` segments becomes one `forward` segment (as go-cqhttp sends nodes
 * given to send_msg); any other message is returned as is. Nodes mixed with other segments
 * are refused: a forward is a message of its own.
 */
export function packForward(
  world: SandboxWorld,
  _from: number,
  message: Message,
  groupId: number | undefined,
): Message {
  if (!message.some((s) => s.type === 'node')) return message;
  if (!message.every((s) => s.type === 'node'))
    throw bad('param message: a forward message holds only node segments (got nodes mixed with other segments)');
  return [{ type: 'forward', data: { id: buildForward(world, message, groupId, 'message') } }];
}

/** go-cqhttp's shape: `{sender: {user_id, nickname}, time, content, group_id?}`, nesting in `content`. */
function readNodes(
  world: SandboxWorld,
  nodes: readonly ForwardNode[],
  format: MessageFormat,
  depth: number,
): Array<Record<string, unknown>> {
  return nodes.map((n) => {
    const only = n.content.length === 1 ? n.content[0]! : undefined;
    const nested =
      only?.type === 'forward' && depth < MAX_DEPTH ? world.forwards.find(String(only.data['id'])) : undefined;
    return {
      sender: { user_id: n.user_id, nickname: n.nickname },
      time: n.time,
      content: nested ? readNodes(world, nested, format, depth + 1) : formatMessage(n.content, format),
      ...(n.group_id === undefined ? {} : { group_id: n.group_id }),
    };
  });
}

/** The same nodes as the spec's `node` segments (get_forward_msg's `message`). */
function asSegments(messages: Array<Record<string, unknown>>): Message {
  return messages.map((m) => {
    const sender = m['sender'] as { user_id: number; nickname: string };
    const content = m['content'];
    const nested =
      Array.isArray(content) &&
      content.length > 0 &&
      typeof (content[0] as Record<string, unknown>)['sender'] === 'object';
    return {
      type: 'node',
      data: {
        user_id: sender.user_id,
        nickname: sender.nickname,
        content: nested ? asSegments(content as Array<Record<string, unknown>>) : content,
      },
    };
  });
}

/** send_group_forward_msg, send_private_forward_msg, send_forward_msg and get_forward_msg. */
export function forwardActions(world: SandboxWorld, selfId: number): ActionTable {
  const nodesParam = (p: Params): Message => {
    // go-cqhttp's name is `messages`; NapCat also takes `message`.
    const name = p.has('messages') ? 'messages' : 'message';
    if (!p.has(name)) throw bad('param messages: expected a list of node segments, got nothing');
    try {
      return toMessage(p.raw[name], false, name);
    } catch (err) {
      if (err instanceof InvalidMessageError) throw bad(`param ${err.message}`);
      throw err;
    }
  };
  const send = (target: { group_id: number } | { to: number }, p: Params) => {
    const nodes = nodesParam(p);
    const id = buildForward(
      world,
      nodes,
      'group_id' in target ? target.group_id : undefined,
      `param ${p.has('messages') ? 'messages' : 'message'}`,
    );
    const m = world.botSay(selfId, target, [{ type: 'forward', data: { id } }]);
    return { message_id: m.message_id, forward_id: id };
  };
  return {
    send_group_forward_msg: (p) => send({ group_id: p.int('group_id') }, p),
    send_private_forward_msg: (p) => send({ to: p.int('user_id') }, p),
    send_forward_msg: (p) => {
      const type = p.optionalString('message_type');
      if (type === 'group' || (type !== 'private' && !p.has('user_id')))
        return send({ group_id: p.int('group_id') }, p);
      return send({ to: p.int('user_id') }, p);
    },
    get_forward_msg: (p, ctx) => {
      // go-cqhttp reads `message_id`, then `id` (the spec's name); both are the forward id. A
      // message_id of a message holding a forward segment is accepted too.
      const id = p.optionalString('message_id') || p.optionalString('id');
      if (!id) throw bad('param id (or message_id): expected the forward id of a forward segment, got nothing');
      let nodes = world.forwards.find(id);
      if (!nodes && /^-?\d+$/.test(id)) {
        const seg = world.store.get(Number(id)).message.find((s) => s.type === 'forward');
        if (seg) nodes = world.forwards.find(String(seg.data['id']));
      }
      if (!nodes) throw new ActionError(Retcode.FAILED, `forward message ${id} not found (evicted, or never existed)`);
      const messages = readNodes(world, nodes, ctx.format, 0);
      return { messages, message: asSegments(messages) };
    },
  };
}
