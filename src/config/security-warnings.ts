import type { ConfigProblem } from '../errors.js';
import { isLoopbackName } from './request-guard.js';
import type { Config } from './schema.js';

interface Listener {
  readonly path: string;
  readonly what: string;
  readonly host: string;
  readonly access_token: string;
  readonly allowed_origins: readonly string[];
  readonly allowed_hosts: readonly string[];
}

/**
 * Valid but risky combinations, for `onebridge check` and the start-up log: each names the
 * key and what to change. A config with warnings still runs; see docs/security.md.
 *
 * It does not judge tokens' strength or anything onebridge dials out to.
 */
export function securityWarnings(config: Config): ConfigProblem[] {
  const listeners: Listener[] = [];
  config.network.forEach((entry, i) => {
    if (entry.type === 'ws') listeners.push({ path: `network[${i}]`, what: 'this forward WebSocket', ...entry });
    if (entry.type === 'http')
      listeners.push({ path: `network[${i}]`, what: `this HTTP API${entry.sse ? ' and SSE stream' : ''}`, ...entry });
  });
  if (config.admin) listeners.push({ path: 'admin', what: 'the admin endpoint', ...config.admin });
  const out: ConfigProblem[] = [];
  for (const l of listeners) {
    const open = l.access_token === '';
    if (open && !isLoopbackName(l.host)) {
      out.push({
        path: `${l.path}.host`,
        message: `warning: ${l.host} is reachable from other machines and there is no access_token: anyone who reaches the port can use ${l.what}; set ${l.path}.access_token, or bind 127.0.0.1`,
      });
    }
    if (open && l.allowed_origins.includes('*')) {
      out.push({
        path: `${l.path}.allowed_origins`,
        message: `warning: "*" lets every web page you open use ${l.what}, and there is no access_token; list the origins you need, or set ${l.path}.access_token`,
      });
    } else if (open && l.allowed_origins.includes('null')) {
      out.push({
        path: `${l.path}.allowed_origins`,
        message: `warning: "null" is the origin of any sandboxed frame or local file, from any site, and there is no access_token; remove it, or set ${l.path}.access_token`,
      });
    }
    if (open && l.allowed_hosts.includes('*') && isLoopbackName(l.host)) {
      out.push({
        path: `${l.path}.allowed_hosts`,
        message: `warning: "*" turns off the Host check, so a DNS-rebinding web page can reach ${l.what}, and there is no access_token; list the names you need, or set ${l.path}.access_token`,
      });
    }
  }
  return out;
}
