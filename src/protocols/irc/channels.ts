/**
 * Channel membership as the users see it, kept from NAMES, JOIN, PART, KICK, QUIT, NICK and
 * MODE. The sender's view decides how many recipients a message should reach, which is what the
 * delivery check compares against.
 *
 * Every member receives the same JOINs and QUITs, so the users of one worker share one roster
 * per channel and update it idempotently: memory grows with the members of a channel, not with
 * their square (a 5,000-member channel would otherwise cost 25 million set entries).
 */
import type { ChannelAssignment } from '../types.js';
import type { ErrorKind } from '../errors.js';
import type { ServerFeatures } from './features.js';

/** Numerics that refuse a JOIN (params[1] is the channel). */
export const JOIN_ERRORS: Readonly<Record<string, ErrorKind>> = {
  '403': 'join-refused',
  '405': 'join-refused',
  '437': 'join-refused',
  '471': 'channel-full',
  '473': 'join-refused',
  '474': 'banned',
  '475': 'join-refused',
  '477': 'join-refused',
  '489': 'join-refused',
};

/**
 * Servers per roster: a server's two bits (member, operator) must keep a nick's value a small
 * integer (V8 Smi, 31 bits) for cheap map values.
 */
export const SERVERS_PER_ROSTER = 15;

/**
 * One channel's members as the users of each server see them. On a linked network every
 * server shows the same members except during a netsplit (each side then loses the other's), so
 * a nick is held once with a bit per server whose users see it — not once per server: at 100,000
 * users on six servers that was ~55 roster entries per user, a copy of the nick in each.
 */
export class ChannelRoster {
  /**
   * nick → the servers whose users see it in the channel (bit i: server i of the group) and see
   * it as an operator (bit SERVERS_PER_ROSTER + i). One map for both: most rosters are small,
   * and a map per roster is the larger part of a small one.
   */
  private readonly nicks = new Map<string, number>();
  /** Per server i: members at [i], operators at [servers + i], local subscribers at [2·servers + i]. */
  private readonly counts: number[];
  /** Channel flag modes per server; absent while every server's are empty. */
  private flagsByServer: string[] | undefined;

  constructor(private readonly servers: number) {
    this.counts = new Array<number>(3 * servers).fill(0);
  }

  hasMember(server: number, nick: string): boolean {
    return ((this.nicks.get(nick) ?? 0) & (1 << server)) !== 0;
  }

  hasOp(server: number, nick: string): boolean {
    return ((this.nicks.get(nick) ?? 0) & (1 << (SERVERS_PER_ROSTER + server))) !== 0;
  }

  memberCount(server: number): number {
    return this.counts[server]!;
  }

  opCount(server: number): number {
    return this.counts[this.servers + server]!;
  }

  /** The channel's operators as one server's users see them. */
  *opsOf(server: number): Iterable<string> {
    const bit = 1 << (SERVERS_PER_ROSTER + server);
    for (const [nick, seen] of this.nicks) if (seen & bit) yield nick;
  }

  addMember(server: number, nick: string): void {
    this.set(server, server, nick);
  }

  addOp(server: number, nick: string): void {
    this.set(SERVERS_PER_ROSTER + server, this.servers + server, nick);
  }

  removeMember(server: number, nick: string): boolean {
    return this.unset(server, server, nick);
  }

  removeOp(server: number, nick: string): boolean {
    return this.unset(SERVERS_PER_ROSTER + server, this.servers + server, nick);
  }

  flags(server: number): string {
    return this.flagsByServer?.[server] ?? '';
  }

  setFlags(server: number, value: string): void {
    if (value === '' && !this.flagsByServer) return;
    this.flagsByServer ??= new Array<string>(this.servers).fill('');
    this.flagsByServer[server] = value;
  }

  /** Local users in the channel on one server; at zero nobody keeps that server's view current. */
  subscribers(server: number): number {
    return this.counts[2 * this.servers + server]!;
  }

  subscribe(server: number, change: 1 | -1): void {
    this.counts[2 * this.servers + server]! += change;
  }

  /** Forgets what one server's users saw (stale once none of them was in the channel). */
  clear(server: number): void {
    for (const nick of [...this.nicks.keys()]) {
      this.removeMember(server, nick);
      this.removeOp(server, nick);
    }
    this.setFlags(server, '');
  }

  private set(bitIndex: number, countIndex: number, nick: string): void {
    const seen = this.nicks.get(nick) ?? 0;
    const bit = 1 << bitIndex;
    if (seen & bit) return;
    this.nicks.set(nick, seen | bit);
    this.counts[countIndex]!++;
  }

  private unset(bitIndex: number, countIndex: number, nick: string): boolean {
    const seen = this.nicks.get(nick);
    const bit = 1 << bitIndex;
    if (seen === undefined || (seen & bit) === 0) return false;
    if (seen === bit) this.nicks.delete(nick);
    else this.nicks.set(nick, seen & ~bit);
    this.counts[countIndex]!--;
    return true;
  }
}

/**
 * The rosters of one worker's users, by lower-cased channel name, for a group of up to
 * SERVERS_PER_ROSTER servers of a network (the agent makes one group per 15 servers).
 */
export class SharedRosters {
  private readonly rosters = new Map<string, ChannelRoster>();

  constructor(private readonly servers: number) {
    if (servers < 1 || servers > SERVERS_PER_ROSTER) throw new RangeError(`a roster group holds 1-${SERVERS_PER_ROSTER} servers, not ${servers}`);
  }

  acquire(key: string, server: number): ChannelRoster {
    let roster = this.rosters.get(key);
    if (!roster) this.rosters.set(key, (roster = new ChannelRoster(this.servers)));
    // Nobody local on this server was in the channel: what it holds is stale; NAMES refills it.
    if (roster.subscribers(server) === 0) roster.clear(server);
    roster.subscribe(server, 1);
    return roster;
  }

  release(key: string, server: number): void {
    const roster = this.rosters.get(key);
    if (roster && roster.subscribers(server) > 0) roster.subscribe(server, -1);
  }
}

/** A user's channel, seen through its own server's bit of the worker's shared roster. */
export class ChannelView {
  /** NAMES replies collected until 366. */
  collecting = true;
  private readonly roster: ChannelRoster;
  private released = false;

  constructor(
    readonly assignment: ChannelAssignment | undefined,
    private readonly rosters: SharedRosters,
    private readonly key: string,
    /** The user's server within the roster group (0 on a single server). */
    private readonly server: number,
  ) {
    this.roster = rosters.acquire(key, server);
  }

  hasMember(nick: string): boolean {
    return this.roster.hasMember(this.server, nick);
  }

  addMember(nick: string): void {
    this.roster.addMember(this.server, nick);
  }

  isOp(nick: string): boolean {
    return this.roster.hasOp(this.server, nick);
  }

  get flags(): string {
    return this.roster.flags(this.server);
  }

  set flags(value: string) {
    this.roster.setFlags(this.server, value);
  }

  /**
   * This user left the channel (or the server). It takes itself out of the roster: where the
   * server hides departures (auditorium listeners), nobody else would.
   */
  release(self: string): void {
    if (this.released) return;
    this.released = true;
    this.remove(self);
    this.rosters.release(this.key, this.server);
  }

  /** Adds one NAMES entry like `@nick`, `.nick` (IRCX owner) or `+nick`. */
  addName(entry: string, features: ServerFeatures): void {
    let i = 0;
    let op = false;
    while (i < entry.length && (features.prefixSymbols.includes(entry[i]!) || entry[i] === '.')) {
      const symbol = entry[i]!;
      // Owner (~ or IRCX .), admin (&) and op (@) all receive STATUSMSG @ messages.
      if (symbol === '@' || symbol === '~' || symbol === '&' || symbol === '.') op = true;
      i++;
    }
    const nick = entry.slice(i);
    if (nick === '') return;
    this.addMember(nick);
    if (op) this.roster.addOp(this.server, nick);
  }

  remove(nick: string): void {
    this.roster.removeMember(this.server, nick);
    this.roster.removeOp(this.server, nick);
  }

  rename(from: string, to: string): void {
    if (this.roster.removeMember(this.server, from)) this.addMember(to);
    if (this.roster.removeOp(this.server, from)) this.roster.addOp(this.server, to);
  }

  /**
   * Applies a channel MODE change; returns the nicks that gained operator status. Parameters
   * are consumed per the server's CHANMODES and PREFIX so later arguments stay aligned.
   */
  applyMode(modes: string, args: readonly string[], features: ServerFeatures): string[] {
    let adding = true;
    let next = 0;
    const opped: string[] = [];
    for (const letter of modes) {
      if (letter === '+' || letter === '-') {
        adding = letter === '+';
        continue;
      }
      const prefixIndex = features.prefixModes.indexOf(letter);
      if (prefixIndex !== -1 || letter === 'q') {
        const nick = args[next++];
        if (nick === undefined) continue;
        const symbol = features.prefixSymbols[prefixIndex] ?? '~';
        if (symbol === '@' || symbol === '~' || symbol === '&') {
          if (adding) {
            this.roster.addOp(this.server, nick);
            opped.push(nick);
          } else this.roster.removeOp(this.server, nick);
        }
        continue;
      }
      if ((adding ? features.paramOnSet : features.paramOnUnset).includes(letter)) {
        next++;
        continue;
      }
      if (adding && !this.flags.includes(letter)) this.flags += letter;
      else if (!adding) this.flags = this.flags.replace(letter, '');
    }
    return opped;
  }

  /** Recipients of a message to the whole channel, as this user sees it. */
  othersCount(self: string): number {
    return this.roster.memberCount(this.server) - (this.hasMember(self) ? 1 : 0);
  }

  opsOtherThan(self: string): number {
    return this.roster.opCount(this.server) - (this.isOp(self) ? 1 : 0);
  }

  presentersPresent(self: string): string[] {
    return (this.assignment?.presenters ?? []).filter((p) => p !== self && this.hasMember(p));
  }

  /** An operator who is one of the channel's presenters (not a listener who created it). */
  hasPresenterOp(self: string): boolean {
    const presenters = this.assignment?.presenters ?? [];
    for (const op of this.roster.opsOf(this.server)) if (op !== self && presenters.includes(op)) return true;
    return false;
  }
}

const CHANNEL_START = '#&+!';

/** Whether a target names a channel, after any STATUSMSG prefix (e.g. `@#room`). */
export function channelName(target: string, features: ServerFeatures): string | undefined {
  let i = 0;
  while (i < target.length && features.statusmsg.includes(target[i]!)) i++;
  const rest = target.slice(i);
  return CHANNEL_START.includes(rest[0] ?? '') || rest.startsWith('%#') || rest.startsWith('%&') ? rest : undefined;
}
