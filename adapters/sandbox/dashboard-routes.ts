import type { AdminRoute } from '../../src/admin/route.js';
import type { StoredMessage } from '../../src/onebot/message-store.js';
import type { SandboxWorld, WorldMessage, WorldNotice } from './world.js';

/** What the dashboard's chat shows of a world message: who, where, the segments. */
function chatMessage(world: SandboxWorld, m: WorldMessage) {
  return {
    message_id: m.message_id,
    time: m.time,
    from: m.from,
    name: world.users.has(m.from) ? world.displayName(m.from, m.group_id) : String(m.from),
    bot: m.bot,
    ...(m.group_id !== undefined ? { group_id: m.group_id } : { to: m.to }),
    message: m.message,
  };
}

/** How many of the stored messages a newly opened chat shows. */
const HISTORY = 200;

/** The same shape for a message from the store (the history a page gets when it opens). */
function storedChatMessage(world: SandboxWorld, m: StoredMessage) {
  return chatMessage(world, {
    message_id: m.message_id,
    time: m.time,
    from: m.user_id,
    bot: world.bots.has(m.user_id),
    ...(m.group_id !== undefined ? { group_id: m.group_id } : { to: m.to! }),
    message: m.message,
    raw_message: m.raw_message,
  });
}

/**
 * The sandbox's routes for the dashboard's chat: `GET /sandbox/world` (users, bots, groups to
 * pick from) and `GET /sandbox/feed` (`history`: the last stored messages, then every message
 * in the world and every notice or request bots hear, as server-sent events). Reading only: the chat acts through the sandbox's POST
 * routes, as any script would.
 */
export function sandboxDashboardRoutes(world: SandboxWorld): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/sandbox/world',
      handle: () => ({
        status: 200,
        body: {
          bots: [...world.bots].map(([user_id, nickname]) => ({ user_id, nickname })),
          users: [...world.users.values()]
            .filter((u) => !world.bots.has(u.user_id))
            .map((u) => ({ user_id: u.user_id, nickname: u.nickname })),
          groups: [...world.groups.values()].map((g) => ({
            group_id: g.group_id,
            group_name: g.group_name,
            members: [...g.members.values()].map((m) => ({ user_id: m.user_id, role: m.role, card: m.card })),
          })),
        },
      }),
    },
    {
      method: 'GET',
      path: '/sandbox/feed',
      handle: () => ({
        stream: (send, signal) => {
          const onMessage = (m: WorldMessage) => send('message', chatMessage(world, m));
          const onNotice = (n: WorldNotice) => {
            // The event as the first bot that hears it gets it: the page shows what bots see.
            const bot = [...world.bots.keys()].find((id) => n.audience(id));
            send('notice', { text: n.text, ...(bot !== undefined ? { event: n.event(bot) } : {}) });
          };
          world.on('message', onMessage);
          world.on('notice', onNotice);
          const stored = [...world.store.values()].sort((a, b) => a.message_id - b.message_id).slice(-HISTORY);
          send(
            'history',
            stored.map((m) => storedChatMessage(world, m)),
          );
          signal.addEventListener(
            'abort',
            () => {
              world.off('message', onMessage);
              world.off('notice', onNotice);
            },
            { once: true },
          );
        },
      }),
    },
  ];
}
