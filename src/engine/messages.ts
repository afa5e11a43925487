/** What the coordinator and its worker processes say to each other over the IPC channel. */
import type { AgentTarget } from '../protocols/types.js';
import type { MetricsSnapshot } from '../metrics/recorder.js';
import type { Scenario, SecretRef } from '../scenarios/schema.js';

export interface WorkerInit {
  readonly type: 'init';
  readonly worker: number;
  readonly workers: number;
  readonly segment: number;
  readonly segments: number;
  readonly scenario: Scenario;
  readonly target: AgentTarget;
  /** Password references (resolved inside the worker; values never cross the IPC channel in logs). */
  readonly passwords: { readonly target?: SecretRef; readonly population?: SecretRef };
  readonly spreadSourceAddresses: boolean;
  /** Where this worker writes its part of events.ndjson.gz; none: no recording. */
  readonly recordPath?: string;
  /** Replay a recording instead of the scenario's schedule. */
  readonly replay?: { readonly path: string; readonly speed: number };
  /** Scenario module whose `user(vu)` scripts the users. */
  readonly scriptPath?: string;
}

export type ToWorker =
  | WorkerInit
  /** After every worker said ready: the run's clock. */
  | { readonly type: 'start'; readonly startEpochMs: number }
  | { readonly type: 'stop'; readonly reason: string }
  | { readonly type: 'query-online'; readonly id: number };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'metrics'; readonly snapshot: MetricsSnapshot }
  | { readonly type: 'note'; readonly key: string; readonly text: string }
  | { readonly type: 'online'; readonly id: number; readonly count: number }
  | { readonly type: 'fatal'; readonly kind: string; readonly message: string }
  | { readonly type: 'done' };
