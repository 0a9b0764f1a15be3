import { roleOf, type Affiliation, type OccupantPresence } from './stanza.js';

/** Someone in a room, as its presences describe them. */
export interface Occupant {
  nick: string;
  /** Bare real JID when the room shows it to us (non-anonymous rooms, or we moderate). */
  realJid: string | undefined;
  affiliation: Affiliation;
  role: string;
  /** Unix seconds: when we saw them arrive (or when we joined, for those already there). */
  joinedAt: number;
  /** Unix seconds of their last message we saw; 0 = none. */
  lastSentAt: number;
}

/** What a presence changed in a room, for the adapter to turn into OneBot notices. */
export type RoomChange =
  | { readonly kind: 'joined' }
  | { readonly kind: 'join-failed'; readonly error: string }
  | { readonly kind: 'increase'; readonly occupant: Occupant }
  | { readonly kind: 'decrease'; readonly occupant: Occupant; readonly kicked: boolean; readonly actor: string | undefined }
  | { readonly kind: 'removed'; readonly kicked: boolean; readonly actor: string | undefined; readonly by: Occupant | undefined }
  | { readonly kind: 'admin'; readonly occupant: Occupant; readonly set: boolean };

export type RoomState = 'joining' | 'joined' | 'left';

/**
 * One multi-user chat room (XEP-0045) the bot is in: its occupants and our place in it.
 * Presences that arrive before our own (status 110) are the occupants already there: they are
 * recorded, not reported, so joining (and rejoining after a reconnect) raises no notices.
 * A nick change (303) is a rename, not a leave and a join.
 */
export class Room {
  readonly jid: string;
  readonly password: string | undefined;
  /** Our nick in the room (the room may change it, e.g. to resolve a conflict). */
  nick: string;
  /** The room's name from disco#info, when known. */
  name: string | undefined;
  state: RoomState = 'joining';
  /** False once the bot left (set_group_leave) or was kicked: not rejoined after a reconnect. */
  wanted = true;
  readonly occupants = new Map<string, Occupant>();
  /** Unix seconds when we (last) joined. */
  joinedAt = 0;
  /** Our own affiliation (decides whether we may kick). */
  affiliation: Affiliation = 'none';
  selfRole = 'none';

  constructor(jid: string, nick: string, password?: string) {
    this.jid = jid;
    this.nick = nick;
    this.password = password;
  }

  /** Joins tried with another nick after a conflict, since the last successful join. */
  nickRetries = 0;

  /** Another try after a refused join (nick conflict): with `nick`, silently like the first. */
  retryAs(nick: string): void {
    this.nick = nick;
    this.nickRetries++;
    this.state = 'joining';
    this.occupants.clear();
  }

  /** The link dropped: we are no longer in the room; the next join starts over silently. */
  reset(): void {
    this.state = this.wanted ? 'joining' : 'left';
    this.occupants.clear();
  }

  /** Applies one occupant presence; returns what it changed that is worth reporting. */
  apply(p: OccupantPresence, now: number): RoomChange[] {
    if (p.error !== undefined) {
      if (this.state !== 'joining') return [];
      this.state = 'left';
      return [{ kind: 'join-failed', error: p.error }];
    }
    const self = p.codes.has('110') || (this.state === 'joining' && p.nick === this.nick);
    if (self) return this.#applySelf(p, now);
    const known = this.occupants.get(p.nick);
    if (!p.available) {
      if (!known) return [];
      this.occupants.delete(p.nick);
      if (p.codes.has('303') && p.newNick) {
        known.nick = p.newNick;
        this.occupants.set(p.newNick, known);
        return [];
      }
      if (this.state !== 'joined') return [];
      const kicked = p.codes.has('307') || p.codes.has('301');
      return [{ kind: 'decrease', occupant: known, kicked, actor: p.actor }];
    }
    if (known) {
      const before = roleOf(known.affiliation);
      known.affiliation = p.affiliation;
      known.role = p.role;
      known.realJid ??= p.realJid;
      const after = roleOf(p.affiliation);
      if (this.state === 'joined' && before !== after && (before === 'admin' || after === 'admin')) return [{ kind: 'admin', occupant: known, set: after === 'admin' }];
      return [];
    }
    const occupant: Occupant = { nick: p.nick, realJid: p.realJid, affiliation: p.affiliation, role: p.role, joinedAt: now, lastSentAt: 0 };
    this.occupants.set(p.nick, occupant);
    return this.state === 'joined' ? [{ kind: 'increase', occupant }] : [];
  }

  #applySelf(p: OccupantPresence, now: number): RoomChange[] {
    this.affiliation = p.affiliation;
    this.selfRole = p.role;
    if (!p.available) {
      if (p.codes.has('303') && p.newNick) {
        this.nick = p.newNick;
        return [];
      }
      const was = this.state;
      const by = p.actor === undefined ? undefined : this.occupants.get(p.actor);
      this.state = 'left';
      this.occupants.clear();
      if (was === 'left') return [];
      const kicked = p.codes.has('307') || p.codes.has('301');
      if (kicked) this.wanted = false;
      return [{ kind: 'removed', kicked, actor: p.actor, by }];
    }
    // The room may have changed our nick (status 210): its presence names the one we have.
    this.nick = p.nick;
    if (this.state === 'joined') return [];
    this.state = 'joined';
    this.joinedAt = now;
    this.nickRetries = 0;
    return [{ kind: 'joined' }];
  }

  /** The occupant with this real JID, if the room shows real JIDs and they are here. */
  byRealJid(bare: string): Occupant | undefined {
    for (const o of this.occupants.values()) if (o.realJid === bare) return o;
    return undefined;
  }
}
