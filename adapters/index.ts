import { z } from 'zod';
import type { AdapterFactory } from '../src/adapter.js';
import { RelayAdapterConfig } from './relay/config.js';
import { createRelayAdapter } from './relay/index.js';
import { SandboxAdapterConfig } from './sandbox/config.js';
import { createSandboxAdapter } from './sandbox/index.js';

/** `accounts[].adapter`: one schema per adapter, told apart by `type`. */
export const AdapterConfig = z.discriminatedUnion('type', [SandboxAdapterConfig, RelayAdapterConfig]);
export type AdapterConfig = z.infer<typeof AdapterConfig>;

type FactoryMap = { [T in AdapterConfig['type']]: AdapterFactory<Extract<AdapterConfig, { type: T }>> };

/** `type → factory`: how the app finds the adapter an account's config names. */
export const adapterFactories: FactoryMap = {
  sandbox: createSandboxAdapter,
  relay: createRelayAdapter,
};
