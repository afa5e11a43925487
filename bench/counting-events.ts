/** A VuEvents sink for benchmarks that drive agents directly: it counts what a run would report, nothing else. */
import type { VuEvents } from '../src/protocols/types.js';

export interface EventCounts {
  retransmissions: number;
  errors: number;
}

export function countingEvents(): { readonly events: VuEvents; readonly counts: EventCounts } {
  const counts: EventCounts = { retransmissions: 0, errors: 0 };
  const events: VuEvents = {
    bytes: () => undefined,
    message: () => undefined,
    presence: () => undefined,
    metric: (name, value) => void (name === 'retransmissions' && (counts.retransmissions += value)),
    error: () => void counts.errors++,
    disconnected: () => undefined,
    note: () => undefined,
  };
  return { events, counts };
}
