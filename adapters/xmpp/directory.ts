import { ActionError, Retcode, StableIds, type Sender } from '../../src/kit/index.js';
import type { Occupant, Room } from './room.js';
import { localPart, parseJid, roleOf, type RosterItem } from './stanza.js';

/** JIDs compare case-insensitively in local and domain parts; a resource (room nick) as is. */
function normalizeAddress(address: string): string {
  const { bare, resource } = parseJid(address);
  return resource ? `${bare}/${resource}` : bare;
}

/**
 * Who and where, for one XMPP account: OneBot ids for JIDs, the rooms it is in, its roster.
 *
 * `user_id` is derived (kit `StableIds`, namespace `xmpp:user`) from a person's bare real JID
 * (`alice@example.org`) when it is known: always in a direct chat, and in a room that shows
 * real JIDs to the bot (non-anonymous rooms, or the bot is a moderator). Otherwise it is
 * derived from the occupant's room JID and nick (`room@conference.example.org/Alice`), so it
 * changes with the nick. `group_id` is derived from the room's bare JID (namespace `xmpp:room`).
 * The bot's own id, when `self_id` is not configured, is the user_id of its bare JID.
 */
export class Directory {
  readonly users = new StableIds({ namespace: 'xmpp:user', normalize: normalizeAddress, what: 'user_id' });
  readonly groups = new StableIds({ namespace: 'xmpp:room', normalize: (jid) => jid.toLowerCase(), what: 'group_id' });
  readonly rooms = new Map<string, Room>();
  readonly roster = new Map<string, RosterItem>();
  /** The bot's bare JID. */
  readonly self: string;

  constructor(self: string) {
    this.self = self.toLowerCase();
  }

  /** The address a user_id stands for: a person's bare JID or an occupant's `room/nick`. */
  occupantKey(room: Room, o: Occupant): string {
    return o.realJid ?? `${room.jid}/${o.nick}`;
  }

  occupantId(room: Room, o: Occupant): number {
    return this.users.id(this.occupantKey(room, o));
  }

  groupId(room: Room): number {
    return this.groups.id(room.jid);
  }

  /** The room of a group_id the bot was configured for or joined; 100 naming the id otherwise. */
  room(groupId: number): Room {
    const jid = this.groups.require(groupId);
    const room = this.rooms.get(jid.toLowerCase());
    if (!room) throw new ActionError(Retcode.FAILED, `group ${groupId} (${jid}) is not a room of this account`);
    return room;
  }

  /** The room the bot is in now; 100 while it is joining, after it left or was kicked. */
  joinedRoom(groupId: number): Room {
    const room = this.room(groupId);
    if (room.state !== 'joined')
      throw new ActionError(
        Retcode.FAILED,
        `not in room ${room.jid} (${room.state === 'joining' ? 'still joining' : 'left or removed'})`,
      );
    return room;
  }

  /** The occupant of `room` whose user_id is `userId`, if present. */
  occupant(room: Room, userId: number): Occupant | undefined {
    for (const o of room.occupants.values()) if (this.occupantId(room, o) === userId) return o;
    return undefined;
  }

  /** Where a private message to `userId` goes: a bare JID, or an occupant's `room/nick`. */
  address(userId: number): string {
    return this.users.require(userId);
  }

  /** The name a person shows: their nick in `room`, their roster name, else the JID's local part. */
  nameOf(userId: number, room?: Room): string | undefined {
    if (room) {
      const o = this.occupant(room, userId);
      if (o) return o.nick;
    }
    const key = this.users.name(userId);
    if (key === undefined) return undefined;
    const { bare, resource } = parseJid(key);
    if (resource && this.rooms.has(bare)) return resource;
    return this.roster.get(bare)?.name ?? localPart(bare);
  }

  /** OneBot `sender` of a room message. */
  groupSender(room: Room, o: Occupant): Sender {
    return {
      user_id: this.occupantId(room, o),
      nickname: o.nick,
      card: o.nick,
      role: roleOf(o.affiliation),
      sex: 'unknown',
      age: 0,
      title: '',
    };
  }

  /** Whether `bare` is a contact the bot shares presence with (a OneBot friend). */
  isFriend(bare: string): boolean {
    const s = this.roster.get(bare)?.subscription;
    return s === 'both' || s === 'from' || s === 'to';
  }
}
