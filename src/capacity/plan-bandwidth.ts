/**
 * Bandwidth per user the byte model of `imload simulate` predicts for the plan's workload, over a
 * working day: shown beside the documented or measured figure the WAN check uses, so a planner
 * sees what a heavier or lighter workload would cost.
 */
import { DESCRIPTORS } from '../protocols/registry.js';
import type { PlanFile } from './plan-input.js';
import { crossingBytes } from './crossing.js';

export interface ModelledBandwidth {
  readonly protocol: string;
  /** The plan role whose servers this protocol's users reach (the descriptor's planRole). */
  readonly planRole?: string;
  readonly kbpsPerUser: number;
  /**
   * What crosses a site's WAN link when the site has a server of its own, per user whose contacts
   * are all elsewhere, over the user's bytes when the servers are central (so it may exceed 1).
   * Each subscription, unsubscription, renewal, message and presence notification between a
   * user here and a contact elsewhere crosses the link once, whichever side started it: by
   * symmetry as many come in from elsewhere as go out. Logon, logoff, the own presence
   * change and the lease refresh stay between a user and its server, on the site's LAN.
   */
  readonly crossingShare: number;
  /** Bytes per user over one session of `sessionHours`: all of them, and the parts above. */
  readonly session: SessionBytes;
  /** What the figure is and where its constants come from. */
  readonly basis: string;
}

export interface SessionBytes {
  /** Everything a user's client sends and receives with the servers central. */
  readonly total: number;
  /** Of it, the protocol's timers (lease refreshes, renewals): they run on wall time. */
  readonly timers: number;
  /** What crosses the link of a site with its own server, contacts all elsewhere (crossingShare × total). */
  readonly crossing: number;
  /** Of it, the timers' part (renewals of subscriptions to contacts elsewhere, both ways). */
  readonly crossingTimers: number;
}

/**
 * The protocols whose users keep contact lists with presence and send instant messages, the
 * workload a plan describes; chat traffic depends on channel layout, which a plan does not.
 */
const IM_PROTOCOLS = DESCRIPTORS.filter((d) => d.capabilities.presence && d.capabilities.instantMessages);

export function modelledBandwidth(workload: PlanFile['workload']): ModelledBandwidth[] {
  const { messagesPerHour, presenceChangesPerHour, contacts, sessionHours } = workload;
  return IM_PROTOCOLS.map(({ name: protocol, byteModel: m, planRole }) => {
    const seconds = sessionHours * 3600;
    // A user is, on average, watched by as many users as it watches.
    const perHour = messagesPerHour * (m.message + m.messageDelivery) + presenceChangesPerHour * (m.presenceChange + contacts * m.presenceNotify);
    const timers = m.timers.reduce((sum, t) => sum + (t.bytes + t.bytesPerContact * contacts) * (seconds / t.everySeconds), 0);
    const session = m.logon + contacts * m.logonPerContact + m.logoff + contacts * m.logoffPerContact;
    const bytes = session + perHour * sessionHours + timers;
    // One copy of each exchange with a contact elsewhere, out and in (by symmetry as many of each
    // come in as go out): the sender's request (a message travels on as the same request), one
    // notification per watcher, as servers relay it.
    const crossingTimers = 2 * m.timers.reduce((sum, t) => sum + t.bytesPerContact * contacts * (seconds / t.everySeconds), 0);
    const crossing = crossingBytes({ subscriptions: 2 * contacts, messages: 2 * messagesPerHour * sessionHours, notifications: 2 * presenceChangesPerHour * contacts * sessionHours }, m) + crossingTimers;
    return {
      protocol,
      planRole,
      kbpsPerUser: (bytes * 8) / 1000 / seconds,
      crossingShare: bytes > 0 ? crossing / bytes : 0,
      session: { total: bytes, timers, crossing, crossingTimers },
      basis: `${protocol} byte model (${m.fittedAgainst}) at ${messagesPerHour} messages and ${presenceChangesPerHour} presence changes an hour, ${contacts} contacts, over ${sessionHours} h online`,
    };
  });
}
