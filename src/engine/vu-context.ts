/** What every unit of a virtual user shares: its worker's context (vu.ts and the units beside it). */
import type { ProtocolAgent } from '../protocols/types.js';
import type { MetricsRecorder } from '../metrics/recorder.js';
import type { WorkloadPlan } from '../scenarios/schedule.js';
import type { EventRecorder, RecordedAction } from '../metrics/recording.js';
import type { Replay } from './replay.js';
import type { Scheduler } from './scheduler.js';
import type { Semaphore } from './semaphore.js';
import type { LogonWindow } from './logon-window.js';
import type { Vu } from './vu-api.js';
import type { EachInstance } from './each-instance.js';

export interface WorkerContext {
  readonly plan: WorkloadPlan;
  readonly agent: ProtocolAgent;
  readonly metrics: MetricsRecorder;
  readonly scheduler: Scheduler;
  readonly logons: LogonWindow;
  readonly logoffs: Semaphore;
  readonly startEpochMs: number;
  /** Epoch ms with sub-ms precision, comparable across processes on one host. */
  now(): number;
  note(key: string, text: string): void;
  readonly stopping: boolean;
  /** Writes events.ndjson.gz (what each user did and when). */
  readonly recorder?: EventRecorder;
  /** The scenario module's user function (TypeScript scenarios), run for users outside YAML groups. */
  readonly userScript?: (vu: Vu) => Promise<void>;
  /** A network target: the server each user index connects to (delivery latency split same/cross). */
  readonly serverOf?: (index: number) => number;
  /** Each-instance channels: every user holds one connection per server (each-instance.ts). */
  readonly eachInstance?: EachInstance;
  /** Replaying a recording: each user's recorded events, and the speed-up. */
  readonly replay?: Replay;
}

/** Writes one of this user's events to events.ndjson.gz (nothing when the run records none). */
export type RecordAction = (event: RecordedAction) => void;
