import { copyFileSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
    // The raw message names the packaged source file too, which is no use to the user.
    const folder = dirname(target);
    const why =
      code === 'ENOENT' && !existsSync(folder)
        ? `the folder ${folder} does not exist; create it first (mkdir -p ${folder})`
        : code === 'EISDIR'
          ? 'it is a directory; name a file, e.g. onebridge.yaml'
          : code === 'EACCES' || code === 'EPERM'
            ? `permission denied; choose a folder you can write to`
            : `${code ?? 'error'} (${(err as Error).message})`;
    throw new OneBridgeError('ONEBRIDGE_WRITE_FAILED', `cannot write ${target}: ${why}`, { cause: err });
  }
  return target;
}
