/**
 * Synthetic run journals with exact control over their figures, written with the real
 * JournalWriter and MetricsRecorder (so they encode exactly like a live run's). Used by the
 * report tests and bench/report.bench.ts.
 */
import { appendFileSync } from 'node:fs';
import { JournalWriter, type JournalHeader } from '../../src/metrics/journal.js';
import { METRICS } from '../../src/protocols/metric-registry.js';
import { MetricsRecorder } from '../../src/metrics/recorder.js';
import type { GeneratorHealth } from '../../src/metrics/names.js';
import { BUILT_IN_PROFILES } from '../../src/scenarios/limits.js';

export interface SyntheticRun {
  readonly path: string;
  readonly seconds: number;
  readonly users: number;
  readonly rampSeconds: number;
  readonly rampDownSeconds?: number;
  readonly seed?: number;
  readonly workers?: number;
  /** Median delivery latency in ms at second t (lognormal around it). */
  readonly deliveryMedianMs?: (t: number) => number;
  /** Channel members per channel message (fan-out of deliveries). */
  readonly fanOut?: number;
  /** Record presence changes and their latencies (SIP/RVP-like runs). */
  readonly presence?: boolean;
  /** Errors of one kind per second, by second; each is a failed send (errors.rate counts failed attempts). */
  readonly errorsAt?: (t: number) => Record<string, number>;
  readonly eventLoopMs?: (t: number) => number;
  /** Datagrams the kernel dropped on the lab server's UDP sockets in second t. */
  readonly serverDropsAt?: (t: number) => number;
  /** Datagrams the kernel dropped on worker w's own UDP sockets in second t. */
  readonly udpDropsAt?: (t: number, worker: number) => number;
  /**
   * A worker stopped for `seconds` from second `from`: it sends no sample, so its last one is repeated
   * stale (as the coordinator journals it), and its next sample carries the stall as its max.
   */
  readonly stalledWorker?: { readonly worker: number; readonly from: number; readonly seconds: number };
  /** One segment of a split population (0-based index, as the journal has it): default the whole. */
  readonly segment?: { readonly index: number; readonly count: number };
  /** Of the deliveries expected each second, the share received (a segment's users get others' sends, not all of their own): default 1. */
  readonly receivedShare?: number;
  /** Write the end record (false: the run was killed). */
  readonly ended?: boolean;
  /** Append half a line after the last second, as a process killed mid-write leaves it. */
  readonly tornLastLine?: boolean;
  readonly thresholds?: readonly string[];
  readonly runId?: string;
}

/** mulberry32: small, fast, seedable; the fixture must be the same every time. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function writeSyntheticJournal(run: SyntheticRun): JournalHeader {
  const rand = random(run.seed ?? 1);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const lognormal = (median: number, sigma: number) => median * Math.exp(sigma * normal());
  /** A Poisson-ish count with the right mean, cheap enough for thousands of seconds. */
  const count = (mean: number) => Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
  const workers = run.workers ?? Math.max(1, Math.ceil(run.users / 10_000));
  const rampDown = run.rampDownSeconds ?? Math.ceil(run.rampSeconds / 2);
  /** Each worker's last sample it sent, repeated stale while it is stopped (stalledWorker). */
  const lastHealth: GeneratorHealth[] = [];
  const holdEnd = run.seconds - rampDown;
  const startEpochMs = Date.UTC(2026, 10, 22, 3, 0, 0);
  const profile = BUILT_IN_PROFILES['exchange2000-chat']!;
  const header: JournalHeader = {
    type: 'header',
    version: 1,
    runId: run.runId ?? `synthetic-${run.seconds}s-${run.users}u`,
    scenarioName: 'synthetic',
    scenarioFile: '/nonexistent/scenarios.yaml',
    scenario: {
      description: `synthetic ${run.users}-user run for report tests`,
      target: 'chat',
      limits: 'exchange2000-chat',
      seed: run.seed ?? 1,
      timeScale: 1,
      // A segment's journal names the whole population; its own users are `users`.
      population: { users: run.users * (run.segment?.count ?? 1) },
      phases: [],
      behaviour: {},
      thresholds: run.thresholds ?? ['logon.p95 < 3s', 'delivery.p99 < 2s', 'errors.rate < 1%'],
    },
    seed: run.seed ?? 1,
    target: { name: 'chat', url: 'irc://127.0.0.1:6667', protocol: 'irc' },
    limits: { name: 'exchange2000-chat', ...profile },
    startedAt: new Date(startEpochMs).toISOString(),
    startEpochMs,
    timeline: { rampUpEnd: run.rampSeconds * 1000, holdEnd: holdEnd * 1000, end: run.seconds * 1000 },
    workers,
    segment: run.segment ?? { index: 0, count: 1 },
    imloadVersion: '0.1.0',
    command: `imload run scenarios.yaml -s synthetic --seed ${run.seed ?? 1}`,
    host: { hostname: 'synthetic', cpus: 2, memoryBytes: 2 ** 34, node: process.version },
    server: { kind: 'inspircd', version: 'InspIRCd-3 (synthetic)', fdLimit: 20_000 },
  };
  const writer = new JournalWriter(run.path);
  writer.append(header);
  writer.append({ type: 'note', key: 'irc:server', text: 'server InspIRCd-3 (synthetic); IRCX not offered' });

  const recorder = new MetricsRecorder(0, METRICS);
  const fanOut = run.fanOut ?? 50;
  let online = 0;
  for (let t = 1; t <= run.seconds; t++) {
    const phase = t <= run.rampSeconds ? 'rampUp' : t <= holdEnd ? 'hold' : 'rampDown';
    const logons = phase === 'rampUp' ? Math.min(run.users - online, Math.ceil(run.users / run.rampSeconds)) : 0;
    const logoffs = phase === 'rampDown' ? Math.min(online, Math.ceil(run.users / rampDown)) : 0;
    for (let i = 0; i < logons; i++) {
      recorder.add('logonAttempts');
      recorder.add('logonOk');
      recorder.latency('logon', lognormal(25, 0.5));
      // IRC's own metric (its descriptor's): NICK/USER to 001. A constant, so the random stream is unchanged.
      recorder.protocolMetric('register', 6);
      // SIP pool's split delivery latencies (constants: the random stream is unchanged).
      recorder.protocolMetric('deliverySameFrontEnd', 3);
      recorder.protocolMetric('deliveryCrossFrontEnd', 4);
      recorder.add('joinsOk', 2);
      recorder.latency('join', lognormal(4, 0.4));
      recorder.latency('join', lognormal(4, 0.4));
    }
    online += logons - logoffs;
    recorder.add('logoffAttempts', logoffs);
    recorder.add('logoffs', logoffs);
    if (online > 0 && phase !== 'rampUp') {
      const ims = count((online * 3) / 3600);
      const channelMessages = count((online * 2) / 3600);
      const median = run.deliveryMedianMs?.(t) ?? 3;
      recorder.add('messagesSent', ims);
      recorder.add('channelMessagesSent', channelMessages);
      const deliveries = ims + channelMessages * fanOut;
      recorder.add('deliveriesExpected', deliveries);
      recorder.add('deliveriesReceived', Math.round(deliveries * (run.receivedShare ?? 1)));
      for (let i = 0; i < deliveries; i++) recorder.latency('delivery', lognormal(median, 0.6));
      for (let i = 0; i < ims + channelMessages; i++) recorder.latency('sendLag', lognormal(0.5, 0.5));
      if (run.presence) {
        const changes = count((online * 2) / 3600);
        recorder.add('presenceChanges', changes);
        recorder.add('presenceExpected', changes * 20);
        recorder.add('presenceSeen', changes * 20);
        for (let i = 0; i < changes * 20; i++) recorder.latency('presence', lognormal(median * 2, 0.6));
      }
    }
    // About 1.2 kbit/s per online user of application bytes, mostly inbound.
    recorder.add('bytesIn', Math.round(online * 130 * (0.8 + 0.4 * rand())));
    recorder.add('bytesOut', Math.round(online * 20 * (0.8 + 0.4 * rand())));
    for (const [kind, n] of Object.entries(run.errorsAt?.(t) ?? {})) {
      for (let i = 0; i < n; i++) recorder.error(kind);
      recorder.add('sendsFailed', n);
    }
    recorder.online = online;
    const health: GeneratorHealth[] = [];
    for (let w = 0; w < workers; w++) {
      const vus = Math.round(online / workers);
      const loop = run.eventLoopMs?.(t) ?? 10 + 5 * rand();
      const udpReceiveDrops = run.udpDropsAt?.(t, w) ?? 0;
      const sample: GeneratorHealth = { worker: w, eventLoopP99: loop, eventLoopMax: loop * 1.5, cpuPercent: 20 + (40 * online) / run.users + 5 * rand(), rssBytes: 80 * 2 ** 20 + vus * 20_000, baselineRssBytes: 80 * 2 ** 20, heapUsedBytes: 40 * 2 ** 20 + vus * 12_000, openFds: vus + 30, vus, ...(udpReceiveDrops > 0 ? { udpReceiveDrops } : {}) };
      const stall = run.stalledWorker?.worker === w ? run.stalledWorker : undefined;
      if (stall && t >= stall.from && t < stall.from + stall.seconds) {
        const { udpReceiveDrops: _once, ...last } = lastHealth[w]!;
        health.push({ ...last, stale: true });
        continue;
      }
      const resumed = stall && t === stall.from + stall.seconds ? { ...sample, eventLoopMax: stall.seconds * 1000 + loop } : sample;
      lastHealth[w] = resumed;
      health.push(resumed);
    }
    const snapshot = recorder.snapshot();
    // A two-core host holding the server and the workers, well short of saturation (no rand(): the other figures stay as they were).
    const serverDrops = run.serverDropsAt?.(t) ?? 0;
    const server = { cpuPercent: 10 + (30 * online) / run.users, rssBytes: 20 * 2 ** 20 + online * 4096, processes: 1, ...(run.serverDropsAt ? { udpReceiveDrops: serverDrops } : {}) };
    const busyCores = server.cpuPercent / 100 + health.reduce((sum, h) => sum + h.cpuPercent, 0) / 100;
    const host = { cpuPercent: Math.min(100, (100 * busyCores) / 2 + 5), cores: 2 };
    writer.append({ type: 'second', t, at: startEpochMs + t * 1000, phase, online, counters: snapshot.counters, errors: snapshot.errors, histograms: snapshot.histograms, health, host, server });
    if (t === holdEnd - 2) writer.append({ type: 'crosscheck', at: startEpochMs + t * 1000, imloadOnline: online, serverOnline: online, source: 'irc: the server’s own count (synthetic)' });
  }
  if (run.ended !== false) writer.append({ type: 'end', at: startEpochMs + (run.seconds + 1) * 1000, reason: 'completed' });
  if (run.tornLastLine) appendFileSync(run.path, '{"type":"second","t":');
  return header;
}
