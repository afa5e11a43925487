/**
 * Saturation rules (docs/metrics.md § Saturation) on synthetic journal seconds: a verdict whose
 * deciding seconds saw the host CPU, a worker's CPU or a worker's event loop run out is
 * "inconclusive" and names the resource; with nothing saturated the verdict stands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunAggregate } from '../../src/metrics/aggregate.js';
import type { JournalSecond, RunPhase } from '../../src/metrics/journal.js';
import type { GeneratorHealth } from '../../src/metrics/names.js';
import { generatorVerdict } from '../../src/analysis/generator.js';
import { judgeLimits, type LimitVerdict } from '../../src/analysis/verdicts.js';
import { summarize, createHistogram } from '../../src/metrics/histogram.js';
import { BUILT_IN_PROFILES } from '../../src/scenarios/limits.js';
import { stepSearchResult } from '../../src/analysis/summary.js';

const PROFILE = { name: 'exchange2000-chat', ...BUILT_IN_PROFILES['exchange2000-chat']! };
const LIMIT = 20_000;
const SECONDS = 60;
/** The second logon.p95 first broke in the "missed" runs. */
const ONSET = 40;

interface Load {
  readonly hostCpu?: (t: number) => number;
  readonly workerCpu?: (t: number, worker: number) => number;
  readonly eventLoop?: (t: number, worker: number) => number;
  /** A second's longest event-loop delay (a stall), ms. */
  readonly eventLoopMax?: (t: number, worker: number) => number;
  /** The worker sent no sample this second: what is journaled is its last one, repeated stale. */
  readonly silent?: (t: number, worker: number) => boolean;
}

function health(t: number, worker: number, load: Load): GeneratorHealth {
  return {
    worker,
    eventLoopP99: load.eventLoop?.(t, worker) ?? 12,
    eventLoopMax: load.eventLoopMax?.(t, worker) ?? 20,
    cpuPercent: load.workerCpu?.(t, worker) ?? 40,
    rssBytes: 200e6,
    baselineRssBytes: 100e6,
    heapUsedBytes: 50e6,
    openFds: 100,
    vus: 9000,
    ...(load.silent?.(t, worker) ? { stale: true as const } : {}),
  };
}

/** A 60 s run: ramp to 18,000 users over 30 s, hold to 50 s. */
function seconds(load: Load): JournalSecond[] {
  return Array.from({ length: SECONDS }, (_, i) => {
    const t = i + 1;
    const phase: RunPhase = t <= 30 ? 'rampUp' : t <= 50 ? 'hold' : 'rampDown';
    return {
      type: 'second',
      t,
      at: t * 1000,
      phase,
      online: Math.min(18_000, t * 600),
      counters: {},
      errors: {},
      histograms: {},
      health: [health(t, 0, load), health(t, 1, load)],
      ...(load.hostCpu ? { host: { cpuPercent: load.hostCpu(t), cores: 2 } } : {}),
    };
  });
}

/** The users verdict of a run whose logon.p95 SLO broke at ONSET with 18,000 users (missed) or held (met). */
function usersVerdict(load: Load, outcome: 'missed' | 'met'): LimitVerdict {
  const aggregate = new RunAggregate();
  for (const second of seconds(load)) aggregate.add(second);
  const missed = outcome === 'missed';
  const verdicts = judgeLimits(PROFILE, {
    requested: missed ? 20_000 : 18_000,
    peakOnline: missed ? 18_000 : LIMIT,
    kbpsPerUser: 1,
    timeScale: 1,
    lookup: () => null,
    thresholds: [{ name: 'logon.p95 < 3s', expression: 'logon.p95 < 3s', metric: 'logon.p95', ok: !missed, actual: missed ? 3090 : 900, abortOnFail: false }],
    generator: generatorVerdict(aggregate, summarize(createHistogram())),
    logonFailures: 0,
    errorsByKind: {},
    sloBroke: missed ? { online: 17_499, threshold: 'logon.p95 < 3s', t: ONSET } : undefined,
    seconds: aggregate.series,
  });
  return verdicts.verdicts.find((v) => v.metric === 'users.peakOnline')!;
}

/** Saturated in 3 of the 10 seconds before the onset (more than a fifth), fine elsewhere. */
const inOnsetWindow = (t: number) => t >= ONSET - 2 && t <= ONSET;

test('nothing saturated: the verdict stays "missed at N"', () => {
  const v = usersVerdict({ hostCpu: () => 60 }, 'missed');
  assert.equal(v.verdict, 'missed');
  assert.equal(v.at, 17_499);
});

test('host CPU ≥ 90 % in more than a fifth of the ten seconds before the onset: inconclusive, naming host CPU', () => {
  const v = usersVerdict({ hostCpu: (t) => (inOnsetWindow(t) ? 97 : 60) }, 'missed');
  assert.equal(v.verdict, 'inconclusive');
  assert.equal(v.at, undefined, 'an inconclusive verdict names no load it broke at');
  assert.deepEqual(v.saturation?.resources.map((r) => r.resource), ['host CPU']);
  assert.match(v.reason, /host CPU at 97 % of 2 cores/);
  assert.match(v.reason, /in 3 of 10 seconds/);
});

test('a worker at ≥ 95 % of a core: inconclusive, naming the worker', () => {
  const v = usersVerdict({ hostCpu: () => 60, workerCpu: (t, w) => (w === 1 && inOnsetWindow(t) ? 99 : 40) }, 'missed');
  assert.equal(v.verdict, 'inconclusive');
  assert.deepEqual(v.saturation?.resources.map((r) => r.resource), ['worker CPU']);
  assert.match(v.reason, /worker 1 CPU at 99 % of a core/);
});

test('a worker event loop p99 ≥ 100 ms: inconclusive, naming the event loop (the chat-20k case)', () => {
  const v = usersVerdict({ hostCpu: () => 60, eventLoop: (t) => (inOnsetWindow(t) ? 667 : 12) }, 'missed');
  assert.equal(v.verdict, 'inconclusive');
  assert.deepEqual(v.saturation?.resources.map((r) => r.resource), ['event loop']);
  assert.match(v.reason, /event loop of workers 0, 1 stalled, p99 up to 667 ms/);
  // The whole-run generator check (3+ seconds and > 10 % of 60) does not see these 3 seconds:
  // only the decisive window does.
  const aggregate = new RunAggregate();
  for (const second of seconds({ eventLoop: (t) => (inOnsetWindow(t) ? 667 : 12) })) aggregate.add(second);
  assert.equal(generatorVerdict(aggregate, summarize(createHistogram())).bottleneck, false);
});

test('a fifth of the window or less is not saturation; saturation outside the window does not count', () => {
  // Exactly 2 of 10 seconds: not more than a fifth.
  assert.equal(usersVerdict({ hostCpu: (t) => (t >= ONSET - 1 && t <= ONSET ? 99 : 60) }, 'missed').verdict, 'missed');
  // Saturated for long, but only after the SLO broke.
  assert.equal(usersVerdict({ hostCpu: (t) => (t > ONSET ? 99 : 60) }, 'missed').verdict, 'missed');
});

test('"met" rests on the hold: a saturated hold makes it inconclusive', () => {
  assert.equal(usersVerdict({ hostCpu: () => 50 }, 'met').verdict, 'met');
  const v = usersVerdict({ hostCpu: (t) => (t > 30 && t <= 40 ? 95 : 50) }, 'met');
  assert.equal(v.verdict, 'inconclusive');
  assert.match(v.reason, /during the hold \(t 31–50\)/);
});

test('old journals without host samples: the worker rules still apply, host CPU is not guessed', () => {
  assert.equal(usersVerdict({}, 'missed').verdict, 'missed');
  assert.equal(usersVerdict({ workerCpu: (t) => (inOnsetWindow(t) ? 99 : 40) }, 'missed').verdict, 'inconclusive');
});

test('a step search that broke while the host was saturated: gave out "saturated", and the verdict is inconclusive, not "missed"', () => {
  const aggregate = new RunAggregate();
  // Levels 6,000 (t 1–30, held) and 12,000 (t 31–60, broke); the host saturated from t 40.
  for (const second of seconds({ hostCpu: (t) => (t >= 40 ? 99 : 50) })) aggregate.add(second);
  const window = (t0: number, t1: number, ok: boolean, saturated?: string[]) => ({ window: 0, t0, t1, online: 0, ok, failed: ok ? [] : ['logon.p95 < 3s'], generatorBottleneck: false, ...(saturated ? { saturated } : {}) });
  const search = stepSearchResult([
    { type: 'step', level: 6_000, ...window(0, 30, true) },
    { type: 'step', level: 12_000, ...window(30, 60, false, ['host CPU at 99 % of 2 cores']) },
  ])!;
  assert.equal(search.gaveOut, 'saturated');
  assert.match(search.reason, /while saturated: host CPU at 99 %/);
  const verdict = judgeLimits({ ...PROFILE, figures: PROFILE.figures.map((f) => ({ ...f, value: 10_000 })) }, {
    requested: 20_000,
    peakOnline: 18_000,
    kbpsPerUser: 1,
    timeScale: 1,
    lookup: () => null,
    thresholds: [],
    generator: generatorVerdict(aggregate, summarize(createHistogram())),
    logonFailures: 0,
    errorsByKind: {},
    stepSearch: search,
    seconds: aggregate.series,
  }).verdicts[0]!;
  assert.equal(verdict.verdict, 'inconclusive');
  assert.match(verdict.reason, /host CPU at 99 % of 2 cores .* during the failed measurement window at 12000 users/);
});

test('an error SLO that broke rests on the seconds the errors fell in: errors only in a saturated ramp-down make it inconclusive', () => {
  /** 20,000 users held within every latency SLO; errors only in the ramp-down (t 51–60), when `hostCpu` says. */
  const verdict = (hostCpu: (t: number) => number): LimitVerdict => {
    const aggregate = new RunAggregate();
    for (const second of seconds({ hostCpu })) aggregate.add({ ...second, online: Math.min(LIMIT, second.t * 700), errors: second.t > 50 ? { 'logoff-timeout': 40 } : {} });
    return judgeLimits(PROFILE, {
      requested: LIMIT,
      peakOnline: LIMIT,
      kbpsPerUser: 1,
      timeScale: 1,
      lookup: () => null,
      thresholds: [{ name: 'errors.rate < 0.1%', expression: 'errors.rate < 0.1%', metric: 'errors.rate', ok: false, actual: 0.02, abortOnFail: false }],
      generator: generatorVerdict(aggregate, summarize(createHistogram())),
      logonFailures: 0,
      errorsByKind: { 'logoff-timeout': 400 },
      seconds: aggregate.series,
    }).verdicts.find((v) => v.metric === 'users.peakOnline')!;
  };
  // The hold was calm; the host ran out in the ramp-down, where every error fell.
  const saturated = verdict((t) => (t > 50 ? 99 : 50));
  assert.equal(saturated.verdict, 'inconclusive');
  assert.match(saturated.reason, /host CPU at 99 % of 2 cores \(≥ 90 % in 10 of 10 seconds\) during the 10 seconds with errors \(t 51–60\)/);
  assert.match(saturated.reason, /would read “missed at 20000”/);
  // The same errors on a calm host are the server's.
  assert.equal(verdict(() => 50).verdict, 'missed');
  // Saturated only in the hold, where no error fell: the errors still stand.
  assert.equal(verdict((t) => (t > 30 && t <= 50 ? 99 : 50)).verdict, 'missed');
});

test('one stall of a second or more in the onset window is enough (a stopped or paused generator): inconclusive; outside it, or under a met verdict, it is not', () => {
  // Worker 1 stopped for 6 s, resuming in t 38: its p99 there says nothing, its max does.
  const stalled = (at: number): Load => ({ hostCpu: () => 60, eventLoopMax: (t, w) => (w === 1 && t === at ? 6012 : 20) });
  const v = usersVerdict(stalled(38), 'missed');
  assert.equal(v.verdict, 'inconclusive');
  assert.deepEqual(v.saturation?.resources.map((r) => r.resource), ['event loop']);
  assert.match(v.reason, /event loop of worker 1 stalled for 6012 ms in the second ending t 38 \(a stall of ≥ 1000 ms in 1 of 10 seconds\)/);
  // Before the window: the SLO broke for other reasons.
  assert.equal(usersVerdict(stalled(25), 'missed').verdict, 'missed');
  // A stall under a held SLO does not undo "met" (the hold is judged by shares of its seconds).
  assert.equal(usersVerdict(stalled(38), 'met').verdict, 'met');
  // Below the stall's length: not one.
  assert.equal(usersVerdict({ hostCpu: () => 60, eventLoopMax: (t, w) => (w === 1 && t === 38 ? 900 : 20) }, 'missed').verdict, 'missed');
});

test("a worker silent in the onset window: its seconds count as a stalled loop, its repeated CPU as nothing; silent long enough, the generator was the bottleneck", () => {
  // Worker 1 sent nothing in t 36–38; its last sample (busy at 99 %) is what the journal repeats.
  const silent = (from: number, to: number): Load => ({ hostCpu: () => 60, workerCpu: (t, w) => (w === 1 && t >= from - 1 && t <= to ? 99 : 40), silent: (t, w) => w === 1 && t >= from && t <= to });
  const v = usersVerdict(silent(36, 38), 'missed');
  assert.equal(v.verdict, 'inconclusive');
  // t 35 was a real busy second; only it counts for CPU (1 of 10: not saturation).
  assert.deepEqual(v.saturation?.resources.map((r) => r.resource), ['event loop']);
  assert.match(v.reason, /event loop of worker 1 stalled, no sample at all in 3 \(≥ 100 ms or silent in 3 of 10 seconds\)/);
  const bottleneck = (load: Load) => {
    const aggregate = new RunAggregate();
    for (const second of seconds(load)) aggregate.add(second);
    return generatorVerdict(aggregate, summarize(createHistogram()));
  };
  assert.equal(bottleneck(silent(36, 38)).bottleneck, false, '3 silent seconds of 60 are not sustained');
  // A silent second repeats the last sample, whose max may be a stall already counted where it was
  // measured: the repeat is not a second stall (one silent second of ten is not saturation either).
  assert.equal(usersVerdict({ hostCpu: () => 60, eventLoopMax: (t, w) => (w === 1 && t === 38 ? 6012 : 20), silent: (t, w) => w === 1 && t === 38 }, 'missed').verdict, 'missed');
  const long = bottleneck(silent(20, 29));
  assert.equal(long.bottleneck, true);
  assert.deepEqual(long.reasons, ['event-loop delay p99 above 100 ms in 10 of 60 seconds (in 10 of them a worker sent no sample at all: stopped or stalled)'], 'the repeated 99 % CPU is not a busy worker');
});
