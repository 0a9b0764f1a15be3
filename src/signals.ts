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

/** Installs the handlers; returns a function that removes them. */
export function handleShutdownSignals(options: ShutdownSignalOptions): () => void {
  const window = options.repeatWindowMs ?? 500;
  let first: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    const at = performance.now();
    if (first === undefined) {
      first = at;
      options.onShutdown(signal);
    } else if (at - first > window) {
      options.onForce(signal);
    }
  };
  for (const s of SHUTDOWN_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of SHUTDOWN_SIGNALS) process.off(s, handler);
  };
}
