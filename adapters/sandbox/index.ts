import { isatty } from 'node:tty';
import { defineAdapter, type Adapter, type AdapterContext } from '../../src/adapter.js';
import type { AdminRoute } from '../../src/admin/route.js';
import { groupMessageEvent, privateMessageEvent } from '../../src/onebot/events.js';
import { plainText, toMessage, InvalidMessageError } from '../../src/onebot/message.js';
import { ActionError } from '../../src/onebot/params.js';
import { sleep } from '../../src/kit/index.js';
import { sandboxActions } from './actions.js';
import { extensionAdminRoutes } from './admin-routes.js';
import { authorOf } from './anonymous.js';
import { SandboxAdapterConfig, SandboxWorldConfig } from './config.js';
import { SandboxConsole } from './console.js';
import { consoleInput } from './console-mode.js';
import { sandboxDashboardRoutes } from './dashboard-routes.js';
import { SandboxWorld, type WorldMessage, type WorldNotice } from './world.js';

/** How long `set_restart` keeps the sandbox bot offline. */
const RESTART_OFFLINE_MS = 1000;

/** One world (and one console) per app, whatever the number of sandbox accounts. */
interface Shared {
  readonly world: SandboxWorld;
  readonly options: SandboxWorldConfig;
  console?: SandboxConsole;
}

/**
 * The default platform: a bot in a simulated chat world, for developing bots with no account.
 * The top-level `sandbox:` section configures the world all sandbox accounts share.
 */
export const sandboxAdapter = defineAdapter({
  type: 'sandbox',
  config: SandboxAdapterConfig,
  section: SandboxWorldConfig,
  shared: (options: SandboxWorldConfig): Shared => ({ world: new SandboxWorld(options), options }),
  // Group members are people of the world (sandbox.users) or sandbox bots (accounts).
  checkSection: (options, accounts) => {
    const people = new Set([
      ...options.users.map((u) => u.user_id),
      ...accounts
        .filter((a) => a.adapter.type === 'sandbox')
        .flatMap((a) => (a.self_id === undefined ? [] : [a.self_id])),
    ]);
    return options.groups.flatMap((group, g) =>
      group.members.flatMap((member, m) =>
        people.has(member.user_id)
          ? []
          : [
              {
                path: ['groups', g, 'members', m, 'user_id'],
                message: `no user ${member.user_id} in sandbox.users (nor a sandbox account); add the user, or remove the member`,
              },
            ],
      ),
    );
  },
  create: (config, ctx) => createSandboxAdapter(config, ctx),
});

function createSandboxAdapter(config: SandboxAdapterConfig, ctx: AdapterContext<Shared>): Adapter {
  const shared = ctx.shared;
  const { world } = shared;
  const selfId = ctx.selfId;
  world.addBot(selfId, config.nickname);
  let running = false;
  /** True while set_restart has the bot offline. */
  let restarting = false;

  const onWorldMessage = (m: WorldMessage) => {
    if (!running || restarting) return;
    if (m.from === selfId) {
      // The bot's own message: only as message_sent, and only when asked for.
      if (config.report_self_message) {
        const base =
          m.group_id !== undefined
            ? groupMessageEvent(selfId, {
                message_id: m.message_id,
                group_id: m.group_id,
                user_id: selfId,
                message: m.message,
                sender: world.sender(selfId, m.group_id),
                time: m.time,
              })
            : privateMessageEvent(selfId, {
                message_id: m.message_id,
                user_id: selfId,
                message: m.message,
                sender: world.sender(selfId),
                time: m.time,
              });
        ctx.emit({ ...base, post_type: 'message_sent', ...(m.to !== undefined ? { target_id: m.to } : {}) });
      }
      return;
    }
    if (m.group_id !== undefined) {
      if (!world.groups.get(m.group_id)?.members.has(selfId)) return;
      ctx.emit(
        groupMessageEvent(selfId, {
          message_id: m.message_id,
          group_id: m.group_id,
          message: m.message,
          time: m.time,
          ...authorOf(world, m, m.group_id),
        }),
      );
    } else if (m.to === selfId) {
      ctx.emit(
        privateMessageEvent(selfId, {
          message_id: m.message_id,
          user_id: m.from,
          message: m.message,
          sender: world.sender(m.from),
          time: m.time,
          sub_type: world.isFriend(selfId, m.from) ? 'friend' : 'other',
        }),
      );
    }
  };

  const onWorldNotice = (n: WorldNotice) => {
    if (running && !restarting && n.audience(selfId)) ctx.emit(n.event(selfId));
  };

  // set_restart: the bot's session goes offline (get_status, no events) and comes back, as a
  // restarted implementation would; pending restarts end with the adapter.
  const restarts = new AbortController();
  const restart = async (delayMs: number) => {
    try {
      await sleep(delayMs, restarts.signal);
      ctx.logger.info(`set_restart: the sandbox bot ${selfId} restarts (offline for ${RESTART_OFFLINE_MS} ms)`);
      restarting = true;
      await sleep(RESTART_OFFLINE_MS, restarts.signal);
    } catch {
      // Aborted by stop(): the adapter is going away, no restart to finish.
    } finally {
      restarting = false;
    }
  };
  const actions = sandboxActions(world, selfId, config.nickname, { restart });

  /** Runs a world operation for an admin route: bad input and refusals are 400 with the reason. */
  const control = (body: unknown, run: (b: Record<string, unknown>) => Record<string, unknown>) => {
    if (!isObject(body)) return notAnObject(body);
    const b = body;
    try {
      return { status: 200, body: run(b) };
    } catch (err) {
      if (err instanceof ActionError) return { status: 400, body: { error: err.message } };
      throw err;
    }
  };
  const int = (b: Record<string, unknown>, key: string): number => {
    const n = Number(b[key]);
    if (b[key] === undefined || !Number.isSafeInteger(n)) throw new ActionError(400, `${key}: expected an integer`);
    return n;
  };

  const adminRoutes: AdminRoute[] = [
    {
      method: 'POST',
      path: '/sandbox/requests',
      // A user asks a bot for friendship ({kind: "friend", user_id, self_id?}) or to join a group ({kind: "group", user_id, group_id}).
      handle: ({ body }) =>
        control(body, (b) => {
          const comment = typeof b['comment'] === 'string' ? b['comment'] : '';
          if (b['kind'] === 'friend')
            return {
              flag: world.requestFriend(
                int(b, 'user_id'),
                b['self_id'] === undefined ? [...world.bots.keys()][0]! : int(b, 'self_id'),
                comment,
              ),
            };
          if (b['kind'] === 'group') return { flag: world.requestJoin(int(b, 'user_id'), int(b, 'group_id'), comment) };
          throw new ActionError(400, 'kind: expected "friend" or "group"');
        }),
    },
    {
      method: 'POST',
      path: '/sandbox/recall',
      handle: ({ body }) =>
        control(body, (b) => ({ message_id: world.recall(int(b, 'user_id'), int(b, 'message_id')).message_id })),
    },
    {
      method: 'POST',
      path: '/sandbox/poke',
      handle: ({ body }) =>
        control(body, (b) => {
          world.poke(
            int(b, 'user_id'),
            int(b, 'target_id'),
            b['group_id'] === undefined ? undefined : int(b, 'group_id'),
          );
          return {};
        }),
    },
    {
      method: 'POST',
      path: '/sandbox/messages',
      handle: ({ body }) => {
        if (!isObject(body)) return notAnObject(body);
        const b = body;
        const userId = Number(b['user_id']);
        if (b['user_id'] === undefined || !Number.isSafeInteger(userId))
          return { status: 400, body: { error: 'user_id: expected an integer' } };
        if (world.bots.has(userId))
          return {
            status: 400,
            body: {
              error: `user_id: ${userId} is a bot; bots send with OneBot actions (send_msg), this route speaks for people`,
            },
          };
        let message;
        try {
          message = toMessage(b['message']);
        } catch (err) {
          if (err instanceof InvalidMessageError) return { status: 400, body: { error: err.message } };
          throw err;
        }
        if (message.length === 0 || (message.every((seg) => seg.type === 'text') && plainText(message).trim() === ''))
          return { status: 400, body: { error: 'message: empty; send some text or segments' } };
        try {
          const target =
            b['group_id'] !== undefined
              ? { group_id: Number(b['group_id']) }
              : { to: b['self_id'] !== undefined ? Number(b['self_id']) : [...world.bots.keys()][0]! };
          const msg = world.say(userId, target, message);
          return { status: 200, body: { message_id: msg.message_id } };
        } catch (err) {
          if (err instanceof ActionError) return { status: 400, body: { error: err.message } };
          throw err;
        }
      },
    },
    {
      method: 'GET',
      path: '/sandbox/messages',
      handle: async ({ query, signal }) => {
        const since = Number(query.get('since') ?? 0);
        const timeout = Math.min(Math.max(Number(query.get('timeout_ms') ?? 10_000), 0), 60_000);
        if (!Number.isFinite(since) || !Number.isFinite(timeout))
          return { status: 400, body: { error: 'since and timeout_ms must be numbers' } };
        // A `since` past the newest id (a client that kept an id across restarts) would wait
        // for ids it may never see and echo itself back: read from the newest id instead.
        const from = Math.min(since, world.lastMessageId);
        const messages = await world.botMessagesSince(from, timeout, signal);
        return {
          status: 200,
          body: { messages: messages.map(publicMessage), last_id: messages.at(-1)?.message_id ?? from },
        };
      },
    },
    ...sandboxDashboardRoutes(world),
  ];

  const adapter: Adapter = {
    actions,
    adminRoutes: [...adminRoutes, ...extensionAdminRoutes(world)],
    async start() {
      if (running) return;
      running = true;
      world.on('message', onWorldMessage);
      world.on('notice', onWorldNotice);
      world.attach();
    },
    ready() {
      // The console comes up after the startup log lines, so its prompt is not buried in them.
      // isatty(0), not process.stdin.isTTY: the first read of process.stdin builds its stream
      // (about 0.9 MiB RSS), which a console that stays off never needs.
      const input =
        !shared.console && running ? consoleInput(shared.options.console, { isTTY: isatty(0) }, ctx.logger) : undefined;
      if (input) {
        shared.console = new SandboxConsole(world, {
          input: process.stdin,
          output: process.stdout,
          terminal: input === 'terminal' && Boolean(process.stdout.isTTY),
          logger: ctx.logger,
          // The real signal: Ctrl+C in the console takes exactly the SIGINT path.
          onInterrupt: () => process.kill(process.pid, 'SIGINT'),
        });
        shared.console.start();
      }
    },
    async stop() {
      restarts.abort();
      if (!running) return;
      running = false;
      world.off('message', onWorldMessage);
      world.off('notice', onWorldNotice);
      if (world.detach()) {
        shared.console?.stop();
        shared.console = undefined;
      }
    },
    status: () => ({ online: running && !restarting, good: running }),
  };
  return adapter;
}

function isObject(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

function notAnObject(body: unknown) {
  const got = body === undefined ? 'nothing' : Array.isArray(body) ? 'a list' : JSON.stringify(body);
  return {
    status: 400,
    body: { error: `body: expected a JSON object, e.g. {"user_id": 20001, "message": "hi"}, got ${got}` },
  };
}

function publicMessage(m: WorldMessage) {
  return {
    message_id: m.message_id,
    time: m.time,
    self_id: m.from,
    group_id: m.group_id,
    user_id: m.to,
    message: m.message,
    raw_message: m.raw_message,
  };
}
