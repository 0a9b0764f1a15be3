import { describe, expect, it, vi } from 'vitest';
import { CLI, CLI_BOUND_MS, CLI_TEST_MS, runCli } from './support/cli.js';
import { execLine, runUnderPty } from './support/pty.js';
import { slow } from './support/slow.js';

// Several CLI runs per test: bounds for emulated arm64 (~10x slower), not for speed.
vi.setConfig({ testTimeout: slow(CLI_TEST_MS), hookTimeout: slow(CLI_TEST_MS) });

/** Every word of the help text, as written in the source: none may be cut in two. */
const WORDS = [
  'Usage: onebridge [command] [options]',
  './onebridge.yaml,',
  '$ONEBRIDGE_CONFIG,',
  'connections',
  'frameworks',
];

function assertWrapped(text: string, width: number): void {
  const lines = text.replace(/\r/g, '').split('\n');
  for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(width);
  const flat = lines.map((l) => l.trim()).join(' ');
  for (const word of WORDS) expect(flat).toContain(word);
  expect(text).not.toMatch(/^Usa$/m);
}

describe('--help wraps between words', () => {
  it('piped: 80 columns', async () => {
    const r = await runCli(['--help'], { timeoutMs: CLI_BOUND_MS });
    expect(r.code).toBe(0);
    assertWrapped(r.stdout, 80);
  });

  it('on a 50-column terminal (a pty from script(1), from util-linux)', () => {
    const r = runUnderPty(`stty cols 50; ${execLine([CLI, '--help'])}`, { timeoutMs: slow(CLI_BOUND_MS) });
    expect(r.status).toBe(0);
    assertWrapped(r.stdout, 50);
  });
});
