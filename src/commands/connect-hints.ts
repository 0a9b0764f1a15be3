import type { Config, NetworkConfig } from '../config/schema.js';

/** A wildcard listener is reached from this machine on loopback. */
function clientHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * What to paste into NoneBot2 (`.env`) and Koishi (`adapter-onebot`) to reach each network
 * entry, with the ports actually bound. Tokens and secrets are named, never printed.
 */
export function connectHints(config: Config, portOf: (index: number) => number | undefined, selfIdOf: (entry: NetworkConfig) => number): string[] {
  const lines: string[] = [];
  config.network.forEach((entry, i) => {
    const key = `network[${i}]`;
    const selfId = selfIdOf(entry);
    const koishiId = `selfId: '${selfId}'`;
    switch (entry.type) {
      case 'ws': {
        const url = `ws://${clientHost(entry.host)}:${portOf(i) ?? entry.port}/`;
        const token = entry.access_token ? ` ONEBOT_ACCESS_TOKEN=<${key}.access_token>` : '';
        lines.push(`${key}: NoneBot2 .env: DRIVER=~websockets ONEBOT_WS_URLS=["${url}"]${token}`);
        lines.push(`${key}: Koishi adapter-onebot: protocol: ws, endpoint: ${url}, ${koishiId}${entry.access_token ? `, token: <${key}.access_token>` : ''}`);
        break;
      }
      case 'ws-reverse': {
        const url = new URL(entry.url ?? entry.api_url ?? entry.event_url ?? 'ws://127.0.0.1:8080/');
        const port = url.port || (url.protocol === 'wss:' ? '443' : '80');
        const token = entry.access_token ? ` ONEBOT_ACCESS_TOKEN=<${key}.access_token>` : '';
        lines.push(`${key}: dials ${entry.url ?? `${entry.api_url} + ${entry.event_url}`}; NoneBot2 .env: DRIVER=~fastapi HOST=${url.hostname} PORT=${port}${token} (it serves /onebot/v11/ws)`);
        lines.push(`${key}: Koishi adapter-onebot: protocol: ws-reverse, path: ${url.pathname}, ${koishiId}${entry.access_token ? `, token: <${key}.access_token>` : ''} (on Koishi's port ${port})`);
        break;
      }
      case 'http': {
        const url = `http://${clientHost(entry.host)}:${portOf(i) ?? entry.port}/`;
        const token = entry.access_token ? ` ONEBOT_ACCESS_TOKEN=<${key}.access_token>` : '';
        lines.push(`${key}: NoneBot2 .env: ONEBOT_API_ROOTS={"${selfId}": "${url}"}${token} (events: add an http-post entry)`);
        lines.push(`${key}: Koishi adapter-onebot: protocol: http, endpoint: ${url}, ${koishiId}${entry.access_token ? `, token: <${key}.access_token>` : ''}`);
        break;
      }
      case 'http-post': {
        const url = new URL(entry.url);
        const secret = entry.secret ? ` ONEBOT_SECRET=<${key}.secret>` : '';
        lines.push(`${key}: posts events to ${entry.url}; NoneBot2 .env: DRIVER=~fastapi HOST=${url.hostname} PORT=${url.port || '80'}${secret} (it serves /onebot/v11/http)`);
        lines.push(`${key}: Koishi adapter-onebot: protocol: http, path: ${url.pathname}, ${koishiId}${entry.secret ? `, secret: <${key}.secret>` : ''}`);
        break;
      }
    }
  });
  return lines;
}
