import { spawnSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { CLI, CLI_BOUND_MS, CLI_TEST_MS, runCli } from './support/cli.js';

// Several CLI runs per test: bounds for emulated arm64 (~10x slower), not for speed.
vi.setConfig({ testTimeout: CLI_TEST_MS, hookTimeout: CLI_TEST_MS });

/** Every word of the help text, as written in the source: none may be cut in two. */
const WORDS = ['Usage: onebridge [command] [options]', './onebridge.yaml,', '$ONEBRIDGE_CONFIG,', 'connections', 'frameworks'];

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
    const r = spawnSync('script', ['-qec', `stty cols 50; "${process.execPath}" "${CLI}" --help`, '/dev/null'], { encoding: 'utf8', timeout: CLI_BOUND_MS });
    if (r.error) throw new Error(`script(1) is needed for this test (Debian package bsdutils/util-linux): ${r.error.message}`);
    expect(r.status).toBe(0);
    assertWrapped(r.stdout, 50);
  });
});
