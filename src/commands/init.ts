import { copyFileSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { OneBridgeError } from '../errors.js';
import { DEFAULT_CONFIG_FILE } from '../package-info.js';

/** `onebridge init [FILE]`: write the commented default config; never overwrites unless forced. */
export function init(file: string, force: boolean): string {
  const target = resolve(file);
  try {
    copyFileSync(DEFAULT_CONFIG_FILE, target, force ? 0 : constants.COPYFILE_EXCL);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new OneBridgeError('ONEBRIDGE_FILE_EXISTS', `${target} already exists; use --force to overwrite it`);
    throw new OneBridgeError('ONEBRIDGE_WRITE_FAILED', `cannot write ${target}: ${(err as Error).message}`, { cause: err });
  }
  return target;
}
