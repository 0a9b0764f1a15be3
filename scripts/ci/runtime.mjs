#!/usr/bin/env node
// One line naming the Node that runs this: which runtime a CI step really used.
import { readFileSync } from 'node:fs';

let emulated = '';
if (process.env.RUN_ARM64 === '1') emulated = ' under qemu-user emulation';
else {
  try {
    if (process.arch !== 'x64' && /GenuineIntel|AuthenticAMD/.test(readFileSync('/proc/cpuinfo', 'utf8')))
      emulated = ' under emulation';
  } catch {
    /* no /proc (Android may deny it): nothing to add */
  }
}
process.stdout.write(
  `runtime: node ${process.version} ${process.platform}-${process.arch}${emulated} (${process.execPath})\n`,
);
