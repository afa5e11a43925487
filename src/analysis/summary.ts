/**
 * summary.json: the run's figures in a stable, documented shape (docs/summary-schema.md).
 * Built only from the journal, so a live run and `imload report` on a killed run agree.
 */
import { RunAggregate } from '../metrics/aggregate.js';
import { percentileMs, type Histogram, type LatencySummary } from '../metrics/histogram.js';
import { PRESENCE_METHODS, presenceMethodNote, type PresenceMethod } from '../metrics/names.js';
import type { JournalCrossCheck, JournalEnd, JournalEntry, JournalFault, JournalHeader, JournalStep } from '../metrics/journal.js';
import { MetricRegistry, percentileOf } from '../metrics/registry.js';
import { latencyOf } from '../metrics/threshold-grammar.js';
import { METRICS } from '../protocols/metric-registry.js';
import { evaluateThresholds, thresholdSpecs, type ThresholdResult } from './thresholds.js';
import { judgeLimits, type LimitVerdicts } from './verdicts.js';
import { generatorVerdict, type GeneratorVerdict } from './generator.js';
import type { LimitProfile, Scenario } from '../scenarios/schema.js';
import { usersOf } from '../scenarios/schedule.js';
import { BandwidthWindows } from './normalise.js';
import { findSloOnsets } from './slo-onset.js';
import { buildTimeSeries, type TimeSeries } from './series.js';
import { deliveriesFromCounters, failureRate, outcomesOf, type DeliveryOutcomes, type Outcomes } from './outcomes.js';
import { checkInvariants, type Invariant } from './invariants.js';
import { eachInstanceSummary, type EachInstanceSummary } from './each-instance.js';
import type { FaultImpact } from './fault-impact.js';
import { netsplitReports, splitWindows, type NetsplitReport, type SplitMeasured } from './netsplit.js';

export const SUMMARY_SCHEMA_VERSION = 1;

export interface Summary {
  readonly schemaVersion: number;
  readonly runId: string;
  readonly scenario: { readonly name: string; readonly file: string; readonly description: string };
  readonly seed: number;
  readonly target: JournalHeader['target'];
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly durationSeconds: number;
  readonly end: { readonly reason: JournalEnd['reason'] | 'unknown'; readonly detail?: string };
  readonly timeScale: number;
  readonly users: {
    readonly requested: number;
    readonly peakOnline: number;
    readonly onlineRatio: number;
    readonly logonAttempts: number;
    readonly logonOk: number;
    readonly logonFailures: number;
    readonly logoffs: number;
    readonly disconnects: number;
    readonly reconnects: number;
  };
  /** Every registered latency (the engine's and the protocols'), count 0 when never measured. */
  readonly latency: Readonly<Record<string, LatencySummary>>;
  readonly messages: {
    readonly sent: number;
    readonly channelSent: number;
    readonly expected: number;
    readonly delivered: number;
    readonly lost: number;
    readonly lossRate: number;
    /** Expected deliveries the run's end cut off (sent within the delivery timeout before it stopped). */
    readonly cancelled: number;
    /** Receipts beyond the expected deliveries (of failed or cancelled sends, or beyond the sender's count). */
    readonly unexpected: number;
    readonly duplicates: number;
    readonly misrouted: number;
    /** Expected deliveries lost to an injected netsplit (faults.netsplits): the fault's, not in `lost` or `lossRate`. */
    readonly lostToNetsplit: number;
    readonly undeliverable: number;
    readonly failed: number;
    /**
     * This run was one segment of a split population (`run --segment 2/3`: `{ segment: 2, of: 3 }`):
     * its senders' deliveries to other segments' users, and its users' receipts from other
     * segments' senders, are in those segments' journals. So `expected` counts this segment's sends
     * to anyone, `delivered` its users' receipts from anyone, and `lost`, `lossRate` and
     * `unexpected` say nothing of losses: the merged run (`imload merge`) tells them. Absent for a
     * whole run and a merged one.
     */
    readonly acrossSegments?: { readonly segment: number; readonly of: number };
  };
  /** Presence changes made, notifications the schedule expected watchers to get, and those seen. */
  readonly presence: {
    readonly changes: number;
    readonly expected: number;
    readonly seen: number;
    readonly initialStates: number;
    /**
     * How notifications were matched to their changes (docs/metrics.md, presence.seen): imload's own
     * stamp relayed by the server, the standard status matched against the schedule, or both.
     */
    readonly measuredBy: readonly PresenceMethod[];
  };
  /** Every counter a protocol registers (docs/metrics.md § Protocol metrics), whole run, 0 when never counted. */
  readonly counters: Readonly<Record<string, number>>;
  /** Requests sent again for lack of an answer: `counters.retransmissions`, kept here for schema-1 readers. */
  readonly retransmissions: number;
  readonly bandwidth: {
    readonly bytesIn: number;
    readonly bytesOut: number;
    readonly kbpsPerUser: number;
    readonly window: 'hold' | 'run';
    readonly basis: 'wall-clock';
    readonly counted: string;
    /** Per-user figure in real time when timeScale ≠ 1: behaviour bytes de-compressed, timers not. */
    readonly normalised: { readonly kbpsPerUser: number; readonly method: string; readonly modelScale: number | null } | null;
  };
  readonly errors: { readonly total: number; readonly rate: number; readonly byKind: Record<string, number> };
  /** The outcome of every attempt: logons, logoffs, sends, deliveries (lost ones by reason), teardown. */
  readonly outcomes: Outcomes;
  /** What holds in every run however it ends; a broken one is a bug in imload (exit 4). */
  readonly invariants: readonly Invariant[];
  readonly thresholds: readonly ThresholdResult[];
  readonly limits: LimitVerdicts | null;
  readonly crossCheck: (Omit<JournalCrossCheck, 'type'> & { readonly match: boolean | null }) | null;
  readonly generator: GeneratorVerdict;
  /** Present when the scenario searched for capacity in steps. */
  readonly stepSearch: StepSearchResult | null;
  /** Scripted users (YAML flows, TypeScript user functions): scripts finished, expectations met. */
  readonly scripts: { readonly completed: number; readonly expectsMet: number; readonly expectsFailed: number };
  /**
   * What the lab server's processes showed beside the figures (null: imload did not start the
   * server, or the journal predates it): datagrams the kernel dropped on its UDP sockets, their
   * receive buffers full — the server did not read them in time.
   */
  readonly labServer: { readonly udpReceiveDrops: { readonly datagrams: number; readonly seconds: number } } | null;
  /** Faults the lab injected, and how the users fared. */
  readonly faults: FaultReport;
  /** What each-instance channels (servers not linked) cost over one linked instance; null when the run did not use them. */
  readonly eachInstance: EachInstanceSummary | null;
  readonly notes: ReadonlyArray<{ readonly key: string; readonly text: string }>;
  readonly reproduce: {
    readonly command: string;
    readonly seed: number;
    readonly scenarioFile: string;
    readonly imloadVersion: string;
    readonly server: JournalHeader['server'] | null;
    readonly host: JournalHeader['host'];
  };
}

/** How presence was measured, as the outputs say it ("" when nothing was seen). */
export function presenceMethodText(presence: Summary['presence']): string {
  const names = { stamp: 'imload’s stamp, relayed by the server', schedule: 'the standard status matched against the schedule' } as const;
  return presence.measuredBy.length === 0 ? '' : `measured by ${presence.measuredBy.map((m) => names[m]).join(' and ')}`;
}

export interface StepSearchResult {
  readonly steps: ReadonlyArray<{ readonly level: number; readonly ok: boolean; readonly windows: ReadonlyArray<Omit<JournalStep, 'type' | 'level'>> }>;
  /** The highest level whose every window held every SLO (null: not even the first). */
  readonly sustainable: number | null;
  /** The first level at which a window broke (null: the search never broke). */
  readonly brokeAt: number | null;
  /** What gave out first: the server's latency, the server's errors/capacity, imload itself, or the host or a worker saturated (docs/metrics.md § Saturation). */
  readonly gaveOut: 'server latency' | 'server errors' | 'generator' | 'saturated' | null;
  readonly reason: string;
}

export function stepSearchResult(steps: readonly JournalStep[]): StepSearchResult | null {
  if (steps.length === 0) return null;
  const levels = [...new Set(steps.map((s) => s.level))].map((level) => {
    const windows = steps.filter((s) => s.level === level).map(({ type: _type, level: _level, ...rest }) => rest);
    return { level, ok: windows.every((w) => w.ok), windows };
  });
  const broken = levels.find((l) => !l.ok);
  const passed = levels.filter((l) => l.ok && (!broken || l.level < broken.level));
  const sustainable = passed.at(-1)?.level ?? null;
  if (!broken) {
    return { steps: levels, sustainable, brokeAt: null, gaveOut: null, reason: `every step held its SLOs up to ${sustainable} users; the search ended with the population` };
  }
  const failedWindows = broken.windows.filter((w) => !w.ok);
  const failed = [...new Set(failedWindows.flatMap((w) => w.failed))];
  const saturated = [...new Set(failedWindows.flatMap((w) => w.saturated ?? []))];
  const gaveOut = failedWindows.some((w) => w.generatorBottleneck)
    ? 'generator'
    : saturated.length > 0
      ? 'saturated'
      : failed.some((f) => latencyOf(METRICS, /^\s*([A-Za-z][\w.]*)/.exec(f)?.[1] ?? '') !== undefined)
      ? 'server latency'
      : 'server errors';
  return {
    steps: levels,
    sustainable,
    brokeAt: broken.level,
    gaveOut,
    reason: `${failedWindows.length} of ${broken.windows.length} window(s) at ${broken.level} users broke (${failed.join('; ') || 'the generator was the bottleneck'})${saturated.length > 0 ? ` while saturated: ${saturated.join('; ')}` : ''}; the last level that held: ${sustainable ?? 'none'}`,
  };
}

export interface FaultReport {
  readonly events: ReadonlyArray<Omit<JournalFault, 'type'>>;
  readonly outages: ReadonlyArray<{
    readonly target: string;
    /** Seconds since run start. */
    readonly downAt: number;
    readonly upAt: number | null;
    readonly onlineBefore: number;
    readonly lowestOnline: number;
    /** Most users online again after the restart. */
    readonly usersBack: number;
    /** First second after the kill with as many users online as before it. */
    readonly recoveredAt: number | null;
    readonly recoverySeconds: number | null;
    /** Which users' transactions failed or were retried elsewhere, and their recovery (fault-impact.ts); null without an events file. */
    readonly transactions: FaultImpact | null;
  }>;
  /** Per netsplit: who was split off, the window, what was lost to it, the users' heal and the servers' relink (netsplit.ts). */
  readonly netsplits: readonly NetsplitReport[];
}

/**
 * What a run's events file adds to its journal (run-summary.ts reads it): `deliveries`, the
 * matching of sends and receipts (deliveries.ts; without it deliveries come from the counters and
 * the reasons for losses are unknown); `faultImpacts`, each kill's users (fault-impact.ts);
 * `splits`, each netsplit's losses and heal (netsplit.ts).
 */
export interface RecordingFindings {
  readonly deliveries?: DeliveryOutcomes;
  readonly faultImpacts?: readonly FaultImpact[] | null;
  readonly splits?: readonly SplitMeasured[];
}

/** Outage windows from the kill/restart records and the per-second online counts; netsplits from their records and, when kept, the events file. */
export function faultReport(faults: readonly JournalFault[], seconds: RunAggregate['series'], findings: RecordingFindings = {}): FaultReport {
  const { faultImpacts: impacts, splits } = findings;
  const outages = faults
    .filter((f) => f.action === 'kill' && f.ok)
    .map((kill, i) => {
      const restart = faults.find((f) => f.action === 'restart' && f.ok && f.target === kill.target && f.t > kill.t);
      // A second's online count is sampled at about its end (t), give or take the workers' timer:
      // take the last second that surely ended before the kill.
      const before = seconds.filter((p) => p.t <= kill.t - 0.5).at(-1)?.online ?? 0;
      const after = seconds.filter((p) => p.t > kill.t);
      // The users imload itself logs off (ramp-down, stop) are no one the outage took offline.
      const beforeStopping = after.filter((p) => p.phase === 'rampUp' || p.phase === 'hold');
      const afterRestart = restart ? after.filter((p) => p.t > restart.t) : [];
      const recovered = afterRestart.find((p) => p.online >= before);
      return {
        target: kill.target,
        downAt: round(kill.t, 1),
        upAt: restart ? round(restart.t, 1) : null,
        onlineBefore: before,
        lowestOnline: Math.min(before, ...beforeStopping.map((p) => p.online)),
        usersBack: Math.max(0, ...afterRestart.map((p) => p.online)),
        recoveredAt: recovered?.t ?? null,
        recoverySeconds: recovered && restart ? round(recovered.t - restart.t, 1) : null,
        transactions: impacts?.[i] ?? null,
      };
    });
  return { events: faults.map(({ type: _type, ...rest }) => rest), outages, netsplits: netsplitReports(splitWindows(faults), splits) };
}

/**
 * buildSummary's reading of the journal, one entry at a time. The live page (src/live/) keeps one
 * for the whole run and asks for the summary so far after each second, so no second is read twice.
 * It keeps what the summary reads, not the entries: a run watched for a working day would hold
 * every second's histograms otherwise (bench/live-replay.bench.ts prints what it retains a second).
 */
export class SummaryFold {
  /** The first entry, once read. */
  private first: JournalHeader | undefined;
  readonly aggregate = new RunAggregate();
  readonly bandwidth = new BandwidthWindows();
  readonly notes: Array<{ key: string; text: string }> = [];
  crossCheck: JournalCrossCheck | undefined;
  end: JournalEnd | undefined;
  readonly steps: JournalStep[] = [];
  readonly faults: JournalFault[] = [];
  lastAt = 0;
  private requested: number | undefined;

  static of(entries: readonly JournalEntry[]): SummaryFold {
    const fold = new SummaryFold();
    for (const entry of entries) fold.add(entry);
    return fold;
  }

  /** Whether the header has been read. */
  get started(): boolean {
    return this.first !== undefined;
  }

  get header(): JournalHeader {
    return this.first!;
  }

  /** requestedUsers(header), worked out once: it lists the segment's users. */
  get requestedUsers(): number {
    return (this.requested ??= requestedUsers(this.header));
  }

  add(entry: JournalEntry): void {
    if (this.first === undefined) {
      this.first = entry as JournalHeader;
      this.lastAt = this.first.startEpochMs;
    }
    if (entry.type === 'second') {
      this.aggregate.add(entry);
      this.bandwidth.add(entry);
      this.lastAt = Math.max(this.lastAt, entry.at);
    } else if (entry.type === 'note') this.notes.push({ key: entry.key, text: entry.text });
    else if (entry.type === 'crosscheck') this.crossCheck = entry;
    else if (entry.type === 'end') this.end = entry;
    else if (entry.type === 'step') this.steps.push(entry);
    else if (entry.type === 'fault') this.faults.push(entry);
  }
}

/** The users a journal's run was asked for: a segment's journal speaks for its share of the population only. */
export function requestedUsers(header: JournalHeader): number {
  const segment = header.segment ?? { index: 0, count: 1 };
  return usersOf((header.scenario as Scenario).population.users, { segment: segment.index, segments: segment.count, worker: 0, workers: 1 }).length;
}

/** A journal's summary, with what its events file adds when it was read (RecordingFindings). */
export function buildSummary(entries: readonly JournalEntry[], findings: RecordingFindings = {}): { summary: Summary; aggregate: RunAggregate } {
  return summaryOf(SummaryFold.of(entries), findings, (requested) => buildTimeSeries(entries, requested));
}

/**
 * The summary of what `fold` has read. `everySecond` gives the per-second series of the same
 * seconds (read only when an SLO broke, to say at what load).
 */
export function summaryOf(
  fold: SummaryFold,
  findings: RecordingFindings,
  everySecond: (requested: number) => TimeSeries,
): { summary: Summary; aggregate: RunAggregate } {
  const { header, aggregate, notes, crossCheck, end, steps, faults, lastAt } = fold;
  const { deliveries } = findings;
  const scenario = header.scenario as Scenario;
  const registry = METRICS.withJournal(header.metrics);
  const t = aggregate.totals;
  const requested = fold.requestedUsers;
  const partial = runFigures(aggregate, requested, deliveries, registry);
  const outcomes = outcomesOf(t, aggregate.teardown, partial.deliveries);
  const bandwidth = aggregate.bandwidthPerUser();
  const normalised = aggregate.peakOnline > 0 ? fold.bandwidth.normalise(header) : null;
  const { generator } = partial;
  const lookup = (metric: string) => metricValue(partial, metric, aggregate.histograms, registry);
  const thresholds = evaluateThresholds(thresholdSpecs(scenario), lookup, { part: header.segment });
  // "Missed at N": the load at which a latency SLO first broke, not the run's peak.
  const firstBreak = thresholds.some((t) => !t.ok)
    ? findSloOnsets(everySecond(requested), thresholds).sort((a, b) => a.t - b.t)[0]
    : undefined;
  const stepSearch = stepSearchResult(steps);
  const limits = header.limits
    ? judgeLimits(header.limits as LimitProfile & { name: string }, {
        requested,
        peakOnline: aggregate.peakOnline,
        kbpsPerUser: bandwidth.kbps,
        timeScale: scenario.timeScale,
        normalisedKbpsPerUser: normalised?.normalisedKbpsPerUser ?? null,
        lookup,
        thresholds,
        generator,
        serverFdLimit: header.server?.fdLimit,
        logonFailures: t.logonFailed,
        errorsByKind: aggregate.errors,
        sloBroke: firstBreak ? { online: firstBreak.online, threshold: firstBreak.threshold, t: firstBreak.t } : undefined,
        stepSearch,
        seconds: aggregate.series,
      })
    : null;
  const summary: Summary = {
    schemaVersion: SUMMARY_SCHEMA_VERSION,
    runId: header.runId,
    scenario: { name: header.scenarioName, file: header.scenarioFile, description: scenario.description },
    seed: header.seed,
    target: header.target,
    startedAt: header.startedAt,
    endedAt: end ? new Date(end.at).toISOString() : null,
    // A run whose workers failed to start ends before its clock would have started: it lasted nothing.
    durationSeconds: round(Math.max(0, (end?.at ?? lastAt) - header.startEpochMs) / 1000, 1),
    end: end ? { reason: end.reason, detail: end.detail } : { reason: 'unknown', detail: 'the journal has no end record (the run was killed)' },
    timeScale: scenario.timeScale,
    users: partial.users,
    latency: partial.latency,
    messages: (header.segment?.count ?? 1) > 1 ? { ...partial.messages, acrossSegments: { segment: header.segment!.index + 1, of: header.segment!.count } } : partial.messages,
    errors: partial.errors,
    generator: partial.generator,
    outcomes,
    invariants: checkInvariants({
      outcomes,
      ended: end !== undefined,
      countedExpected: t.deliveriesExpected,
      rates: { 'messages.lossRate': partial.messages.lossRate, 'errors.rate': partial.errors.rate, 'users.onlineRatio': partial.users.onlineRatio },
    }),
    presence: {
      changes: t.presenceChanges,
      expected: t.presenceExpected,
      seen: t.presenceSeen,
      initialStates: t.presenceInitial,
      measuredBy: PRESENCE_METHODS.filter((method) => notes.some((n) => n.key === presenceMethodNote(method))),
    },
    counters: partial.counters,
    retransmissions: partial.counters.retransmissions ?? 0,
    bandwidth: {
      bytesIn: t.bytesIn,
      bytesOut: t.bytesOut,
      kbpsPerUser: round(bandwidth.kbps, 4),
      window: bandwidth.window,
      basis: 'wall-clock',
      counted: 'application bytes read and written on the VUs’ connections (no TCP/IP headers)',
      normalised: normalised && { kbpsPerUser: round(normalised.normalisedKbpsPerUser, 4), method: normalised.method, modelScale: normalised.modelScale },
    },
    thresholds,
    limits,
    crossCheck: crossCheck
      ? {
          at: crossCheck.at,
          imloadOnline: crossCheck.imloadOnline,
          serverOnline: crossCheck.serverOnline,
          source: crossCheck.source,
          match: crossCheck.serverOnline === null ? null : crossCheck.serverOnline === crossCheck.imloadOnline,
        }
      : null,
    stepSearch,
    labServer: labServerSummary(aggregate),
    faults: faultReport(faults, aggregate.series, findings),
    eachInstance: eachInstanceSummary(t, header.target.eachInstance?.servers),
    scripts: { completed: t.flowsCompleted, expectsMet: t.expectsMet, expectsFailed: t.expectsFailed },
    notes,
    reproduce: {
      command: header.command,
      seed: header.seed,
      scenarioFile: header.scenarioFile,
      imloadVersion: header.imloadVersion,
      server: header.server ?? null,
      host: header.host,
    },
  };
  return { summary, aggregate };
}

function labServerSummary(aggregate: RunAggregate): Summary['labServer'] {
  const udpReceiveDrops = aggregate.serverUdpReceiveDrops();
  return udpReceiveDrops ? { udpReceiveDrops } : null;
}

/** The figures thresholds and verdicts read, from the aggregate so far (live or rebuilt). */
export function runFigures(
  aggregate: RunAggregate,
  requested: number,
  deliveries: DeliveryOutcomes = deliveriesFromCounters(aggregate.totals),
  registry: MetricRegistry = METRICS,
) {
  const t = aggregate.totals;
  const d = deliveries;
  const latency: Record<string, LatencySummary> = Object.fromEntries(registry.latencies().map((m) => [m.name, aggregate.latency(m.name)]));
  const counters: Record<string, number> = Object.fromEntries(registry.protocolCounters().map((m) => [m.name, t[m.name] ?? 0]));
  return {
    users: {
      requested,
      peakOnline: aggregate.peakOnline,
      onlineRatio: requested > 0 ? aggregate.peakOnline / requested : 0,
      logonAttempts: t.logonAttempts,
      logonOk: t.logonOk,
      logonFailures: t.logonFailed,
      logoffs: t.logoffs,
      disconnects: t.disconnects,
      reconnects: t.reconnects,
    },
    latency,
    counters,
    messages: {
      sent: t.messagesSent,
      channelSent: t.channelMessagesSent,
      expected: d.expected,
      delivered: d.delivered,
      lost: d.lost,
      lossRate: d.expected > 0 ? d.lost / d.expected : 0,
      cancelled: d.cancelled,
      unexpected: d.unexpected,
      duplicates: d.duplicates,
      misrouted: d.misrouted,
      lostToNetsplit: d.lostToNetsplit,
      undeliverable: t.undeliverable,
      failed: t.sendsFailed,
    },
    errors: { total: t.errors, rate: failureRate(t), byKind: aggregate.errors },
    bandwidth: { kbpsPerUser: round(aggregate.bandwidthPerUser().kbps, 4) },
    generator: generatorVerdict(aggregate, latency.sendLag!),
    deliveries,
  };
}

type MetricSource = Pick<Summary, 'users' | 'latency' | 'counters' | 'messages' | 'errors' | 'generator'> & {
  bandwidth: { kbpsPerUser: number };
};

/**
 * A threshold metric's value, read from the summary where the registry says it lives (one table
 * for the vocabulary and the values: src/metrics/registry.ts). Latency statistics need at least
 * one sample; a percentile the summary does not carry (p99.9, p75, ...) is read from
 * `histograms` when given. Null: not measured (or not a metric).
 */
export function metricValue(
  summary: MetricSource,
  metric: string,
  histograms?: Readonly<Partial<Record<string, Histogram>>>,
  registry: MetricRegistry = METRICS,
): number | null {
  const found = registry.thresholdMetric(metric);
  if (!found) return null;
  const { definition, stat } = found;
  if (definition.kind === 'latency') {
    const latency = summary.latency[definition.name];
    if (!latency || latency.count === 0 || stat === undefined) return null;
    if (stat in latency) return latency[stat as keyof LatencySummary];
    const percentile = percentileOf(stat);
    const histogram = histograms?.[definition.name];
    return percentile !== null && histogram ? percentileMs(histogram, percentile) : null;
  }
  if (definition.needsUsers && summary.users.peakOnline === 0) return null;
  const value = MetricRegistry.read(summary, definition.summary);
  return typeof value === 'number' ? value : null;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
