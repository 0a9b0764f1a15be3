// Worker thread holding the fan-out clients, so receiving does not share the server's event
// loop: the suite then measures the server's sending, not both ends on one thread.
import { parentPort } from 'node:worker_threads';
import type { WebSocket } from 'ws';
import { openMany, terminateAll } from './lib.js';

export type ToWorker =
  | { type: 'connect'; url: string; n: number; greeting: boolean }
  | { type: 'expect'; count: number }
  | { type: 'close' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'armed' }
  | { type: 'done'; frames: number; bytes: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };

const port = parentPort!;
let clients: WebSocket[] = [];
let counts: number[] = [];
let bytes = 0;
let expected = 0;
let finished = 0;

const post = (msg: FromWorker) => port.postMessage(msg);

port.on('message', (msg: ToWorker) => {
  void handle(msg).catch((err: Error) => post({ type: 'error', message: err.message }));
});

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'connect':
      clients = await openMany(msg.url, msg.n, msg.greeting);
      counts = clients.map(() => 0);
      clients.forEach((ws, i) =>
        ws.on('message', (data: Buffer) => {
          bytes += data.length;
          if (++counts[i]! === expected) {
            finished++;
            if (finished === clients.length) post({ type: 'done', frames: counts.reduce((a, b) => a + b, 0), bytes });
          }
        }),
      );
      post({ type: 'ready' });
      return;
    case 'expect':
      counts.fill(0);
      bytes = 0;
      finished = 0;
      expected = msg.count;
      post({ type: 'armed' });
      return;
    case 'close':
      await terminateAll(clients);
      clients = [];
      post({ type: 'closed' });
      port.close();
      return;
  }
}
