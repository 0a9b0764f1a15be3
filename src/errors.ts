/**
 * Error classes with a stable `code`, so callers (the CLI, tests, peers reading logs) can branch
 * on the kind of failure without parsing messages.
 */
export class OneBridgeError extends Error {
  /** Stable, machine-readable identifier, e.g. `ONEBRIDGE_CONFIG_INVALID`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem in a config file, anchored at the key path that has it. */
export interface ConfigProblem {
  /** Key path in the OneBot ecosystem's notation, e.g. `network[1].port`. Empty for the file. */
  readonly path: string;
  readonly message: string;
}

/** The config file could not be read, parsed or validated. Carries every problem found. */
export class ConfigError extends OneBridgeError {
  readonly file: string;
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[], options?: ErrorOptions) {
    const first = problems[0];
    const head = first ? formatProblem(first) : 'invalid config';
    const more = problems.length > 1 ? ` (+${problems.length - 1} more; run "onebridge check -c ${file}")` : '';
    super('ONEBRIDGE_CONFIG_INVALID', `config ${file}: ${head}${more}`, options);
    this.file = file;
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

/** Something the config asked for could not be set up (port in use, address not available). */
export class StartupError extends OneBridgeError {
  /** The config key the failure is about, when there is one. */
  readonly key: string | undefined;

  constructor(code: string, message: string, key?: string, options?: ErrorOptions) {
    super(code, key ? `${key}: ${message}` : message, options);
    this.key = key;
  }
}
