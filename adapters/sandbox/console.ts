import { createRequire } from 'node:module';
import type { Interface } from 'node:readline';
import { setTerminalGuard, type Logger } from '../../src/logger.js';
import { toMessage, plainText } from '../../src/onebot/message.js';
import { ActionError } from '../../src/onebot/params.js';
import { EXTENSION_HELP, extensionCommand } from './console-commands.js';
import type { SandboxWorld, WorldMessage, WorldNotice } from './world.js';

export interface SandboxConsoleOptions {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  /** A terminal: prompt, line editing, Ctrl+C. Otherwise plain lines, e.g. from a pipe. */
  readonly terminal: boolean;
  readonly logger: Logger;
  /** Ctrl+C and `/quit`: readline swallows SIGINT, so the console hands it on. */
  readonly onInterrupt: () => void;
}

type Chat = { group_id: number } | { to: number };

/**
 * readline is loaded when a console starts, not with the adapter: with the REPL history it
 * brings, and fs/promises (which loads readline's internals too), it was about 1 MiB RSS at
 * every start, the console off included (a service; the bench's "RSS at ready", Node 26).
 */
const loadReadline = (): typeof import('node:readline') =>
  createRequire(import.meta.url)('node:readline') as typeof import('node:readline');

/** Longer messages are cut on screen (a bot may send megabytes); the store keeps them whole. */
const MAX_SHOWN_CHARS = 2000;

function shorten(text: string): string {
  return text.length <= MAX_SHOWN_CHARS
    ? text
    : `${text.slice(0, MAX_SHOWN_CHARS)}… (${text.length - MAX_SHOWN_CHARS} more characters)`;
}

const HELP = `commands:
  /as <user_id>        speak as another user
  /group <group_id>    talk in a group
  /private [bot_id]    talk privately to a bot
  /who                 list users, bots and groups
  /recall <message_id>  recall a message you sent
  /poke <user_id>      poke someone in the current chat
  /request friend [text]  ask the bot to be your friend (the bot gets a request)
  /request group [text]   ask to join the current group
  /quit                stop onebridge (same as Ctrl+C)
anything else is sent as a message (CQ codes allowed)`;

/**
 * The sandbox's chat console: you type as a user, bots' messages are printed as they arrive.
 * It only reads its input and writes its output; closing the input never stops onebridge,
 * because it may run under a service manager with no stdin at all.
 */
export class SandboxConsole {
  readonly #world: SandboxWorld;
  readonly #opts: SandboxConsoleOptions;
  #rl: Interface | undefined;
  #as: number;
  #chat: Chat;
  /** True while the world handles a line typed on the terminal. */
  #typing = false;
  /** Set after an I/O error: nothing more is written to the output. */
  #dead = false;

  constructor(world: SandboxWorld, options: SandboxConsoleOptions) {
    this.#world = world;
    this.#opts = options;
    const human = [...world.users.keys()].find((id) => !world.bots.has(id));
    this.#as = human ?? [...world.users.keys()][0] ?? 0;
    const group = [...world.groups.keys()][0];
    const bot = [...world.bots.keys()][0] ?? 0;
    this.#chat = group !== undefined ? { group_id: group } : { to: bot };
  }

  start(): void {
    if (this.#rl) return;
    const rl = loadReadline().createInterface({
      input: this.#opts.input,
      output: this.#opts.terminal ? this.#opts.output : undefined,
      terminal: this.#opts.terminal,
    });
    this.#rl = rl;
    rl.on('line', (line) => this.#onLine(line));
    rl.on('SIGINT', () => this.#opts.onInterrupt());
    rl.on('close', () => {
      if (this.#rl === rl) {
        this.#rl = undefined;
        setTerminalGuard(undefined);
        // Ctrl+D on a terminal: say what it did, since the process runs on. Piped input
        // ending is routine (scripts), so only debug.
        if (this.#opts.terminal)
          this.#opts.output.write(
            '\r\x1b[Kconsole closed (Ctrl+D); onebridge keeps running. Ctrl+C or SIGTERM stops it.\n',
          );
        this.#opts.logger.debug('console input ended; onebridge keeps running');
      }
    });
    // An unreadable stdin (nohup's write-only /dev/null: EBADF, a closed descriptor) ends the
    // console, never the process. readline re-emits its input's errors on itself, where an
    // unheard 'error' would throw; the input's own listener covers Node versions that do not.
    rl.on('error', this.#onInputError);
    this.#opts.input.on('error', this.#onInputError);
    if (this.#opts.terminal) this.#opts.output.on('error', this.#onOutputError);
    this.#world.on('message', this.#onMessage);
    this.#world.on('notice', this.#onNotice);
    if (this.#opts.terminal) {
      // Log lines (stderr, same terminal) clear the prompt line first and redraw it after.
      setTerminalGuard({ clear: () => this.#opts.output.write('\r\x1b[K'), redraw: () => this.#rl?.prompt(true) });
      this.#print(`sandbox console: you are ${this.#who()} in ${this.#where()}. /help for commands, Ctrl+C to quit.`);
      this.#prompt();
    }
  }

  readonly #onInputError = (err: NodeJS.ErrnoException): void =>
    this.#off(`cannot read stdin (${err.code ?? err.message})`);

  /**
   * A terminal that went away (its window closed, the SSH session dropped) fails every write
   * with EIO. Unheard, each failure would be an uncaught exception whose log line clears the
   * prompt on the same terminal: a loop that floods the log and starves shutdown. The console
   * goes quiet instead; onebridge runs on (a hang-up also sends SIGHUP, which stops it).
   */
  readonly #onOutputError = (err: NodeJS.ErrnoException): void =>
    this.#off(`cannot write to the terminal (${err.code ?? err.message})`);

  /** Ends the console for good after an I/O error; the process keeps running. */
  #off(why: string): void {
    const rl = this.#rl;
    if (!rl || this.#dead) return;
    this.#dead = true;
    this.#rl = undefined;
    if (this.#opts.terminal) setTerminalGuard(undefined);
    this.#opts.logger.warn(`sandbox console off: ${why}; onebridge keeps running`);
    rl.close();
  }

  stop(): void {
    this.#opts.input.off('error', this.#onInputError);
    this.#opts.output.off('error', this.#onOutputError);
    this.#world.off('message', this.#onMessage);
    this.#world.off('notice', this.#onNotice);
    const rl = this.#rl;
    this.#rl = undefined;
    if (this.#opts.terminal) setTerminalGuard(undefined);
    rl?.close();
  }

  readonly #onMessage = (m: WorldMessage): void => {
    // On a terminal, what the console's user just typed is already on screen.
    if (this.#typing) return;
    const chat =
      m.group_id !== undefined ? `group ${m.group_id}` : `private → ${this.#world.displayName(m.to ?? 0)}(${m.to})`;
    this.#print(
      `[${chat}] #${m.message_id} ${this.#world.displayName(m.from, m.group_id)}(${m.from}): ${shorten(plainText(m.message))}`,
    );
  };

  readonly #onNotice = (n: WorldNotice): void => this.#print(`* ${n.text}`);

  #onLine(line: string): void {
    const text = line.trim();
    if (text === '') return this.#prompt();
    try {
      if (text.startsWith('/')) this.#command(text);
      else {
        this.#typing = this.#opts.terminal;
        const sent = this.#world.say(this.#as, this.#chat, toMessage(text));
        // The id /recall needs: the typed line is on screen already, without it.
        if (this.#opts.terminal) this.#print(`  sent #${sent.message_id}`);
      }
    } catch (err) {
      this.#print(`! ${err instanceof ActionError ? err.message : (err as Error).message}`);
    } finally {
      this.#typing = false;
    }
    this.#prompt();
  }

  #command(text: string): void {
    const [cmd, arg] = text.split(/\s+/, 2);
    const rest = text.split(/\s+/).slice(2).join(' ');
    const id = arg === undefined ? undefined : Number(arg);
    switch (cmd) {
      case '/help':
        return this.#print(`${HELP}\n${EXTENSION_HELP}`);
      case '/who':
        return this.#print(this.#directory());
      case '/quit':
      case '/exit':
        return this.#opts.onInterrupt();
      case '/as':
        if (id === undefined || !Number.isInteger(id))
          return this.#print(`! usage: /as <user_id>; users: ${[...this.#world.users.keys()].join(', ')}`);
        if (!this.#world.users.has(id))
          return this.#print(`! no such user ${id}; users: ${[...this.#world.users.keys()].join(', ')}`);
        this.#as = id;
        return this.#print(`you are now ${this.#who()}`);
      case '/group':
        if (id === undefined || !this.#world.groups.has(id))
          return this.#print(`! usage: /group <group_id>; groups: ${[...this.#world.groups.keys()].join(', ')}`);
        this.#chat = { group_id: id };
        return this.#print(`now talking in ${this.#where()}`);
      case '/private': {
        const bot = id ?? [...this.#world.bots.keys()][0];
        if (bot === undefined || !this.#world.bots.has(bot))
          return this.#print(`! usage: /private [bot_id]; bots: ${[...this.#world.bots.keys()].join(', ')}`);
        this.#chat = { to: bot };
        return this.#print(`now talking in ${this.#where()}`);
      }
      case '/recall':
        if (id === undefined || !Number.isInteger(id)) return this.#print('! usage: /recall <message_id>');
        this.#world.recall(this.#as, id);
        return;
      case '/poke':
        if (id === undefined || !this.#world.users.has(id)) return this.#print('! usage: /poke <user_id>');
        return this.#world.poke(this.#as, id, 'group_id' in this.#chat ? this.#chat.group_id : undefined);
      case '/request': {
        if (arg === 'friend') {
          const bot = 'to' in this.#chat ? this.#chat.to : [...this.#world.bots.keys()][0]!;
          const flag = this.#world.requestFriend(this.#as, bot, rest);
          return this.#print(`friend request sent (flag ${flag})`);
        }
        if (arg === 'group' && 'group_id' in this.#chat) {
          const flag = this.#world.requestJoin(this.#as, this.#chat.group_id, rest);
          return this.#print(`join request sent (flag ${flag})`);
        }
        return this.#print('! usage: /request friend [text], or /request group [text] while in a group');
      }
      default: {
        const said = extensionCommand(
          this.#world,
          this.#as,
          this.#chat,
          cmd ?? '',
          text.slice((cmd ?? '').length).trim(),
        );
        if (said === undefined) return this.#print(`! unknown command ${cmd}; /help lists them`);
        if (said) this.#print(said);
        return;
      }
    }
  }

  #who(): string {
    return `${this.#world.displayName(this.#as)}(${this.#as})`;
  }

  #where(): string {
    if ('group_id' in this.#chat)
      return `group ${this.#world.groups.get(this.#chat.group_id)?.group_name ?? ''}(${this.#chat.group_id})`;
    return `a private chat with bot ${this.#world.displayName(this.#chat.to)}(${this.#chat.to})`;
  }

  #directory(): string {
    const users = [...this.#world.users.values()].map(
      (u) => `${u.nickname}(${u.user_id})${this.#world.bots.has(u.user_id) ? ' [bot]' : ''}`,
    );
    const groups = [...this.#world.groups.values()].map(
      (g) =>
        `${g.group_name}(${g.group_id}): ${[...g.members.values()].map((m) => `${this.#world.displayName(m.user_id, g.group_id)}/${m.role}`).join(', ')}`,
    );
    return `users: ${users.join(', ')}\ngroups:\n  ${groups.join('\n  ')}`;
  }

  #prompt(): void {
    if (this.#opts.terminal && this.#rl) {
      this.#rl.setPrompt(
        `${this.#who()} @ ${'group_id' in this.#chat ? `group ${this.#chat.group_id}` : `bot ${this.#chat.to}`}> `,
      );
      this.#rl.prompt(true);
    }
  }

  #print(line: string): void {
    if (this.#dead) return;
    // On a terminal, clear the half-typed prompt line first, then redraw it below.
    this.#opts.output.write(this.#opts.terminal ? `\r\x1b[K${line}\n` : `${line}\n`);
    if (this.#opts.terminal && this.#rl) this.#rl.prompt(true);
  }
}
