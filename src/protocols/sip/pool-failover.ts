/**
 * Requests a pool's dispatcher re-sent to another front end (kamailio-pool lab, a front end
 * down): their replies carry `X-Imload-Retried` (pool-config.ts). Each method the dispatcher
 * routes out of dialog has its own `retry` metric, so a fault's report names who was retried and
 * in which transaction. A request retried and then refused is not counted here: its failure is
 * its one outcome, booked where the caller judges it.
 */
import type { VuEvents } from '../types.js';
import type { SipResponse } from './message.js';
import { RETRIED_HEADER } from './pool-config.js';

/** The out-of-dialog methods that cross the dispatcher, and the counter of each one's failovers. */
const FAILOVER_METRICS = {
  REGISTER: 'poolFailoverRegister',
  PUBLISH: 'poolFailoverPublish',
  SUBSCRIBE: 'poolFailoverSubscribe',
  MESSAGE: 'poolFailoverMessage',
  INVITE: 'poolFailoverInvite',
} as const;

export type FailoverMethod = keyof typeof FAILOVER_METRICS;

/** The descriptor's declarations of the failover counters. */
export const poolFailoverMetrics = Object.entries(FAILOVER_METRICS).map(([method, name]) => ({
  name,
  kind: 'counter' as const,
  unit: 'count',
  description: `${method} requests the pool's dispatcher re-sent to another front end after the first did not answer, and that then succeeded; counted by the sender (kamailio-pool lab, a front end down)`,
  retry: true,
}));

/** Counts a successful final response to a request the dispatcher re-sent. */
export function countPoolFailover(events: VuEvents, method: FailoverMethod, response: SipResponse): void {
  if (response.status >= 200 && response.status < 300 && response.headers.get(RETRIED_HEADER) !== undefined) {
    events.metric(FAILOVER_METRICS[method], 1);
  }
}
