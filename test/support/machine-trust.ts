/**
 * Runs first in every test file (vitest `setupFiles`): the suite's child processes start without
 * the machine's NODE_EXTRA_CA_CERTS.
 *
 * Node reads that file as it starts, whether or not the process ever opens a TLS connection: with
 * a distribution's whole bundle there (CI images set it so; this machine names ~150 certificates)
 * that is about 50 ms of CPU per Node start on Node 20, and the suite starts over a hundred.
 *
 * The children need none of it. They talk only to servers the tests start on loopback, and a test
 * about TLS trust names its own CA (xmpp-cli.test.ts), which the machine's must not widen. The
 * one exception is npm, which may reach the registry: `machineTrust()` gives its runs the
 * machine's setting back.
 *
 * Not for the workers themselves: they have read the file already, and deleting the variable
 * does not change whom they trust.
 */
const SAVED = Symbol.for('onebridge.test.machineCaCerts');
const store = globalThis as { [SAVED]?: { value: string | undefined } };

// Setup files run again for each file in a shared worker: keep what the first run found.
store[SAVED] ??= { value: process.env['NODE_EXTRA_CA_CERTS'] };
delete process.env['NODE_EXTRA_CA_CERTS'];

/** The machine's NODE_EXTRA_CA_CERTS, for a child (npm) that may talk beyond loopback. */
export function machineTrust(): NodeJS.ProcessEnv {
  const value = store[SAVED]?.value;
  return value === undefined ? {} : { NODE_EXTRA_CA_CERTS: value };
}
