/**
 * The metric registry: every figure imload reports, with its kind, unit, description and the
 * protocols that produce it. The engine's own metrics are listed here (ENGINE_METRICS); a
 * protocol adds its own in its descriptor's `metrics` field, and names the shared latencies its
 * users produce in `latencies`. Thresholds, metric values, the summary, the report's tables,
 * compare, Markdown, JUnit and `validate` all iterate a registry built from both
 * (`src/protocols/metric-registry.ts` assembles the one a run uses); docs/metrics.md documents
 * every entry (a unit test checks it).
 *
 * This file is pure data and lookups: it imports no protocol, so the registry can be built from
 * any list of descriptors (tests build their own).
 */

/** latency: an HDR histogram in ms; counter: a whole-run sum; gauge: a level; rate: a fraction of a whole. */
export type MetricKind = 'latency' | 'counter' | 'gauge' | 'rate';

/** A metric as a protocol declares it (ProtocolDescriptor.metrics). */
export interface MetricDeclaration {
  /** A latency's name is the summary's `latency.<name>` and a threshold's `<name>.p99`; a counter's is its own (`retransmissions`). */
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit: string;
  readonly description: string;
  /** Charted only in runs that sampled it (a topology's metric, e.g. a pool's cross-front-end latency). */
  readonly ifSampled?: boolean;
  /**
   * Each sample is one of the reporting user's transactions that the deployment retried on another
   * server after the first did not answer (a pool's failover): the engine also records the user
   * (events.ndjson.gz `retried`), so a fault's report names the users it touched.
   */
  readonly retry?: boolean;
}

/** How `imload compare` judges a metric: which way is worse and how much worse is allowed by default. */
export interface CompareRule {
  readonly better: 'lower' | 'higher';
  /** Allowed worsening: a fraction of the baseline and/or an amount in the metric's unit (both must be exceeded). */
  readonly limit: { readonly relative?: number; readonly absolute?: number };
  /** Per-second samples for the significance test: the per-second error count, or kbit/s per user in the steady seconds. */
  readonly samples?: 'errors' | 'kbpsPerUser';
  /** A summary path that must be above 0 for the metric to be measured (e.g. no messages expected: no loss rate). */
  readonly measuredWhen?: string;
}

export interface MetricDefinition extends MetricDeclaration {
  /** The protocols that produce it; undefined: every protocol. */
  readonly protocols?: readonly string[];
  /** Who declared it: the engine, or the protocol(s) whose descriptors did. */
  readonly origin: 'engine' | 'protocol';
  /**
   * Where summary.json keeps it, a dotted path (`errors.rate`, `users.peakOnline`). Latencies are
   * always `latency.<name>`; a protocol's counter is `counters.<name>`.
   */
  readonly summary: string;
  /** Whether a threshold (and a limit-profile figure) may name it. */
  readonly threshold: boolean;
  /** A measured value of 0 users online means nothing to judge (bandwidth per user). */
  readonly needsUsers?: boolean;
  /** Measured only by some runs (the same/cross-server split: network targets): no chart when it has no samples. */
  readonly ifSampled?: boolean;
  /**
   * Counted between a sender and its recipients, who may run in different segments of a
   * multi-host run (`--segment i/N`): a segment's journal holds only its side, so a threshold on
   * it is judged on the merged run (`imload merge`), never on one segment.
   */
  readonly acrossSegments?: boolean;
  readonly compare?: CompareRule;
}

/** An engine metric before the registry fills in its defaults. */
type EngineMetric = Omit<MetricDefinition, 'origin' | 'summary' | 'threshold'> & { readonly summary?: string; readonly threshold?: boolean };

const LATENCY_COMPARE: CompareRule = { better: 'lower', limit: { relative: 0.2, absolute: 5 } };

/**
 * Metrics the engine measures whatever the protocol. A latency with `protocols` unset here is
 * produced by the protocols whose descriptors name it in `latencies` (every one when all do, or
 * when none names it: a generator-side figure).
 */
export const ENGINE_METRICS = [
  { name: 'logon', kind: 'latency', unit: 'ms', description: 'scheduled logon time to ready (logged on, channels joined, subscriptions set up)', compare: LATENCY_COMPARE },
  { name: 'join', kind: 'latency', unit: 'ms', description: 'channel join sent to the server’s confirmation', compare: LATENCY_COMPARE },
  { name: 'delivery', kind: 'latency', unit: 'ms', description: 'a message’s scheduled send time to its receipt, per recipient', compare: LATENCY_COMPARE },
  { name: 'deliverySameServer', kind: 'latency', unit: 'ms', description: 'delivery latency where sender and recipient are on the same server of a network target', compare: LATENCY_COMPARE, ifSampled: true },
  { name: 'deliveryCrossServer', kind: 'latency', unit: 'ms', description: 'delivery latency where sender and recipient are on different servers of a network target (crossing server-to-server links)', compare: LATENCY_COMPARE, ifSampled: true },
  { name: 'presence', kind: 'latency', unit: 'ms', description: 'a presence change’s scheduled time to each watcher’s notification', compare: LATENCY_COMPARE },
  { name: 'logonDelay', kind: 'latency', unit: 'ms', description: 'generator lateness: a logon’s start after its scheduled time', threshold: false },
  { name: 'sendLag', kind: 'latency', unit: 'ms', description: 'generator lateness: an action sent after its scheduled time', threshold: false },
  { name: 'errors.count', kind: 'counter', unit: 'count', description: 'error events of every kind', summary: 'errors.total', compare: { better: 'lower', limit: { relative: 0.1, absolute: 5 }, samples: 'errors' } },
  { name: 'errors.rate', kind: 'rate', unit: 'fraction', description: 'failed attempts / attempts', compare: { better: 'lower', limit: { absolute: 0.001 } } },
  { name: 'messages.lost', kind: 'counter', unit: 'count', description: 'expected deliveries that never arrived', acrossSegments: true, compare: { better: 'lower', limit: { relative: 0.1, absolute: 10 } } },
  { name: 'messages.lossRate', kind: 'rate', unit: 'fraction', description: 'lost / expected deliveries', acrossSegments: true, compare: { better: 'lower', limit: { absolute: 0.001 }, measuredWhen: 'messages.expected' } },
  { name: 'messages.duplicates', kind: 'counter', unit: 'count', description: 'deliveries received more than once', compare: { better: 'lower', limit: { absolute: 0 } } },
  { name: 'messages.misrouted', kind: 'counter', unit: 'count', description: 'messages received by a user they were not meant for', compare: { better: 'lower', limit: { absolute: 0 } } },
  { name: 'messages.lostToNetsplit', kind: 'counter', unit: 'count', description: 'expected deliveries lost to a netsplit the lab injected (sender and recipient on different sides while it was in force); not in messages.lost', acrossSegments: true },
  { name: 'users.peakOnline', kind: 'gauge', unit: 'users', description: 'most users online at once', compare: { better: 'higher', limit: { relative: 0.01 } } },
  { name: 'users.onlineRatio', kind: 'rate', unit: 'fraction', description: 'peak online / requested users' },
  { name: 'users.logonFailures', kind: 'counter', unit: 'count', description: 'logons that failed or timed out' },
  { name: 'bandwidth.kbpsPerUser', kind: 'gauge', unit: 'kbit/s', description: 'application kbit/s per online user (hold phase, wall-clock)', needsUsers: true, compare: { better: 'lower', limit: { relative: 0.1 }, samples: 'kbpsPerUser' } },
  { name: 'generator.eventLoopP99', kind: 'gauge', unit: 'ms', description: 'the worst per-second event-loop delay p99 of any worker' },
  // Each-instance channels (unlinked servers): a report figure of what the mode costs, not a gate.
  { name: 'eachInstance.extraMessages', kind: 'counter', unit: 'count', description: 'each-instance channels: channel posts and received copies beyond a message’s first (the other instances’), messages a linked network would not carry', threshold: false },
  { name: 'eachInstance.extraBytes', kind: 'counter', unit: 'bytes', description: 'each-instance channels: application bytes on users’ connections to servers other than their own, in and out', threshold: false },
  { name: 'eachInstance.extraBytesRatio', kind: 'rate', unit: 'fraction', description: 'each-instance channels: extra bytes over the bytes of the users’ own connections (what one linked instance would carry)', threshold: false },
] as const satisfies readonly EngineMetric[];

/** The engine's latencies (the recorder's fixed histograms), e.g. `delivery`. */
export type EngineLatencyName = Extract<(typeof ENGINE_METRICS)[number], { readonly kind: 'latency' }>['name'];
export const ENGINE_LATENCIES = ENGINE_METRICS.filter((m) => m.kind === 'latency').map((m) => m.name) as readonly EngineLatencyName[];

/** Default compare rules for what a protocol declares. */
const PROTOCOL_COMPARE: Partial<Record<MetricKind, CompareRule>> = {
  latency: LATENCY_COMPARE,
  counter: { better: 'lower', limit: { relative: 0.1, absolute: 10 } },
};

/** What the registry reads from a protocol's descriptor. */
export interface ProtocolMetricSource {
  readonly name: string;
  /** Engine latencies its users produce (`ProtocolDescriptor.latencies`). */
  readonly latencies: readonly string[];
  readonly metrics?: readonly MetricDeclaration[];
}

/** A latency statistic: any percentile `pNN` or `pNN.N…` strictly between 0 and 100, or `max`, or `mean`. */
const PERCENTILE_STAT = /^p(\d{1,2}(?:\.\d+)?)$/;

/** The percentile a statistic names (`p99.9` → 99.9), or null for max, mean and non-percentiles. */
export function percentileOf(stat: string): number | null {
  const match = PERCENTILE_STAT.exec(stat);
  if (!match) return null;
  const p = Number(match[1]);
  return p > 0 ? p : null;
}

function isLatencyStat(stat: string): boolean {
  return stat === 'max' || stat === 'mean' || percentileOf(stat) !== null;
}

const NAME = /^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)?$/;

export class MetricRegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricRegistryError';
  }
}

export class MetricRegistry {
  private readonly byName: ReadonlyMap<string, MetricDefinition>;

  private constructor(readonly all: readonly MetricDefinition[]) {
    this.byName = new Map(all.map((m) => [m.name, m]));
  }

  /**
   * The engine's metrics plus each protocol's. A metric two protocols declare alike is one
   * metric produced by both; declared differently, or clashing with an engine metric, it is refused.
   */
  static build(engine: readonly EngineMetric[], protocols: readonly ProtocolMetricSource[]): MetricRegistry {
    const everyProtocol = (names: string[]) => (protocols.length > 0 && names.length === protocols.length ? undefined : names);
    const defined: MetricDefinition[] = engine.map((m) => {
      const producers = m.kind === 'latency' && m.protocols === undefined ? protocols.filter((p) => p.latencies.includes(m.name)).map((p) => p.name) : [];
      return {
        ...m,
        origin: 'engine',
        summary: m.summary ?? (m.kind === 'latency' ? `latency.${m.name}` : m.name),
        threshold: m.threshold ?? true,
        ...(producers.length > 0 ? { protocols: everyProtocol(producers) } : {}),
      };
    });
    const engineNames = new Set(defined.map((m) => m.name));
    for (const p of protocols) {
      for (const latency of p.latencies) {
        const m = defined.find((d) => d.name === latency);
        if (!m || m.kind !== 'latency') throw new MetricRegistryError(`protocol ${p.name} names "${latency}" among its latencies, which is no engine latency (declare it in its metrics)`);
      }
    }
    const declared = new Map<string, { declaration: MetricDeclaration; protocols: string[]; descriptions: Map<string, string> }>();
    for (const p of protocols) {
      for (const d of p.metrics ?? []) {
        if (!NAME.test(d.name) || d.name.includes('.')) throw new MetricRegistryError(`protocol ${p.name}: metric name "${d.name}" must be one word of letters and digits`);
        if (engineNames.has(d.name)) throw new MetricRegistryError(`protocol ${p.name}: metric "${d.name}" is the engine's`);
        if (d.kind !== 'latency' && d.kind !== 'counter') throw new MetricRegistryError(`protocol ${p.name}: metric "${d.name}" is a ${d.kind}; a protocol records latencies and counters`);
        const seen = declared.get(d.name);
        if (!seen) declared.set(d.name, { declaration: d, protocols: [p.name], descriptions: new Map([[p.name, d.description]]) });
        else if (seen.declaration.kind !== d.kind || seen.declaration.unit !== d.unit) {
          throw new MetricRegistryError(`metric "${d.name}" is a ${seen.declaration.kind} in ${seen.protocols.join(', ')} but a ${d.kind} (${d.unit}) in ${p.name}`);
        } else {
          seen.protocols.push(p.name);
          seen.descriptions.set(p.name, d.description);
        }
      }
    }
    for (const { declaration, protocols: producers, descriptions } of declared.values()) {
      // Protocols that word it alike share one description; otherwise each says its own.
      const wordings = new Set(descriptions.values());
      const description = wordings.size === 1 ? declaration.description : [...descriptions].map(([protocol, text]) => `${protocol}: ${text}`).join('; ');
      defined.push({
        name: declaration.name,
        kind: declaration.kind,
        unit: declaration.unit,
        description,
        protocols: everyProtocol(producers),
        origin: 'protocol',
        summary: declaration.kind === 'latency' ? `latency.${declaration.name}` : `counters.${declaration.name}`,
        threshold: true,
        ...(PROTOCOL_COMPARE[declaration.kind] ? { compare: PROTOCOL_COMPARE[declaration.kind] } : {}),
        ...(declaration.ifSampled ? { ifSampled: true } : {}),
        ...(declaration.retry ? { retry: true } : {}),
      });
    }
    return new MetricRegistry(defined);
  }

  get(name: string): MetricDefinition | undefined {
    return this.byName.get(name);
  }

  /** Every latency (HDR histogram), engine ones first. */
  latencies(): readonly MetricDefinition[] {
    return this.all.filter((m) => m.kind === 'latency');
  }

  /** Counters a protocol records (the engine's own counters are the recorder's fixed slots, names.ts). */
  protocolCounters(): readonly MetricDefinition[] {
    return this.all.filter((m) => m.origin === 'protocol' && m.kind === 'counter');
  }

  /** Whether `protocol` produces the metric. */
  produces(metric: MetricDefinition, protocol: string): boolean {
    return metric.protocols === undefined || metric.protocols.includes(protocol);
  }

  /**
   * The registered metric a threshold metric reads: `join` for `join.p95`, `errors.rate` for
   * itself; undefined for a name that is not a threshold metric.
   */
  thresholdMetric(metric: string): { definition: MetricDefinition; stat?: string } | undefined {
    const whole = this.byName.get(metric);
    if (whole && whole.kind !== 'latency') return whole.threshold ? { definition: whole } : undefined;
    const dot = metric.indexOf('.');
    if (dot < 0) return undefined;
    const latency = this.byName.get(metric.slice(0, dot));
    const stat = metric.slice(dot + 1);
    return latency && latency.kind === 'latency' && latency.threshold && isLatencyStat(stat) ? { definition: latency, stat } : undefined;
  }

  /** How the threshold vocabulary reads in messages and the JSON Schema's description. */
  thresholdVocabulary(): string[] {
    return this.all
      .filter((m) => m.threshold)
      .map((m) => (m.kind === 'latency' ? `${m.name}.pNN (any percentile: p50, p95, p99.9, ...), ${m.name}.max, ${m.name}.mean` : m.name));
  }

  /** The protocols' metrics, as a journal header records them. */
  journalMetrics(): Array<Pick<MetricDefinition, 'name' | 'kind' | 'unit' | 'description' | 'protocols'>> {
    return this.all
      .filter((m) => m.origin === 'protocol')
      .map((m) => ({ name: m.name, kind: m.kind, unit: m.unit, description: m.description, ...(m.protocols ? { protocols: m.protocols } : {}) }));
  }

  /**
   * This registry plus the protocol metrics a journal's header recorded that it lacks (a run of
   * another imload build, or of a protocol this build does not have), so their figures are kept.
   */
  withJournal(metrics: ReadonlyArray<Pick<MetricDefinition, 'name' | 'kind' | 'unit' | 'description' | 'protocols'>> | undefined): MetricRegistry {
    const missing = (metrics ?? []).filter((m) => !this.byName.has(m.name) && (m.kind === 'latency' || m.kind === 'counter'));
    if (missing.length === 0) return this;
    return new MetricRegistry([
      ...this.all,
      ...missing.map((m): MetricDefinition => ({
        ...m,
        origin: 'protocol',
        summary: m.kind === 'latency' ? `latency.${m.name}` : `counters.${m.name}`,
        threshold: true,
        ...(PROTOCOL_COMPARE[m.kind] ? { compare: PROTOCOL_COMPARE[m.kind] } : {}),
      })),
    ]);
  }

  /** The registry as the Markdown table docs/metrics.md carries (a unit test keeps them equal). */
  markdownTable(): string {
    const cell = (text: string) => text.replace(/\|/g, '\\|');
    const rows = this.all.map((m) => {
      const named = m.kind === 'latency' ? `\`${m.name}.p99\`, \`.max\`, \`.mean\`` : `\`${m.name}\``;
      const threshold = !m.threshold ? '—' : m.acrossSegments ? `${named} (of a split run: the merged run)` : named;
      const protocols = m.protocols ? m.protocols.join(', ') : 'every';
      return `| \`${m.name}\` | ${m.kind} | ${m.unit} | ${protocols} | ${m.origin} | \`${m.summary}\` | ${threshold} | ${cell(m.description)} |`;
    });
    return ['| metric | kind | unit | protocols | declared by | summary.json | threshold | description |', '|---|---|---|---|---|---|---|---|', ...rows].join('\n');
  }

  /** `a.b.c` read from an object, or undefined. */
  static read(source: unknown, path: string): unknown {
    let value: unknown = source;
    for (const key of path.split('.')) {
      if (value === null || typeof value !== 'object') return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  }
}
