/**
 * Which scheduled presence change a watcher's notification reports, from what every protocol
 * carries as standard content: the contact, the state it now shows, and the order of changes.
 * The schedule is seeded, so each presentity's sequence of (time, state) changes is known in
 * every worker without any property of our own reaching the watcher (a server that relays the
 * presence state alone, without the note imload set).
 */
import type { PresenceState, VuIdentity } from '../protocols/types.js';
import type { WorkloadPlan } from '../scenarios/schedule.js';

interface ScheduledChange {
  /** ms from run start */
  readonly at: number;
  readonly state: PresenceState;
}

/** Each presentity's scheduled changes, computed once per worker on first use. */
class PresenceTimeline {
  private readonly changes = new Map<number, readonly ScheduledChange[]>();

  constructor(private readonly plan: WorkloadPlan) {}

  changesOf(index: number): readonly ScheduledChange[] {
    let list = this.changes.get(index);
    if (list === undefined) {
      const found: ScheduledChange[] = [];
      // Scripted users change presence when their flow says, not by the schedule.
      if (this.plan.groupOf(index) === undefined) {
        const activity = this.plan.activity(index, this.plan.identity(index));
        for (let action = activity.next(); action !== undefined; action = activity.next()) {
          if (action.kind === 'presence') found.push({ at: action.at, state: action.state });
        }
      }
      list = found;
      this.changes.set(index, list);
    }
    return list;
  }
}

const timelines = new WeakMap<WorkloadPlan, PresenceTimeline>();

/**
 * One watcher's view: for each contact, the changes already accounted for. One lives per user for
 * the whole run, so it keeps the user's own contact list and creates its two tables only when a
 * change is first matched: as three Maps (one of twenty contacts) it took about 1.3 KB a user.
 */
export class PresenceCorrelator {
  private readonly timeline: PresenceTimeline;
  /** The population indices of `identity.contacts`, position for position. */
  private readonly contactIndices: readonly number[];
  /** Per contact index: position after the last change matched. */
  private next: Map<number, number> | undefined;
  /**
   * Per contact index: the scheduled time of the last change a stamp identified. Kept apart from
   * `next` so runs whose server relays stamps never compute a timeline.
   */
  private stampedUntil: Map<number, number> | undefined;

  constructor(
    plan: WorkloadPlan,
    private readonly identity: VuIdentity,
    private readonly startEpochMs: number,
  ) {
    let timeline = timelines.get(plan);
    if (timeline === undefined) timelines.set(plan, (timeline = new PresenceTimeline(plan)));
    this.timeline = timeline;
    this.contactIndices = plan.contactIndices(identity.index);
  }

  /** The population index of a contact of this user (a list of about twenty: searched). */
  private indexOf(contact: string): number | undefined {
    const at = this.identity.contacts.indexOf(contact);
    return at === -1 ? undefined : this.contactIndices[at];
  }

  /**
   * The scheduled epoch time of the change a notification (`contact` now shows `state`,
   * received at `receivedAt`) reports, or undefined when no change accounts for it (a logoff,
   * a repeat). The earliest change not yet matched that was due by the receipt and produced this
   * state: a server that folds several changes into one notification reports the last of them,
   * and the earlier ones stay unseen; a notification that is merely late is never credited to
   * a later change, so latency is never understated.
   */
  match(contact: string, state: PresenceState, receivedAt: number): number | undefined {
    const index = this.indexOf(contact);
    if (index === undefined) return undefined;
    const changes = this.timeline.changesOf(index);
    const stamped = this.stampedUntil?.get(index) ?? -Infinity;
    for (let k = this.next?.get(index) ?? 0; k < changes.length; k++) {
      const change = changes[k]!;
      const scheduledAt = this.startEpochMs + change.at;
      if (scheduledAt > receivedAt) return undefined;
      if (change.state !== state || scheduledAt <= stamped) continue;
      (this.next ??= new Map()).set(index, k + 1);
      return scheduledAt;
    }
    return undefined;
  }

  /** A stamp identified the change at `scheduledAt` itself: later matches start after it. */
  matched(contact: string, scheduledAt: number): void {
    const index = this.indexOf(contact);
    if (index === undefined) return;
    this.stampedUntil ??= new Map();
    this.stampedUntil.set(index, Math.max(scheduledAt, this.stampedUntil.get(index) ?? -Infinity));
  }
}
