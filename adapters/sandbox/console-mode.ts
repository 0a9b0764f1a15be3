import { readFileSync } from 'node:fs';
import type { Logger } from '../../src/logger.js';

/** `sandbox.console`: `auto` = a console only on a terminal this process has in the foreground. */
export type ConsoleSetting = 'auto' | boolean;

/**
 * This thread's stat line. /proc/thread-self first: qemu-user (arm64 emulated on x64) answers
 * /proc/self/stat with made-up fields (pgrp and tpgid 0), and the process group is the same for
 * every thread. /proc/self/stat for kernels before 3.17.
 */
function readOwnStat(): string {
  try {
    return readFileSync('/proc/thread-self/stat', 'utf8');
  } catch {
    return readFileSync('/proc/self/stat', 'utf8');
  }
}

/**
 * Whether this process is in the foreground process group of its terminal (Linux and
 * Android: /proc/thread-self/stat, tpgid = pgrp). Where that cannot be read, assume it is: a
 * terminal stdin is then the only test.
 */
export function inForeground(readStat: () => string = readOwnStat): boolean {
  let stat: string;
  try {
    stat = readStat();
  } catch {
    return true;
  }
  // Fields after "pid (comm) ": state ppid pgrp session tty_nr tpgid; comm may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(fields[2]);
  const tpgid = Number(fields[5]);
  return Number.isInteger(pgrp) && tpgid === pgrp;
}

/**
 * How the console reads stdin, or undefined for no console. A terminal needs the foreground:
 * in the background (`onebridge &`) reading it or setting raw mode would get the whole process
 * stopped by the terminal (SIGTTIN/SIGTTOU) with its ports bound and nothing answering. A
 * non-terminal stdin (a pipe, a file) is read only when asked for with `console: true`.
 */
export function consoleInput(
  setting: ConsoleSetting,
  stdin: { isTTY?: boolean },
  logger: Logger,
  foreground: () => boolean = inForeground,
): 'terminal' | 'lines' | undefined {
  if (setting === false) return undefined;
  if (stdin.isTTY) {
    if (foreground()) return 'terminal';
    logger.info(
      'sandbox console off: running in the background (bring it to the foreground with fg, or set sandbox.console: false)',
    );
    return undefined;
  }
  if (setting === true) return 'lines';
  logger.debug('sandbox console off: stdin is not a terminal (sandbox.console: true reads lines from it)');
  return undefined;
}
