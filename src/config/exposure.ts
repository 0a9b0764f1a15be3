import type { Config } from './schema.js';

/** Names and addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Listeners reachable from other machines with no token: anyone who can reach the port can
 * drive the bots (network entries) or read connections and inject messages (admin). Valid
 * config, so these are warnings, said at start and by `check`; they do not stop either.
 */
export function exposureWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const open = (key: string, host: string, port: number, what: string) =>
    `${key}: listening on ${host.includes(':') ? `[${host}]` : host}:${port} with no access_token: anyone who can reach this machine can ${what}; set ${key}.access_token, or host: 127.0.0.1`;
  config.network.forEach((entry, i) => {
    if ((entry.type === 'ws' || entry.type === 'http') && !isLoopback(entry.host) && entry.access_token === '') {
      warnings.push(open(`network[${i}]`, entry.host, entry.port, 'connect and act as your bots'));
    }
  });
  if (config.admin && !isLoopback(config.admin.host) && config.admin.access_token === '') {
    warnings.push(open('admin', config.admin.host, config.admin.port, 'list connections and inject sandbox messages'));
  }
  return warnings;
}
