/**
 * Bandwidth per user the byte model of `imload simulate` predicts for the plan's workload, over a
 * working day: shown beside the documented or measured figure the WAN check uses, so a planner
 * sees what a heavier or lighter workload would cost.
 */
import { DESCRIPTORS } from '../protocols/registry.js';
import type { PlanFile } from './plan-input.js';

export interface ModelledBandwidth {
  readonly protocol: string;
  readonly kbpsPerUser: number;
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
  return IM_PROTOCOLS.map(({ name: protocol, byteModel: m }) => {
    const seconds = sessionHours * 3600;
    // A user is, on average, watched by as many users as it watches.
    const perHour = messagesPerHour * (m.message + m.messageDelivery) + presenceChangesPerHour * (m.presenceChange + contacts * m.presenceNotify);
    const timers = m.timers.reduce((sum, t) => sum + (t.bytes + t.bytesPerContact * contacts) * (seconds / t.everySeconds), 0);
    const session = m.logon + contacts * m.logonPerContact + m.logoff + contacts * m.logoffPerContact;
    const bytes = session + perHour * sessionHours + timers;
    return {
      protocol,
      kbpsPerUser: (bytes * 8) / 1000 / seconds,
      basis: `${protocol} byte model (${m.fittedAgainst}) at ${messagesPerHour} messages and ${presenceChangesPerHour} presence changes an hour, ${contacts} contacts, over ${sessionHours} h online`,
    };
  });
}
