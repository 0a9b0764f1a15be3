import { createHash } from 'node:crypto';
import { ActionError } from '../onebot/action-error.js';
import { Retcode } from '../onebot/types.js';

export interface StableIdsOptions {
  /**
   * Kept apart from every other namespace: the same name gives different ids in `irc:user`
   * and `irc:channel`. Include what makes a name unique (the network): `irc:libera:user`.
   */
  readonly namespace: string;
  /**
   * The platform's own equality, applied before hashing, so that names the platform treats as
   * one get one id: IRC's case mapping for nicks, lowercase domain for JIDs. Default: as is.
   */
  readonly normalize?: (name: string) => string;
  /** What an id stands for in error messages (`user_id`, `group_id`). Default `id`. */
  readonly what?: string;
}

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * OneBot ids (`user_id`, `group_id`) for platforms whose ids are strings (nicks, JIDs,
 * channels). An id is derived from the name (SHA-256 of namespace and normalized name,
 * reduced to 1..2^53-1), so it is the same after a restart with no store: a bot framework may
 * keep ids in its database. Collisions are checked within the process: a second name that
 * hashes to a taken id gets the next probe of its own hash instead (logged by the caller via
 * `collisions`); with 53 bits that takes hundreds of millions of names to be likely.
 *
 * The reverse lookup (`name(id)`) knows only names seen in this process: an action naming an
 * id never seen since start fails with retcode 100, as go-cqhttp answers an unknown target
 * (1404 is the spec's "no such action"). It does not bound memory; one entry per name seen.
 */
export class StableIds {
  readonly namespace: string;
  readonly #normalize: (name: string) => string;
  readonly #what: string;
  readonly #byName = new Map<string, number>();
  readonly #byId = new Map<number, string>();
  #collisions = 0;

  constructor(options: StableIdsOptions) {
    this.namespace = options.namespace;
    this.#normalize = options.normalize ?? ((n) => n);
    this.#what = options.what ?? 'id';
  }

  /** How many names had to move off their first id because another name held it. */
  get collisions(): number {
    return this.#collisions;
  }

  get size(): number {
    return this.#byId.size;
  }

  /** The id of `name` (remembered for `name(id)`). Same name, same id, in any process. */
  id(name: string): number {
    const key = this.#normalize(name);
    const known = this.#byName.get(key);
    if (known !== undefined) return known;
    for (let probe = 0; ; probe++) {
      const id = derive(this.namespace, key, probe);
      const holder = this.#byId.get(id);
      if (holder === undefined) {
        this.#byName.set(key, id);
        this.#byId.set(id, name);
        return id;
      }
      this.#collisions++;
    }
  }

  /** The name last seen for `id` (as the platform spelt it), or undefined if never seen. */
  name(id: number): string | undefined {
    return this.#byId.get(id);
  }

  /**
   * `name(id)`, or ActionError 100 (`Retcode.FAILED`) naming the id: for actions that target
   * one. Not 1404, which a client reads as the action itself missing.
   */
  require(id: number): string {
    const name = this.#byId.get(id);
    if (name === undefined)
      throw new ActionError(Retcode.FAILED, `unknown ${this.#what} ${id} (not seen since onebridge started)`);
    return name;
  }

  /** Forgets nothing but updates how `id` is spelt (an IRC nick change keeps its case). */
  respell(name: string): number {
    const id = this.id(name);
    this.#byId.set(id, name);
    return id;
  }
}

function derive(namespace: string, key: string, probe: number): number {
  const digest = createHash('sha256')
    .update(namespace)
    .update('\0')
    .update(key)
    .update(probe ? `\0${probe}` : '')
    .digest();
  const n = Number(digest.readBigUInt64BE(0) % MAX) + 1;
  return n;
}
