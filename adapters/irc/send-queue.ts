/**
 * Flood control for what the bot says: lines leave one per `intervalMs` (the first at once),
 * so the server's flood protection never disconnects the bot. Bounded: a message whose lines
 * do not all fit is refused whole (the caller answers 1429), never sent in part.
 * Protocol lines (PONG, JOIN, QUIT) bypass it: they are written directly.
 */
export class SendQueue {
  readonly #intervalMs: number;
  readonly #maxLines: number;
  readonly #write: (line: string) => void;
  readonly #now: () => number;
  readonly #lines: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** When the last line left (by `now`); -Infinity before the first. */
  #lastSent = -Infinity;
  #closed = false;

  constructor(options: { intervalMs: number; maxLines: number; write: (line: string) => void; now?: () => number }) {
    this.#now = options.now ?? (() => performance.now());
    this.#intervalMs = options.intervalMs;
    this.#maxLines = options.maxLines;
    this.#write = options.write;
  }

  /** Lines waiting to be written. */
  get size(): number {
    return this.#lines.length;
  }

  /** Queues every line, or none when they would not fit (returns false). */
  offer(lines: readonly string[]): boolean {
    if (this.#closed || this.#lines.length + lines.length > this.#maxLines) return false;
    this.#lines.push(...lines);
    this.#pump();
    return true;
  }

  /** Drops what is waiting (the link went down); returns how many lines that was. */
  clear(): number {
    const n = this.#lines.length;
    this.#lines.length = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return n;
  }

  /** No more lines are accepted or written. Idempotent. */
  close(): number {
    this.#closed = true;
    return this.clear();
  }

  #pump(): void {
    if (this.#timer || this.#closed) return;
    while (this.#lines.length) {
      const wait = this.#lastSent + this.#intervalMs - this.#now();
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, Math.ceil(wait));
        return;
      }
      this.#lastSent = this.#now();
      this.#write(this.#lines.shift()!);
    }
  }
}
