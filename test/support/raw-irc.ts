import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

/** One parsed line as the tests look at it. */
export interface RawLine {
  readonly raw: string;
  readonly prefix: string;
  readonly nick: string;
  readonly command: string;
  readonly params: string[];
  readonly at: number;
}

function parse(raw: string): RawLine {
  let rest = raw;
  if (rest.startsWith('@')) rest = rest.slice(rest.indexOf(' ') + 1);
  let prefix = '';
  if (rest.startsWith(':')) {
    const sp = rest.indexOf(' ');
    prefix = rest.slice(1, sp);
    rest = rest.slice(sp + 1);
  }
  const params: string[] = [];
  while (rest.length) {
    if (rest.startsWith(':')) {
      params.push(rest.slice(1));
      break;
    }
    const sp = rest.indexOf(' ');
    if (sp < 0) {
      params.push(rest);
      break;
    }
    params.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1).replace(/^ +/, '');
  }
  const command = params.shift() ?? '';
  return { raw, prefix, nick: prefix.split('!')[0] ?? '', command: command.toUpperCase(), params, at: Date.now() };
}

/**
 * A plain IRC user for tests, written directly on a socket so it shares no code with the
 * adapter under test. Answers PING, records every line; `waitFor` finds lines by predicate.
 */
export class RawIrc {
  readonly nick: string;
  readonly lines: RawLine[] = [];
  readonly #socket: Socket;
  #buffer = '';
  #waiters: Array<() => void> = [];
  #cursor = 0;

  private constructor(socket: Socket, nick: string) {
    this.#socket = socket;
    this.nick = nick;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const raw = this.#buffer.slice(0, nl).replace(/\r$/, '');
        this.#buffer = this.#buffer.slice(nl + 1);
        if (!raw) continue;
        const line = parse(raw);
        if (line.command === 'PING') this.send(`PONG :${line.params[0] ?? ''}`);
        this.lines.push(line);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Connects and registers; resolves after the welcome (001). */
  static async connect(port: number, nick: string): Promise<RawIrc> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    const c = new RawIrc(socket, nick);
    c.send(`NICK ${nick}`);
    c.send(`USER ${nick} 0 * :${nick} (test)`);
    await c.waitFor((l) => l.command === '001', 10_000, `${nick} welcome`);
    return c;
  }

  get closed(): boolean {
    return this.#socket.destroyed;
  }

  send(line: string): void {
    this.#socket.write(`${line}\r\n`);
  }

  async join(channel: string): Promise<void> {
    this.send(`JOIN ${channel}`);
    await this.waitFor((l) => l.command === '366' && l.params[1]?.toLowerCase() === channel.toLowerCase(), 10_000, `${this.nick} join ${channel}`);
  }

  say(target: string, text: string): void {
    this.send(`PRIVMSG ${target} :${text}`);
  }

  /** The first line after the cursor matching `pred` (the cursor moves past it). */
  async waitFor(pred: (l: RawLine) => boolean, ms = 10_000, what = 'IRC line'): Promise<RawLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (; this.#cursor < this.lines.length; this.#cursor++) {
        const line = this.lines[this.#cursor]!;
        if (pred(line)) {
          this.#cursor++;
          return line;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.#socket.destroyed) throw new Error(`${this.nick}: no ${what} within ${ms} ms; last lines:\n${this.lines.slice(-8).map((l) => l.raw).join('\n')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** `n` PRIVMSGs to `target` (in order), waiting until all have arrived. */
  async messages(n: number, pred: (l: RawLine) => boolean, ms = 10_000): Promise<RawLine[]> {
    const out: RawLine[] = [];
    while (out.length < n) out.push(await this.waitFor((l) => l.command === 'PRIVMSG' && pred(l), ms, `message ${out.length + 1}/${n}`));
    return out;
  }

  async quit(): Promise<void> {
    if (this.#socket.destroyed) return;
    const closed = once(this.#socket, 'close');
    this.send('QUIT :bye');
    const t = setTimeout(() => this.#socket.destroy(), 1000);
    await closed;
    clearTimeout(t);
  }
}
