import { EventEmitter } from 'eventemitter3';
import TransportStream from 'winston-transport';

/** One log line as the dashboard shows it. */
export interface LogLine {
  /** Increasing per process: a reader that reconnects asks for lines after the last it saw. */
  readonly seq: number;
  /** ISO time the line was written. */
  readonly time: string;
  readonly level: string;
  readonly component: string;
  readonly message: string;
}

const LEVEL = Symbol.for('level');

/**
 * A winston transport that keeps the last `capacity` lines in memory for the admin dashboard
 * and tells listeners of each new one (`on('line')`). Bounded: the oldest line goes first.
 * It does not write anywhere and sees only what the logger's level lets through.
 */
export class LogRing extends TransportStream {
  readonly capacity: number;
  readonly #lines: LogLine[] = [];
  readonly #events = new EventEmitter<{ line: [LogLine] }>();
  #seq = 0;

  constructor(capacity = 500) {
    super();
    this.capacity = capacity;
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    // The raw level: a format may have coloured `info.level` for the terminal.
    const level = String(info[LEVEL] ?? info['level'] ?? 'info');
    const stamp = info['timestamp'];
    const line: LogLine = {
      seq: ++this.#seq,
      time:
        typeof stamp === 'string' && !Number.isNaN(Date.parse(stamp))
          ? new Date(stamp).toISOString()
          : new Date().toISOString(),
      level,
      component: String(info['component'] ?? 'onebridge'),
      message: String(info['message'] ?? ''),
    };
    this.#lines.push(line);
    if (this.#lines.length > this.capacity) this.#lines.shift();
    this.#events.emit('line', line);
    next();
  }

  /** The lines kept, oldest first, optionally only those after `seq`. */
  lines(afterSeq = 0): LogLine[] {
    return afterSeq > 0 ? this.#lines.filter((l) => l.seq > afterSeq) : [...this.#lines];
  }

  /** Calls `listener` for every new line until the returned function is called. */
  subscribe(listener: (line: LogLine) => void): () => void {
    this.#events.on('line', listener);
    return () => this.#events.off('line', listener);
  }
}
