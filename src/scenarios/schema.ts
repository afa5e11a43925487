/**
 * The one schema for scenarios.yaml. The loader validates with it, `imload schema` prints the JSON
 * Schema generated from it, and the engine consumes its output types — so the three never drift.
 */
import { z } from 'zod';
import { THRESHOLD_METRICS, isThresholdMetric, parseThresholdCheck } from '../protocols/metric-registry.js';
import { UserGroup } from './flow-schema.js';
import { Duration } from '../metrics/duration.js';
import { DESCRIPTORS, LAB_KINDS, PROTOCOLS, URL_SCHEMES, labServerOf, schemeOf } from '../protocols/registry.js';
import type { LabServerKind, ProtocolDescriptor } from '../protocols/descriptor.js';
import { closest } from './suggest.js';

/** Secrets are never inline: they come from an environment variable or a file. */
export const SecretRef = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') }),
  z.strictObject({ file: z.string().min(1) }),
]);
export type SecretRef = z.infer<typeof SecretRef>;

const SCHEME_NAMES = URL_SCHEMES.map((s) => s.scheme);
/** Protocols whose users can post to each instance of a channel (`network.channels: each-instance`). */
const DESCRIPTORS_WITH_EACH_INSTANCE = DESCRIPTORS.filter((d) => d.capabilities.eachInstance).map((d) => d.name);
/** A target URL to show in messages, e.g. irc://127.0.0.1:6667 (the registry's first scheme). */
export const EXAMPLE_TARGET_URL = `${URL_SCHEMES[0]!.scheme}://127.0.0.1:${URL_SCHEMES[0]!.defaultPort}`;

/** `<scheme>://host[:port][/]` for every scheme of every protocol in the registry. */
export const TARGET_URL_PATTERN = new RegExp(`^(${SCHEME_NAMES.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')}):\\/\\/[^\\s/:]+(:\\d{1,5})?\\/?$`);

/** A non-empty tuple for z.enum from a registry list. */
function names(list: readonly string[]): [string, ...string[]] {
  return list as [string, ...string[]];
}

const TargetFields = z.strictObject({
  /** `<scheme>://host:port`: each protocol's schemes (irc://, ircs:// for TLS, ...; the registry of descriptors lists them). */
  url: z.string().regex(TARGET_URL_PATTERN, `expected a URL like ${EXAMPLE_TARGET_URL} (schemes: ${SCHEME_NAMES.join(', ')})`),
  /** The transport of a non-TLS scheme, where the protocol offers several (the first is the default); TLS comes from the scheme. */
  transport: z.enum(['udp', 'tcp', 'tls']).optional(),
  /** IM domain for user addresses. */
  domain: z.string().optional(),
  /** Password shared by every user, unless the population names its own. */
  password: SecretRef.optional(),
  tls: z
    .strictObject({ ca: z.string().optional(), insecure: z.boolean().default(false), serverName: z.string().optional() })
    .optional(),
  /** The lab server that provides this target in `imload demo` / `imload run --lab` (one of the protocol's lab kinds). */
  lab: z.enum(names(LAB_KINDS)).optional(),
  /**
   * A network of linked servers instead of one: the servers' URLs (`url` is the first, where the
   * online-count cross-check asks), or with `lab` how many servers the lab starts; `spread` says
   * which server each user connects to (`range`: consecutive blocks of users, `hash`: by a hash of the index).
   */
  network: z
    .strictObject({
      urls: z.array(z.string().regex(TARGET_URL_PATTERN, `expected a URL like ${EXAMPLE_TARGET_URL}`)).min(1).optional(),
      servers: z.number().int().min(1).max(50).optional(),
      spread: z.enum(['range', 'hash']).default('range'),
      /**
       * `linked` (default): the servers relay channels between them. `each-instance`: they are
       * not linked: every user connects to every server, joins each channel on each and posts
       * each channel message to each instance; receivers keep the first copy (docs/topologies.md).
       */
      channels: z.enum(['linked', 'each-instance']).default('linked'),
    })
    .optional(),
  /** Protocol-specific knobs, checked against the protocol's options schema and passed to the agent. */
  options: z.record(z.string(), z.unknown()).default({}),
});

/**
 * What only the target's protocol can say: its options (a misspelt one is pointed at where it is
 * written), its transports and its lab servers. Runs even when another field of the target is
 * wrong, so every mistake is reported at once.
 */
export const Target = TargetFields.check(
  z.superRefine((target: Partial<z.output<typeof TargetFields>> | null, ctx) => {
    if (target === null || typeof target !== 'object' || Array.isArray(target)) return;
    if (typeof target.url !== 'string' || !TARGET_URL_PATTERN.test(target.url)) return;
    const scheme = schemeOf(target.url.slice(0, target.url.indexOf(':')));
    if (!scheme) return;
    const protocol = scheme.protocol;
    if (target.options !== null && typeof target.options === 'object' && !Array.isArray(target.options)) {
      for (const issue of optionProblems(protocol, target.options)) ctx.addIssue(issue);
    }
    if ((target.transport === 'udp' || target.transport === 'tcp') && !protocol.transports.includes(target.transport)) {
      ctx.addIssue({
        code: 'custom',
        path: ['transport'],
        message: `${protocol.name} targets do not run over ${target.transport} (${protocol.name} transports: ${[...protocol.transports, 'tls'].join(', ')})`,
      });
    }
    const lab = typeof target.lab === 'string' ? labServerOf(target.lab) : undefined;
    if (lab && lab.protocol !== protocol) {
      ctx.addIssue({
        code: 'custom',
        path: ['lab'],
        message: `lab server ${lab.kind} speaks ${lab.protocol.name}, not ${protocol.name} (${protocol.name} lab servers: ${protocol.lab.map((l) => l.kind).join(', ') || 'none'})`,
      });
    }
    for (const issue of channelModeProblems(protocol, target, lab)) ctx.addIssue(issue);
  }, { when: (payload) => payload.value !== null && typeof payload.value === 'object' && !Array.isArray(payload.value) }),
);

/** The target's options against its protocol's schema: issues placed under `options`. */
function optionProblems(protocol: ProtocolDescriptor, options: Record<string, unknown>): z.core.$ZodRawIssue[] {
  const result = protocol.options.safeParse(options);
  if (result.success) return [];
  const known = protocol.options instanceof z.ZodObject ? Object.keys(protocol.options.shape) : [];
  const list = known.length > 0 ? ` (${protocol.name} options: ${known.join(', ')})` : ` (${protocol.name} targets take no options)`;
  return result.error.issues.flatMap((issue): z.core.$ZodRawIssue[] => {
    const path = ['options', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const near = closest(key, known);
        return {
          code: 'custom',
          path: [...path, key],
          params: { atKey: true },
          message: `unknown ${protocol.name} option "${key}"${near ? `; did you mean "${near}"?` : ''}${list}`,
          input: options,
        };
      });
    }
    return [{ code: 'custom', path, message: `${protocol.name} option: ${issue.message}`, input: options }];
  });
}

/**
 * `network.channels` against the protocol and the servers: each-instance needs a protocol that
 * can hold a connection per server, two or more servers, and servers that are not linked (two
 * connections of one user on linked servers would be a nick collision); an unlinked lab needs it.
 */
function channelModeProblems(
  protocol: ProtocolDescriptor,
  target: Partial<z.output<typeof TargetFields>>,
  lab: LabServerKind | undefined,
): z.core.$ZodRawIssue[] {
  const network = target.network !== null && typeof target.network === 'object' ? target.network : undefined;
  const eachInstance = network?.channels === 'each-instance';
  const at = (message: string): z.core.$ZodRawIssue => ({ code: 'custom', path: ['network', 'channels'], message, input: target });
  if (!eachInstance) {
    if (lab?.network !== 'unlinked') return [];
    return [{ code: 'custom', path: ['lab'], message: `lab server ${lab.kind} starts servers that are not linked: channels do not span them; set network: { channels: each-instance }`, input: target }];
  }
  if (!protocol.capabilities.eachInstance) {
    const able = DESCRIPTORS_WITH_EACH_INSTANCE.join(', ') || 'none';
    return [at(`${protocol.name} targets cannot post to each instance of a channel: the ${protocol.title} agent holds one connection per user (protocols that can: ${able})`)];
  }
  if (lab?.network === 'linked') {
    return [at(`lab server ${lab.kind} links its servers: each-instance is for servers that are not linked (${protocol.name} lab servers that are not: ${protocol.lab.filter((l) => l.network === 'unlinked').map((l) => l.kind).join(', ') || 'none'})`)];
  }
  if (lab && !lab.network) return [at(`lab server ${lab.kind} starts one server: each-instance needs a network of two or more`)];
  const servers = lab ? (network?.servers ?? 2) : (network?.urls?.length ?? 0);
  if (servers < 2) return [at(lab ? 'each-instance needs two or more servers (network.servers)' : 'each-instance needs two or more servers: list them in network.urls')];
  return [];
}

export type Target = z.infer<typeof Target>;

export const LimitFigure = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'expected a lower-case id like users-per-server'),
  /** What the figure bounds: a metric the run measures (a threshold metric, e.g. users.peakOnline, delivery.p99). */
  metric: z.string().refine(isThresholdMetric, { error: (issue) => `unknown metric "${String(issue.input)}"; known: ${THRESHOLD_METRICS.join(', ')}` }),
  /** `atLeast`: the server must hold this much (capacity); `atMost`: must not exceed (cost). */
  kind: z.enum(['atLeast', 'atMost']),
  value: z.number(),
  unit: z.string(),
  source: z.string(),
  wording: z.string(),
});

export const LimitProfile = z.strictObject({
  title: z.string(),
  version: z.string().default('1'),
  protocol: z.enum(names(PROTOCOLS)).optional(),
  figures: z.array(LimitFigure).min(1),
});
export type LimitProfile = z.infer<typeof LimitProfile>;

const Channels = z.strictObject({
  count: z.number().int().min(0).default(0),
  prefix: z.string().regex(/^[#&][^\s,]*$/, 'expected a channel prefix starting with # or &').default('#room-'),
  /** How many ordinary channels each user joins. */
  perUser: z
    .strictObject({ min: z.number().int().min(0).default(1), max: z.number().int().min(0).default(3) })
    .default({ min: 1, max: 3 }),
  /** How users spread over channels: evenly, or Zipf-like (a few busy channels, a long tail). */
  spread: z.enum(['uniform', 'zipf']).default('uniform'),
});

const Auditorium = z.strictObject({
  name: z.string().regex(/^[#&][^\s,]+$/, 'expected a channel name like #townhall'),
  presenters: z.number().int().min(1).default(1),
  /** Fraction of the population listening, 0..1. */
  listeners: z.number().min(0).max(1).default(0.5),
});

const Population = z.strictObject({
  users: z.number().int().min(1).max(10_000_000),
  /** `{index:N}` is the 1-based user number, zero-padded to N digits. */
  namePattern: z.string().regex(/\{index(:\d+)?\}/, 'must contain {index} or {index:N}').default('u{index:6}'),
  /** Per-user password; `{user}` in a file reference is replaced by the user name. */
  password: SecretRef.optional(),
  contacts: z.number().int().min(0).max(1000).default(20),
  channels: Channels.default({ count: 0, prefix: '#room-', perUser: { min: 1, max: 3 }, spread: 'uniform' }),
  auditoriums: z.array(Auditorium).default([]),
  /** Scripted users: each group's users follow its flow; the rest follow `behaviour`. */
  groups: z.array(UserGroup).default([]),
});

/** Logons in progress at once; unset means `auto`. */
const LogonsInFlight = z.union([z.number().int().positive(), z.literal('auto')], { error: 'expected a whole number above 0, or auto' }).optional();

const Phase = z.discriminatedUnion('phase', [
  z.strictObject({
    phase: z.literal('rampUp'),
    /** Logons started per second, across all workers. */
    rate: z.number().positive(),
    /**
     * Logons in progress at once: a number across all workers (ngIRCd's listen backlog is 10), or
     * `auto` (each worker adapts to a server that throttles or times logons out; engine/logon-window.ts).
     */
    maxInFlight: LogonsInFlight,
  }),
  z.strictObject({ phase: z.literal('hold'), duration: Duration }),
  z.strictObject({
    phase: z.literal('rampDown'),
    /** Logoffs started per second, across all workers. */
    rate: z.number().positive(),
    /**
     * Logoffs in progress at once across all workers: when the server slows down, users wait
     * their turn instead of piling new requests (and their retransmissions) onto it.
     */
    maxInFlight: z.number().int().positive().optional(),
  }),
  z.strictObject({
    /**
     * Capacity search: start at `from` users, add `step` users per step (at `rate` logons/s) up
     * to population.users, hold each step for `windows` × `stepDuration`, and stop after the
     * first step in which a window breaks an SLO (the scenario's thresholds).
     */
    phase: z.literal('stepSearch'),
    from: z.number().int().min(1),
    step: z.number().int().min(1),
    rate: z.number().positive(),
    stepDuration: Duration,
    /** Measurement windows per step: more windows, a firmer verdict on the edge steps. */
    windows: z.number().int().min(1).max(10).default(1),
    maxInFlight: LogonsInFlight,
  }),
]);
export type Phase = z.infer<typeof Phase>;

const Reconnect = z.strictObject({
  enabled: z.boolean().default(false),
  maxAttempts: z.number().int().min(1).default(5),
  initialDelay: Duration.prefault('1s'),
  maxDelay: Duration.prefault('30s'),
});

const Behaviour = z.strictObject({
  messagesPerHour: z.number().min(0).default(3),
  channelMessagesPerHour: z.number().min(0).default(2),
  presenterMessagesPerHour: z.number().min(0).default(30),
  presenceChangesPerHour: z.number().min(0).default(2),
  /** Filler bytes added to each message body after the correlation stamp. */
  messageBytes: z.number().int().min(0).max(400).default(40),
  /** When scheduled activity starts: at each user's logon, or when the whole ramp-up is over. */
  activityStart: z.enum(['logon', 'rampUpEnd']).default('logon'),
  /** Extra wait after activity start before the first scheduled action. */
  activityDelay: Duration.prefault('0s'),
  /** Grace before ramp-down with no new sends, so in-flight deliveries land before users leave. */
  drain: Duration.prefault('3s'),
  logonTimeout: Duration.prefault('10s'),
  joinTimeout: Duration.prefault('10s'),
  reconnect: Reconnect.prefault({}),
});
export type Behaviour = z.infer<typeof Behaviour>;

const ThresholdCheck = z.string().superRefine((check, ctx) => {
  const parsed = parseThresholdCheck(check);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const Threshold = z.union([
  ThresholdCheck,
  z.strictObject({
    check: ThresholdCheck,
    /** Stop the run as soon as this threshold fails (after `delayAbortEval`). */
    abortOnFail: z.boolean().default(false),
    delayAbortEval: Duration.prefault('10s'),
  }),
]);

/** A server fault the lab injects during the run (needs --lab: the lab owns the process). */
const KillFault = z.strictObject({
  at: Duration,
  /** Target name whose lab server is killed. */
  kill: z.string(),
  /** Which of the lab's servers, as the lab names them (a kamailio-pool: fe1, fe2, presence, dispatcher, director); omit: its first. */
  server: z.string().optional(),
  /** Start it again on the same port this long after the kill (omit: it stays down). */
  restartAfter: Duration.optional(),
});

/**
 * A netsplit: one server-to-server link of a lab network target cut for a while (needs --lab:
 * the lab carries each link through a proxy it owns). The servers relink by themselves once the
 * link is back.
 */
const NetsplitFault = z.strictObject({
  at: Duration,
  /** Target name: a network the lab started. */
  netsplit: z.string(),
  /** The link cut, as the lab names it: `s<parent>-s<child>`, e.g. `s1-s3`. */
  link: z.string().regex(/^s\d+-s\d+$/, 'a lab network link is named s<parent>-s<child>, e.g. s1-s3'),
  /** How long the link stays cut. */
  for: Duration,
});

const Fault = z.union([KillFault, NetsplitFault]);

export const Scenario = z.strictObject({
  description: z.string().default(''),
  target: z.string(),
  /** Limit profile to judge the run against (built in, or from `profiles:`). */
  limits: z.string().optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
  /** Simulated seconds per wall second for behaviour (messages, presence). 1 = real time. */
  timeScale: z.number().positive().max(10_000).default(1),
  workers: z.number().int().min(1).max(64).optional(),
  population: Population,
  phases: z
    .array(Phase)
    .min(1)
    .superRefine((phases, ctx) => {
      const order = { rampUp: 0, stepSearch: 0, hold: 1, rampDown: 2 } as const;
      const searching = phases.some((p) => p.phase === 'stepSearch');
      phases.forEach((phase, i) => {
        if (i > 0 && order[phase.phase] <= order[phases[i - 1]!.phase]) {
          ctx.addIssue({ code: 'custom', path: [i, 'phase'], message: 'phases run in the order rampUp (or stepSearch), hold, rampDown, each at most once' });
        } else if (searching && phase.phase === 'hold') {
          ctx.addIssue({ code: 'custom', path: [i, 'phase'], message: 'a stepSearch holds each step itself; only rampDown may follow it' });
        }
      });
    }),
  behaviour: Behaviour.prefault({}),
  thresholds: z.array(Threshold).default([]),
  faults: z.array(Fault).default([]),
});
export type Scenario = z.infer<typeof Scenario>;
export type ScenarioInput = z.input<typeof Scenario>;

export const ScenarioFile = z.strictObject({
  version: z.literal(1),
  targets: z.record(z.string().regex(/^[A-Za-z][\w-]*$/, 'target names are letters, digits, - and _'), Target),
  profiles: z.record(z.string(), LimitProfile).default({}),
  scenarios: z.record(z.string().regex(/^[A-Za-z][\w-]*$/, 'scenario names are letters, digits, - and _'), Scenario),
});
export type ScenarioFile = z.infer<typeof ScenarioFile>;

/** JSON Schema (draft 2020-12) for editors, generated from the same schema the loader uses. */
export function scenarioJsonSchema(): unknown {
  const schema = z.toJSONSchema(ScenarioFile, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://imload.dev/schema/scenarios.json',
    title: 'imload scenarios.yaml',
    description: `Threshold metrics: ${THRESHOLD_METRICS.join(', ')}`,
  };
}
