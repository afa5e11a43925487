/**
 * A worker's context for driving `VuRunner`s in a unit test, without a worker process: the
 * plan's logon and logoff windows, a real scheduler and clock, and no notes. Pass what a test
 * needs in place of the defaults (a recorder, a replay, a stopping flag).
 */
import type { ProtocolAgent } from '../../src/protocols/types.js';
import { LogonWindow } from '../../src/engine/logon-window.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { Semaphore } from '../../src/engine/semaphore.js';
import type { WorkerContext } from '../../src/engine/vu-context.js';
import { MetricsRecorder } from '../../src/metrics/recorder.js';
import { METRICS } from '../../src/protocols/metric-registry.js';
import type { WorkloadPlan } from '../../src/scenarios/schedule.js';

export function testWorkerContext(plan: WorkloadPlan, agent: ProtocolAgent, extra: Partial<WorkerContext> = {}): WorkerContext & { metrics: MetricsRecorder } {
  const now = (): number => performance.timeOrigin + performance.now();
  const scheduler = new Scheduler(now);
  return {
    plan,
    agent,
    metrics: new MetricsRecorder(0, METRICS),
    scheduler,
    logons: LogonWindow.share(plan.timeline.maxLogonsInFlight, 1, { now, at: (time, wake) => scheduler.at(time, wake) }),
    logoffs: Semaphore.share(plan.timeline.maxLogoffsInFlight, 1),
    startEpochMs: now(),
    now,
    note: () => undefined,
    stopping: false,
    ...extra,
  };
}
