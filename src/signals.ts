/** Signals that ask onebridge to stop. SIGBREAK is Ctrl+Break on Windows. */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface ShutdownSignalOptions {
  /** The first signal: start the graceful shutdown. */
  onShutdown(signal: NodeJS.Signals): void;
  /** A second signal, later than `repeatWindowMs` after the first: exit now. */
  onForce(signal: NodeJS.Signals): void;
  /**
   * One Ctrl+C can arrive twice: the terminal signals the whole process group and npm
   * forwards it to its child as well. A repeat inside this window is that echo, not a
   * second keypress. Default 500 ms.
   */
  repeatWindowMs?: number;
}

/**
 * The process's listeners for the shutdown signals. Signals that arrive before a handler is
 * given are kept, with their times, and replayed to it: so the listeners can be installed
 * before the rest of the program has even loaded, and no signal is lost or fatal meanwhile.
 */
class ShutdownSignals {
  readonly #queued: Array<{ signal: NodeJS.Signals; at: number }> = [];
  #options: ShutdownSignalOptions | undefined;
  #first: number | undefined;
  #installed = false;
  readonly #listener = (signal: NodeJS.Signals): void => this.#receive(signal, performance.now());

  get queued(): readonly NodeJS.Signals[] {
    return this.#queued.map((q) => q.signal);
  }

  install(): void {
    if (this.#installed) return;
    this.#installed = true;
    for (const s of SHUTDOWN_SIGNALS) process.on(s, this.#listener);
  }

  uninstall(): void {
    if (!this.#installed) return;
    this.#installed = false;
    for (const s of SHUTDOWN_SIGNALS) process.off(s, this.#listener);
  }

  /** Hands signals to `options` from now on, replaying any that came before. */
  handle(options: ShutdownSignalOptions): void {
    this.#options = options;
    for (const { signal, at } of this.#queued.splice(0)) this.#receive(signal, at);
  }

  #receive(signal: NodeJS.Signals, at: number): void {
    const options = this.#options;
    if (!options) {
      this.#queued.push({ signal, at });
      return;
    }
    if (this.#first === undefined) {
      this.#first = at;
      options.onShutdown(signal);
    } else if (at - this.#first > (options.repeatWindowMs ?? 500)) {
      options.onForce(signal);
    }
  }
}

let early: ShutdownSignals | undefined;

/**
 * Catches the shutdown signals now and keeps them until `handleShutdownSignals` takes them
 * over (or `releaseShutdownSignals` gives them back). For the CLI's entry point, before
 * anything else loads: Node's default action would otherwise end the process with no summary.
 */
export function catchShutdownSignals(): void {
  early ??= new ShutdownSignals();
  early.install();
}

/**
 * For commands that do not run a server: the signals get their default action back, and one
 * that was caught meanwhile is raised again, so the process ends as if never caught.
 */
export function releaseShutdownSignals(): void {
  const caught = early;
  if (!caught) return;
  early = undefined;
  caught.uninstall();
  const first = caught.queued[0];
  if (first) process.kill(process.pid, first);
}

/**
 * Installs the handlers (or takes over the ones `catchShutdownSignals` installed, replaying
 * what they caught); returns a function that removes them.
 */
export function handleShutdownSignals(options: ShutdownSignalOptions): () => void {
  const signals = early ?? new ShutdownSignals();
  early = undefined;
  signals.install();
  signals.handle(options);
  return () => signals.uninstall();
}
