import type { AdminReply, AdminRoute } from '../../src/admin/route.js';
import { InvalidMessageError, toMessage } from '../../src/onebot/message.js';
import { ActionError } from '../../src/onebot/params.js';
import type { Message } from '../../src/onebot/types.js';
import { sayAnonymously } from './anonymous.js';
import { setEssence } from './essence.js';
import { uploadGroupFile, uploadPrivateFile } from './files.js';
import type { SandboxWorld } from './world.js';

type Body = Record<string, unknown>;

/** Runs a world operation: bad input and refusals are 400 with the reason, as the other sandbox routes. */
function control(body: unknown, run: (b: Body) => Body): AdminReply {
  const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Body;
  try {
    return { status: 200, body: run(b) };
  } catch (err) {
    if (err instanceof ActionError || err instanceof InvalidMessageError) return { status: 400, body: { error: err.message } };
    throw err;
  }
}

function int(b: Body, key: string): number {
  const n = Number(b[key]);
  if (b[key] === undefined || b[key] === null || !Number.isSafeInteger(n)) throw new ActionError(400, `${key}: expected an integer`);
  return n;
}

function message(b: Body, key: string): Message {
  if (b[key] === undefined) throw new ActionError(400, `${key}: expected a message (a string, a segment or a list of segments)`);
  return toMessage(b[key], false, key);
}

/** A private target: `self_id`, else the first bot. */
function bot(world: SandboxWorld, b: Body): number {
  return b['self_id'] === undefined ? [...world.bots.keys()][0]! : int(b, 'self_id');
}

/**
 * Admin routes that let a test (or a person with curl) act as users with the extensions, so
 * a bot's handling of them can be tried: forward messages, anonymous messages, file uploads
 * and essence changes. Each answers 400 with the reason when the world refuses.
 */
export function extensionAdminRoutes(world: SandboxWorld): AdminRoute[] {
  return [
    {
      method: 'POST',
      path: '/sandbox/forward',
      // {user_id, group_id | self_id?, messages: [node segments]}: a user sends a forward (merged chat).
      handle: ({ body }) =>
        control(body, (b) => {
          const from = int(b, 'user_id');
          const nodes = message(b, 'messages');
          if (!nodes.every((s) => s.type === 'node')) throw new ActionError(400, 'messages: expected node segments only');
          const target = b['group_id'] !== undefined ? { group_id: int(b, 'group_id') } : { to: bot(world, b) };
          const m = world.say(from, target, nodes);
          return { message_id: m.message_id, forward_id: m.message[0]?.data['id'] };
        }),
    },
    {
      method: 'POST',
      path: '/sandbox/anonymous',
      // {user_id, group_id, message, name?}: a member speaks anonymously.
      handle: ({ body }) =>
        control(body, (b) => {
          const m = sayAnonymously(world, int(b, 'user_id'), int(b, 'group_id'), message(b, 'message'), typeof b['name'] === 'string' ? b['name'] : undefined);
          return { message_id: m.message_id, anonymous: m.anonymous };
        }),
    },
    {
      method: 'POST',
      path: '/sandbox/files',
      // {user_id, group_id | self_id?, name, size?}: a user uploads a group file or sends a bot one.
      handle: ({ body }) =>
        control(body, (b) => {
          const name = typeof b['name'] === 'string' ? b['name'] : '';
          const size = b['size'] === undefined ? 0 : int(b, 'size');
          if (b['group_id'] !== undefined) return { file: uploadGroupFile(world, int(b, 'user_id'), int(b, 'group_id'), name, size) };
          uploadPrivateFile(world, int(b, 'user_id'), bot(world, b), name, size);
          return {};
        }),
    },
    {
      method: 'POST',
      path: '/sandbox/essence',
      // {user_id, message_id, enable?}: a group admin sets (or removes) an essence message.
      handle: ({ body }) =>
        control(body, (b) => {
          setEssence(world, int(b, 'user_id'), int(b, 'message_id'), b['enable'] !== false);
          return {};
        }),
    },
  ];
}
