import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument, parse as parseYaml } from 'yaml';
import type * as z from 'zod/mini';
import { config as zodConfig } from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { ConfigError, OneBridgeError, type ConfigProblem } from '../errors.js';
import { DEFAULT_CONFIG_FILE } from '../package-info.js';
import { compileFilter, FilterError } from '../policy/filter.js';
import type { AnyAdapterDefinition } from '../adapter.js';
import { buildConfigSchema, type Config } from './schema.js';
import { formatPath } from './types.js';

export interface LoadedConfig {
  readonly config: Config;
  /** The file it came from; the built-in default file when none was found. */
  readonly file: string;
  readonly source: 'flag' | 'env' | 'cwd' | 'default';
}

/**
 * Where the config comes from, first match wins: `-c FILE`, `$ONEBRIDGE_CONFIG`,
 * `./onebridge.yaml`, then the built-in `config/default.yaml`. A file named by the flag or the
 * variable must exist; it is an error, not a fall-through, when it does not.
 */
export function resolveConfigFile(
  flag: string | undefined,
  env = process.env,
  cwd = process.cwd(),
  exists: (f: string) => boolean = fileExists,
): Pick<LoadedConfig, 'file' | 'source'> {
  // An empty value is a mistake (a script's unset variable, `-c` at the end of the line), not
  // a request for the defaults: falling back would run a config the user did not mean.
  if (flag !== undefined) {
    if (flag.trim() === '')
      throw new OneBridgeError(
        'ONEBRIDGE_CONFIG_PATH_EMPTY',
        '-c/--config needs a file path, e.g. -c onebridge.yaml (leave -c out to use ./onebridge.yaml or the built-in defaults)',
      );
    return { file: resolve(cwd, flag), source: 'flag' };
  }
  const fromEnv = env['ONEBRIDGE_CONFIG'];
  if (fromEnv !== undefined) {
    if (fromEnv.trim() === '')
      throw new OneBridgeError(
        'ONEBRIDGE_CONFIG_PATH_EMPTY',
        '$ONEBRIDGE_CONFIG is set but empty; set it to a config file path, or unset it',
      );
    return { file: resolve(cwd, fromEnv), source: 'env' };
  }
  const local = resolve(cwd, 'onebridge.yaml');
  if (exists(local)) return { file: local, source: 'cwd' };
  return { file: DEFAULT_CONFIG_FILE, source: 'default' };
}

function fileExists(file: string): boolean {
  try {
    readFileSync(file, { flag: 'r' });
    return true;
  } catch {
    return false;
  }
}

/** Find, read and validate the config for the adapters given (see `buildConfigSchema`). */
export function loadConfig(flag: string | undefined, adapters: readonly AnyAdapterDefinition[]): LoadedConfig {
  const where = resolveConfigFile(flag);
  let text: string;
  try {
    text = readFileSync(where.file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const from = where.source === 'env' ? ' (from $ONEBRIDGE_CONFIG)' : '';
    // Only a missing file is fixed by `init`; for the others init would refuse or fail too.
    const why =
      code === 'ENOENT'
        ? `no such file; create it with "onebridge init ${where.file}"`
        : code === 'EISDIR'
          ? `it is a directory, not a file; name the config file in it, e.g. -c ${join(where.file, 'onebridge.yaml')}`
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied; make it readable by this user (e.g. chmod u+r), or run as its owner'
            : `${code} (${(err as Error).message})`;
    throw new ConfigError(where.file, [{ path: '', message: `cannot read the file${from}: ${why}` }], { cause: err });
  }
  return { ...where, config: parseConfig(text, adapters, where.file) };
}

/**
 * Parse YAML text and validate it against the schema built from `adapters`; every problem
 * found is in the thrown ConfigError.
 */
export function parseConfig(text: string, adapters: readonly AnyAdapterDefinition[], file = '<inline>'): Config {
  const lines = new LineCounter();
  // merge: YAML 1.1 merge keys (`<<: *base`), as go-cqhttp-style configs use them.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const at = lines.linePos(e.pos[0]);
        return {
          path: '',
          message: `YAML syntax error at line ${at.line}, column ${at.col}: ${e.message.split('\n')[0]}`,
        };
      }),
    );
  }
  const raw: unknown = doc.contents === null ? {} : doc.toJS();
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new ConfigError(file, [
      { path: '', message: 'expected a mapping of keys (accounts:, network:, …) at the top level' },
    ]);
  }
  return validateConfig(raw, adapters, file);
}

// zod/mini ships without a locale: the messages zod writes itself (a wrong type under a key
// without an `error` of ours) would all be "Invalid input". English, as full zod sets it.
if (!zodConfig().localeError) zodConfig(en());

/**
 * Validate a config given as a value (what YAML parses to, or an object a program builds):
 * the result has every default filled in. Throws ConfigError with every problem found.
 */
export function validateConfig(raw: unknown, adapters: readonly AnyAdapterDefinition[], file = '<inline>'): Config {
  // jitless: zod would compile a fast path for each object schema, for a config parsed once.
  const result = buildConfigSchema(adapters).safeParse(withoutExtensions(raw ?? {}), {
    reportInput: true,
    jitless: true,
  });
  if (!result.success) throw new ConfigError(file, result.error.issues.flatMap(toProblems));
  const problems = loadFilterFiles(result.data, file === '<inline>' ? process.cwd() : dirname(file));
  if (problems.length) throw new ConfigError(file, problems);
  return result.data;
}

/**
 * Reads each `network[].filter_file` (JSON or YAML, relative to the config file) into the
 * entry's `filter`, so the app sees one form. A problem names the key, the file and the path
 * inside the filter.
 */
function loadFilterFiles(config: Config, base: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.network.forEach((entry, i) => {
    if (entry.filter_file === undefined) return;
    const path = formatPath(['network', i, 'filter_file']);
    const where = resolve(base, entry.filter_file);
    let value: unknown;
    try {
      value = parseYaml(readFileSync(where, 'utf8'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message.split('\n')[0]);
      problems.push({ path, message: `cannot read ${where}: ${why}` });
      return;
    }
    try {
      compileFilter(value);
    } catch (err) {
      if (!(err instanceof FilterError)) throw err;
      problems.push({
        path,
        message: `invalid filter in ${where}${err.path.length ? ` at ${formatPath(['filter', ...err.path]).slice('filter'.length) || '(top)'}` : ''}: ${err.message}`,
      });
      return;
    }
    entry.filter = value;
  });
  return problems;
}

/**
 * Top-level keys starting with `x-` are the user's own (a home for `&anchors` that entries
 * merge with `<<: *name`, as in Compose files); they are not config and are not validated.
 */
function withoutExtensions(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith('x-')));
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

const KNOWN_KEY_HINT = 'remove it, or check its spelling';

function toProblems(issue: z.core.$ZodIssue): ConfigProblem[] {
  const path = formatPath(issue.path);
  const got = 'input' in issue ? issue.input : undefined;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        message: `unknown key; ${KNOWN_KEY_HINT}`,
      }));
    case 'invalid_union': {
      const union = issue as z.core.$ZodIssueInvalidUnion & { discriminator?: string; options?: unknown[] };
      if (union.discriminator && union.options) {
        const value =
          typeof got === 'object' && got !== null ? (got as Record<string, unknown>)[union.discriminator] : undefined;
        return [{ path, message: `expected one of ${union.options.join(', ')}, got ${describe(value)}` }];
      }
      return [{ path, message: issue.message }];
    }
    case 'invalid_value':
      return [
        { path, message: `expected one of ${issue.values.map((v) => String(v)).join(', ')}, got ${describe(got)}` },
      ];
    case 'invalid_type':
      if (got === undefined)
        return [
          {
            path,
            message: `missing; expected ${issue.message.startsWith('expected ') ? issue.message.slice(9) : issue.expected}`,
          },
        ];
      return [
        {
          path,
          message: `${issue.message.startsWith('expected ') ? issue.message : `expected ${issue.expected}`}, got ${describe(got)}`,
        },
      ];
    case 'too_small':
    case 'too_big':
      return [
        {
          path,
          message: issue.message.startsWith('expected ') ? `${issue.message}, got ${describe(got)}` : issue.message,
        },
      ];
    default:
      return [
        {
          path,
          message: issue.message.startsWith('expected ') ? `${issue.message}, got ${describe(got)}` : issue.message,
        },
      ];
  }
}
