import type { AnyAdapterDefinition } from '../adapter.js';
import { loadConfig } from '../config/load.js';
import { securityWarnings } from '../config/security-warnings.js';
import { ConfigError, formatProblem } from '../errors.js';

/** `onebridge check`: every problem, one per line; exit code 0 when there are none. Risky but valid settings are warnings on stderr (exit 0). */
export function check(file: string | undefined, adapters: readonly AnyAdapterDefinition[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  try {
    const { config, file: used } = loadConfig(file, adapters);
    for (const w of securityWarnings(config)) err.write(`${used}: ${formatProblem(w)}\n`);
    out.write(`${used}: ok (${config.accounts.length} account(s), ${config.network.length} network entr${config.network.length === 1 ? 'y' : 'ies'}, admin ${config.admin ? `${config.admin.host}:${config.admin.port}` : 'off'})\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) err.write(`${e.file}: ${formatProblem(p)}\n`);
    err.write(`${e.problems.length} problem${e.problems.length === 1 ? '' : 's'} found\n`);
    return 1;
  }
}
