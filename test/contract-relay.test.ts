import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { builtinAdapters } from '../adapters/index.js';
import { adapterContract, UNKNOWN_ID, type PlatformHarness } from './support/adapter-contract.js';
import { Framework } from './support/framework.js';

/**
 * The relay's platform is another OneBot implementation: a stub that answers like one
 * (get_login_info, send_*_msg, 1404 for the rest) and pushes message events. It answers a send
 * to UNKNOWN_ID as go-cqhttp does (100); the relay must pass that answer through unchanged.
 */
adapterContract('relay', {
  adapters: builtinAdapters,
  linked: true,
  harness: async (): Promise<PlatformHarness> => {
    let refuse = false;
    const upstream = await Framework.start({ verify: () => (refuse ? [503, 'restarting'] : true) });
    const sent: string[] = [];
    let hung = false;
    let nextId = 1;
    const live = new Set<WebSocket>();
    upstream.wss.on('connection', (ws) => {
      live.add(ws);
      ws.on('close', () => live.delete(ws));
      ws.on('message', (data) => {
        if (hung) return;
        const frame = JSON.parse(data.toString()) as { action: string; params: Record<string, unknown>; echo: unknown };
        const answer = (body: Record<string, unknown>) => ws.send(JSON.stringify({ ...body, echo: frame.echo }));
        if (frame.action === 'get_login_info')
          return answer({ status: 'ok', retcode: 0, data: { user_id: 10001, nickname: 'stub' } });
        if (/^send_(msg|private_msg|group_msg)$/.test(frame.action)) {
          for (const key of ['group_id', 'user_id'])
            if (frame.params[key] === UNKNOWN_ID)
              return answer({ status: 'failed', retcode: 100, data: null, message: `${key} ${UNKNOWN_ID} not found` });
          sent.push(JSON.stringify(frame.params['message']));
          return answer({ status: 'ok', retcode: 0, data: { message_id: nextId++ } });
        }
        answer({ status: 'failed', retcode: 1404, data: null, message: `${frame.action} not supported` });
      });
    });
    return {
      account: () => ({
        adapter: {
          type: 'relay',
          upstream: {
            mode: 'ws',
            url: upstream.url('/'),
            action_timeout_ms: 3000,
            reconnect: { initial_ms: 20, max_ms: 100 },
          },
        },
      }),
      say: async (text) => {
        const ws = await upstream.until(() => [...live].at(-1), 5000, 'an upstream link');
        ws.send(
          JSON.stringify({
            time: Math.floor(Date.now() / 1000),
            self_id: 10001,
            post_type: 'message',
            message_type: 'private',
            sub_type: 'friend',
            message_id: nextId++,
            user_id: 20001,
            message: text,
            raw_message: text,
            font: 0,
            sender: { user_id: 20001, nickname: 'alice' },
          }),
        );
      },
      received: (needle) =>
        upstream.until(() => sent.find((m) => m.includes(needle)), 5000, `upstream got "${needle}"`),
      hang: async () => {
        hung = true;
        // Read nothing more: the close frame is never seen, so never answered.
        for (const ws of live) (ws as unknown as { _socket: Socket })._socket.pause();
      },
      drop: async () => {
        refuse = true;
        for (const ws of live) ws.terminate();
        return async () => {
          refuse = false;
        };
      },
      close: () => upstream.close(),
    };
  },
});
