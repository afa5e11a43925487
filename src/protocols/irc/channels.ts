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

export class ChannelRoster {
  readonly members = new Set<string>();
  readonly ops = new Set<string>();
  flags = '';
  /** Local users in the channel; at zero nobody keeps the roster current. */
  subscribers = 0;
}

/** The rosters of one worker's users, by lower-cased channel name. */
export class SharedRosters {
  private readonly rosters = new Map<string, ChannelRoster>();

  acquire(key: string): ChannelRoster {
    let roster = this.rosters.get(key);
    if (!roster) this.rosters.set(key, (roster = new ChannelRoster()));
    if (roster.subscribers === 0) {
      // Nobody local was in the channel: what the roster holds is stale; NAMES refills it.
      roster.members.clear();
      roster.ops.clear();
      roster.flags = '';
    }
    roster.subscribers++;
    return roster;
  }

  release(key: string): void {
    const roster = this.rosters.get(key);
    if (roster && roster.subscribers > 0) roster.subscribers--;
  }
}

export class ChannelView {
  /** NAMES replies collected until 366. */
  collecting = true;
  private readonly roster: ChannelRoster;
  private released = false;

  constructor(
    readonly assignment: ChannelAssignment | undefined,
    private readonly rosters: SharedRosters,
    private readonly key: string,
  ) {
    this.roster = rosters.acquire(key);
  }

  get members(): Set<string> {
    return this.roster.members;
  }

  get ops(): Set<string> {
    return this.roster.ops;
  }

  get flags(): string {
    return this.roster.flags;
  }

  set flags(value: string) {
    this.roster.flags = value;
  }

  /**
   * This user left the channel (or the server). It takes itself out of the roster: where the
   * server hides departures (auditorium listeners), nobody else would.
   */
  release(self: string): void {
    if (this.released) return;
    this.released = true;
    this.roster.members.delete(self);
    this.roster.ops.delete(self);
    this.rosters.release(this.key);
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
    this.members.add(nick);
    if (op) this.ops.add(nick);
  }

  remove(nick: string): void {
    this.members.delete(nick);
    this.ops.delete(nick);
  }

  rename(from: string, to: string): void {
    if (this.members.delete(from)) this.members.add(to);
    if (this.ops.delete(from)) this.ops.add(to);
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
            this.ops.add(nick);
            opped.push(nick);
          } else this.ops.delete(nick);
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
    return this.members.size - (this.members.has(self) ? 1 : 0);
  }

  opsOtherThan(self: string): number {
    return this.ops.size - (this.ops.has(self) ? 1 : 0);
  }

  presentersPresent(self: string): string[] {
    return (this.assignment?.presenters ?? []).filter((p) => p !== self && this.members.has(p));
  }

  /** An operator who is one of the channel's presenters (not a listener who created it). */
  hasPresenterOp(self: string): boolean {
    const presenters = this.assignment?.presenters ?? [];
    for (const op of this.ops) if (op !== self && presenters.includes(op)) return true;
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
