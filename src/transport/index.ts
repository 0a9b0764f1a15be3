import type { NetworkConfig } from '../config/schema.js';
import type { Transport, TransportDeps } from './transport.js';
import { HttpPost } from './http-post.js';
import { HttpServer } from './http-server.js';
import { WsReverse } from './ws-reverse.js';
import { WsServer } from './ws-server.js';

export type { TransportDeps };

type FactoryMap = {
  [T in NetworkConfig['type']]: (
    config: Extract<NetworkConfig, { type: T }>,
    key: string,
    deps: TransportDeps,
  ) => Transport;
};

/** `network[].type → factory`, as adapters are found by `accounts[].adapter.type`. */
export const transportFactories: FactoryMap = {
  ws: (config, key, deps) => new WsServer(config, key, deps),
  'ws-reverse': (config, key, deps) => new WsReverse(config, key, deps),
  http: (config, key, deps) => new HttpServer(config, key, deps),
  'http-post': (config, key, deps) => new HttpPost(config, key, deps),
};

export function createTransport(config: NetworkConfig, key: string, deps: TransportDeps): Transport {
  const factory = transportFactories[config.type] as (c: NetworkConfig, k: string, d: TransportDeps) => Transport;
  return factory(config, key, deps);
}
