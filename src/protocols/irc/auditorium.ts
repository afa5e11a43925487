/**
 * Joining auditorium channels so that presenters, not listeners, hold operator (host) status:
 * on IRCX a presenter CREATEs the channel with +x; with InspIRCd's +u the first presenter in sets
 * +u and ops the other presenters. A listener who finds no presenter hosting the channel (or
 * finds it created the channel itself) leaves and tries again later, so the auditorium opens
 * with its host instead of being held by listeners nobody can promote.
 */
import type { ChannelAssignment, VuEvents } from '../types.js';
import { AgentError } from '../errors.js';
import type { ChannelView } from './channels.js';
import type { ServerFeatures } from './features.js';

const MAX_ATTEMPTS = 8;

/**
 * What the policy needs from the user it joins for (the user implements it): its view of the
 * server and of its channels, and the joins, leaves and lines it may ask for.
 */
export interface AuditoriumMember {
  readonly nick: string;
  readonly endpoint: string;
  readonly features: ServerFeatures;
  readonly events: Pick<VuEvents, 'note'>;
  readonly channels: ReadonlyMap<string, ChannelView>;
  /** JOIN (or IRCX CREATE) resolved at the end of NAMES. */
  joinOnce(channel: ChannelAssignment, create: boolean): Promise<void>;
  /** Forgets a channel the user left. */
  dropChannel(key: string): void;
  /** Re-reads a channel's member list. */
  refreshNames(name: string): Promise<void>;
  send(line: string): void;
}

export class AuditoriumPolicy {
  /** Presenters waiting to be given operator status, by channel; created on the first (most users never wait). */
  private opWaiters: Map<string, { resolve: () => void; reject: (error: Error) => void }> | undefined;

  constructor(private readonly user: AuditoriumMember) {}

  async join(channel: ChannelAssignment): Promise<void> {
    const user = this.user;
    const mode = user.features.auditoriumMode;
    if (!channel.auditorium || mode === 'emulated') return user.joinOnce(channel, false);
    const key = channel.name.toLowerCase();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      await user.joinOnce(channel, mode === 'ircx' && channel.role === 'presenter');
      const view = user.channels.get(key);
      if (!view) continue;
      const self = user.nick;
      if (channel.role === 'presenter') {
        if (view.isOp(self)) {
          // Opped by the presenter hosting it before this ran: its MODE came in the same read as
          // the end of our NAMES (a busy host reads several lines at once), so gainedOp found no
          // waiter. That NAMES was taken while +u hid the listeners from us: read it again, or
          // every message we post counts them out (seen in CI: 10 of 92 recipients uncounted).
          if (mode === 'plus-u' && view.hasPresenterOp(self)) await user.refreshNames(channel.name);
          return this.host(view);
        }
        if (view.hasPresenterOp(self)) return this.waitForOp(key);
      } else if (!view.isOp(self)) {
        if (view.hasPresenterOp(self)) return;
        if (attempt === MAX_ATTEMPTS - 1) {
          // A server may hide hosts from listeners (InspIRCd opvisible=no): stay, and say so.
          user.events.note('irc:auditorium-hosts', `listeners in ${channel.name} cannot see a presenter hosting it; recipients of their questions are not counted`);
          return;
        }
      }
      // No presenter holds the channel, or we created it as a listener: leave so a presenter can open it.
      user.send(`PART ${channel.name}`);
      user.dropChannel(key);
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
    }
    throw new AgentError('auditorium-no-host', `no presenter opened ${channel.name} on ${user.endpoint}`, user.endpoint);
  }

  private host(view: ChannelView): void {
    const name = view.assignment!.name;
    if (this.user.features.auditoriumMode === 'plus-u' && !view.flags.includes('u')) {
      this.user.send(`MODE ${name} +u`);
      view.flags += 'u';
    }
    for (const presenter of view.presentersPresent(this.user.nick)) {
      if (!view.isOp(presenter)) this.user.send(`MODE ${name} +o ${presenter}`);
    }
  }

  private waitForOp(key: string): Promise<void> {
    return new Promise((resolve, reject) => (this.opWaiters ??= new Map()).set(key, { resolve, reject }));
  }

  /**
   * Another presenter gave us operator status. Members hidden from us until now (+u shows
   * listeners only to operators) become visible, so re-read NAMES before counting recipients.
   */
  gainedOp(view: ChannelView): void {
    const assignment = view.assignment;
    const waiter = assignment ? this.opWaiters?.get(assignment.name.toLowerCase()) : undefined;
    if (!assignment || !waiter) return;
    this.opWaiters!.delete(assignment.name.toLowerCase());
    this.user.refreshNames(assignment.name).then(() => {
      this.host(view);
      waiter.resolve();
    }, waiter.reject);
  }

  /** As a host, op presenters who arrive after us. */
  memberJoined(view: ChannelView, nick: string): void {
    const assignment = view.assignment;
    if (!assignment?.auditorium || !view.isOp(this.user.nick) || view.isOp(nick)) return;
    if (assignment.presenters.includes(nick)) this.user.send(`MODE ${assignment.name} +o ${nick}`);
  }
}
