/**
 * Bandwidth per user the byte model of `imload simulate` predicts for the plan's workload, over a
 * working day: shown beside the documented or measured figure the WAN check uses, so a planner
 * sees what a heavier or lighter workload would cost.
 */
import { DESCRIPTORS } from '../protocols/registry.js';
import type { PlanFile } from './plan-input.js';

export interface ModelledBandwidth {
  readonly protocol: string;
  /** The plan role whose servers this protocol's users reach (the descriptor's planRole). */
  readonly planRole?: string;
  readonly kbpsPerUser: number;
  /**
   * Share of the bytes that are messages and presence changes (sends, deliveries, notifications to
   * watchers): what crosses a WAN link to users at other sites when the site's users have a server
   * of their own. Logon, logoff, subscriptions and refresh timers stay between a user and its server.
   */
  readonly interactiveShare: number;
  /** What the figure is and where its constants come from. */
  readonly basis: string;
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
    return {
      protocol,
      planRole,
      kbpsPerUser: (bytes * 8) / 1000 / seconds,
      interactiveShare: bytes > 0 ? (perHour * sessionHours) / bytes : 0,
      basis: `${protocol} byte model (${m.fittedAgainst}) at ${messagesPerHour} messages and ${presenceChangesPerHour} presence changes an hour, ${contacts} contacts, over ${sessionHours} h online`,
    };
  });
}
