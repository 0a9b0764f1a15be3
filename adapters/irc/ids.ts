import { createHash } from 'node:crypto';
import { foldCase } from './protocol.js';

/**
 * OneBot ids for IRC names. PROVISIONAL: replaced by the platform kit's ids once merged.
 */
export class IrcIds {
  readonly #users = new Map<number, string>();
  readonly #groups = new Map<number, string>();

  static derive(kind: string, key: string): number {
    const digest = createHash('sha256').update(`irc:${kind}:${key}`).digest();
    return digest.readUIntBE(0, 6) + 1;
  }

  selfId(nick: string): number {
    return IrcIds.derive('user', foldCase(nick));
  }

  user(nick: string, key: string): number {
    const id = IrcIds.derive('user', key);
    this.#users.set(id, nick);
    return id;
  }

  group(name: string, key: string): number {
    const id = IrcIds.derive('group', key);
    this.#groups.set(id, name);
    return id;
  }

  nickOf(id: number): string | undefined {
    return this.#users.get(id);
  }

  channelOf(id: number): string | undefined {
    return this.#groups.get(id);
  }
}
