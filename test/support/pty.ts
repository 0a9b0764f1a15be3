import { spawn, spawnSync, type ChildProcessWithoutNullStreams, type SpawnSyncReturns } from 'node:child_process';

/**
 * script(1) (util-linux, Debian package bsdutils) gives a command a real pseudo-terminal.
 *
 * It runs the command with `$SHELL -c`, so the shell depends on whoever started the suite: bash
 * execs a lone command, dash stays as its parent and, in the terminal's foreground group, gets
 * the SIGINT a typed Ctrl+C sends and exits 130. CI starts the suite without SHELL. Pinning the
 * shell and exec-ing the command (see `execLine`) makes every run see the same process tree.
 */
const PTY_SHELL = '/bin/sh';

export function ptyEnv(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...process.env, ...env, SHELL: PTY_SHELL };
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** A shell line that replaces the shell with `node args...`, so signals reach node alone. */
export function execLine(args: readonly string[]): string {
  return `exec ${[process.execPath, ...args].map(quote).join(' ')}`;
}

/** Runs `shellLine` under a pseudo-terminal; what is written to stdin is typed at the terminal. */
export function spawnUnderPty(shellLine: string, env?: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  const child = spawn('script', ['-qfec', shellLine, '/dev/null'], {
    env: ptyEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.on('error', (err) => {
    throw new Error(`script(1) is needed for this test (Debian package bsdutils): ${err.message}`);
  });
  return child;
}

/** `spawnUnderPty`, to completion. */
export function runUnderPty(
  shellLine: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): SpawnSyncReturns<string> {
  const r = spawnSync('script', ['-qec', shellLine, '/dev/null'], {
    env: ptyEnv(options.env),
    encoding: 'utf8',
    timeout: options.timeoutMs,
  });
  if (r.error) throw new Error(`script(1) is needed for this test (Debian package bsdutils): ${r.error.message}`);
  return r;
}
