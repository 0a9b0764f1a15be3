import { once } from 'node:events';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../../src/app.js';
import type { WsServer } from '../../src/transport/ws-server.js';
import { wsPort } from './app.js';
import { slow } from './slow.js';

/** Shared by the admission tests (failure modes 1 and 4 of issue 6). */
export class AdmissionProbe {
  readonly sockets: WebSocket[] = [];
  app: App | undefined;

  server(): WsServer {
    return this.app!.transports[0] as WsServer;
  }

  /** Dials, and reports how the upgrade ended; an opened socket must answer an action. */
  async outcome(path = '/api'): Promise<Outcome> {
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort(this.app!)}${path}`);
    this.sockets.push(ws);
    ws.on('error', () => {});
    const first = await Promise.race([
      once(ws, 'open').then(() => 'open' as const),
      once(ws, 'unexpected-response').then(([, res]) => (res as { statusCode: number }).statusCode),
    ]);
    if (first !== 'open') return { kind: 'http', status: first };
    let closeCode: number | undefined;
    ws.on('close', (code) => (closeCode = code));
    ws.send(JSON.stringify({ action: 'get_login_info', echo: 1 }));
    const answered = await Promise.race([once(ws, 'message').then(() => true), sleep(slow(2000)).then(() => false)]);
    return { kind: 'open', answered, closeCode };
  }

  async cleanup(): Promise<void> {
    for (const ws of this.sockets.splice(0)) ws.terminate();
    await this.app?.stop();
    this.app = undefined;
  }
}

/**
 * An AdmissionProbe for a whole test file, its cleanup() registered to run after each test:
 * call it once, at the file's top level. It starts no app; each test sets `probe.app`.
 */
export function admissionProbe(): AdmissionProbe {
  const probe = new AdmissionProbe();
  afterEach(() => probe.cleanup());
  return probe;
}

export type Outcome = { kind: 'open'; answered: boolean; closeCode?: number } | { kind: 'http'; status: number };
export const admissionConfig = (timeout: number) =>
  `network:\n  - type: ws\n    port: 0\n    heartbeat_interval_ms: 0\n    handshake_timeout_ms: ${timeout}\n`;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
