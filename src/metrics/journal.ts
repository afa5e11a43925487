/**
 * journal.ndjson: the run as it happens, one JSON object per line, appended and flushed every
 * second. A killed run keeps every second it journaled; `imload report` rebuilds all outputs
 * from it. Passwords never reach it: the scenario is journaled with its secret references only.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import type { GeneratorHealth } from './names.js';
import type { CounterValues, HistogramValues } from './recorder.js';
import type { MetricDefinition } from './registry.js';

export type RunPhase = 'rampUp' | 'hold' | 'rampDown' | 'stopping';

export interface JournalHeader {
  readonly type: 'header';
  readonly version: 1;
  readonly runId: string;
  readonly scenarioName: string;
  readonly scenarioFile: string;
  /** The scenario file as written (secrets are references there, never values). */
  readonly scenarioText?: string;
  /** The scenario after overrides, secrets as references only. */
  readonly scenario: unknown;
  readonly seed: number;
  /** `eachInstance`: the servers every user connected to and posted to (each-instance channels), when the mode was on. */
  readonly target: { readonly name: string; readonly url: string; readonly protocol: string; readonly eachInstance?: { readonly servers: number } };
  readonly limits?: unknown;
  readonly startedAt: string;
  readonly startEpochMs: number;
  readonly timeline: { rampUpEnd: number; holdEnd: number; end: number };
  readonly workers: number;
  readonly segment: { readonly index: number; readonly count: number };
  readonly imloadVersion: string;
  readonly command: string;
  readonly host: { readonly hostname: string; readonly cpus: number; readonly memoryBytes: number; readonly node: string };
  readonly server?: { readonly kind: string; readonly version?: string; readonly fdLimit?: number };
  /**
   * The protocols' own metrics the run's registry held (journalMetrics()), so a report rebuilt
   * by another imload build still knows their kinds and descriptions. Absent in older journals,
   * whose protocol metrics (`register`, `retransmissions`) the registry still holds.
   */
  readonly metrics?: readonly JournalMetric[];
}

/** A protocol metric as the journal header records it. */
export type JournalMetric = Pick<MetricDefinition, 'name' | 'kind' | 'unit' | 'description' | 'protocols'>;

export interface JournalSecond {
  readonly type: 'second';
  /** Seconds since run start (1 = the first second). */
  readonly t: number;
  readonly at: number;
  readonly phase: RunPhase;
  readonly online: number;
  /** The engine's counters and the protocols' (by name: a journal reads without knowing the slots). */
  readonly counters: CounterValues;
  readonly errors: Record<string, number>;
  /** Failures imload's own stop caused, by kind (absent in journals from before it was split out). */
  readonly teardown?: Record<string, number>;
  readonly histograms: HistogramValues;
  readonly health: readonly GeneratorHealth[];
  /** The generator's host over this second (absent in older journals, or without /proc). */
  readonly host?: HostSecond;
  /** The lab server's processes over this second, when the lab started the server. */
  readonly server?: ServerSecond;
}

/** The whole host's CPU over one second (docs/metrics.md § Saturation). */
export interface HostSecond {
  /** Busy share of all cores, 0–100. */
  readonly cpuPercent: number;
  readonly cores: number;
  /** The coordinator process's resident memory (the workers' is in `health`); absent in older journals. */
  readonly coordinatorRssBytes?: number;
  /** The coordinator process's CPU over the second, % of one core; absent in older journals. */
  readonly coordinatorCpuPercent?: number;
}

/** The lab server's process tree over one second. */
export interface ServerSecond {
  /** Summed over its processes, % of one core (200 = two cores busy). */
  readonly cpuPercent: number;
  /** Summed resident memory of its processes (pages they share are counted in each). */
  readonly rssBytes: number;
  readonly processes: number;
  /** Datagrams the kernel dropped on its UDP sockets in the second (receive buffers full: it did not read them in time); absent in journals from before it was read. */
  readonly udpReceiveDrops?: number;
}

export interface JournalNote {
  readonly type: 'note';
  readonly key: string;
  readonly text: string;
}

export interface JournalCrossCheck {
  readonly type: 'crosscheck';
  readonly at: number;
  readonly imloadOnline: number;
  readonly serverOnline: number | null;
  readonly source: string;
}

/** One measurement window of a step search, judged against the scenario's thresholds. */
export interface JournalStep {
  readonly type: 'step';
  /** Users the step should have online. */
  readonly level: number;
  readonly window: number;
  /** Seconds since run start: the window covers (t0, t1]. */
  readonly t0: number;
  readonly t1: number;
  readonly online: number;
  readonly ok: boolean;
  readonly failed: readonly string[];
  readonly generatorBottleneck: boolean;
  /** What ran out in the window (docs/metrics.md § Saturation); absent when nothing did. */
  readonly saturated?: readonly string[];
}

/** A fault the lab injected (server killed, started again). */
export interface JournalFault {
  readonly type: 'fault';
  readonly at: number;
  /** Seconds since run start. */
  readonly t: number;
  /** `netsplit`: a lab network's link cut; `heal`: the network whole again after it came back. */
  readonly action: 'kill' | 'restart' | 'netsplit' | 'heal';
  readonly target: string;
  readonly ok: boolean;
  readonly detail?: string;
  /** How long the action took, ms from `at`: a restart's, until the server was up again (journals from before lack it). */
  readonly tookMs?: number;
  /** A netsplit's: the servers split off and how the users spread over the network (docs/topologies.md). */
  readonly split?: JournalSplit;
  /** A heal's: ms from the link's return until every server saw the whole network again. */
  readonly relinkMs?: number;
}

/** Who a netsplit split off: enough for the analysis to tell each user's side from its index. */
export interface JournalSplit {
  /** The cut link's name, e.g. `s1-s3`. */
  readonly link: string;
  /** The servers behind the cut link (indices into the network's server list) and their names. */
  readonly servers: readonly number[];
  readonly serverNames: readonly string[];
  /** The network's spread, as the agent placed users (src/protocols/network.ts). */
  readonly network: { readonly spread: 'range' | 'hash'; readonly users: number; readonly servers: number };
  /** Users of the population placed on the split-off servers. */
  readonly users: number;
}

export interface JournalEnd {
  readonly type: 'end';
  readonly at: number;
  readonly reason: 'completed' | 'interrupted' | 'aborted' | 'failed';
  readonly detail?: string;
}

export type JournalEntry = JournalHeader | JournalSecond | JournalNote | JournalCrossCheck | JournalStep | JournalFault | JournalEnd;

export class JournalWriter {
  constructor(readonly path: string) {}

  /** Synchronous append: when this returns the line is in the file, so a crash loses nothing older. */
  append(entry: JournalEntry): void {
    appendFileSync(this.path, `${JSON.stringify(entry)}\n`);
  }
}

export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

/** Reads a journal; a torn last line (the process died mid-write) is dropped, not fatal. */
export function readJournal(path: string): JournalEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new JournalError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const entries: JournalEntry[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      if (i < lines.length - 1) throw new JournalError(`${path}:${i + 1}: not a JSON line`);
    }
  });
  if (entries[0]?.type !== 'header') throw new JournalError(`${path}: the first line is not a run header`);
  // Older imload appended a second run to a folder's journal; a report of both would mix them.
  const second = entries.find((entry, i) => i > 0 && entry.type === 'header') as JournalHeader | undefined;
  if (second) {
    throw new JournalError(
      `${path} holds two runs (${entries[0].runId} and ${second.runId}); a run folder holds one run: move each run into a folder of its own (split the file before the second header line)`,
    );
  }
  return entries;
}
