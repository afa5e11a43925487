/**
 * A protocol, described in one place. Everything outside a protocol's own folder (scenarios,
 * engine, metrics, analysis, report, capacity, commands, the lab) learns about a protocol only
 * from its descriptor, found through `registry.ts`: adding a protocol is one folder plus one
 * registry line (docs/adding-a-protocol.md).
 *
 * A descriptor is data plus lazy loaders: importing it must stay cheap (zod schemas and
 * constants only), because `validate`, `simulate` and `plan` read every descriptor without
 * running a user. The agent, the lab starters and the server's count probe are imported on demand.
 */
import type { z } from 'zod';
import { AgentError, type AgentTarget, type ProtocolModule } from './types.js';
import type { LabContext, LabTarget } from '../lab/types.js';
import type { LatencyName } from '../metrics/names.js';
import type { ByteModel } from './byte-model.js';

export type Transport = 'tcp' | 'udp' | 'tls';

/** One URL scheme a target may use, e.g. `irc://` (plain) and `ircs://` (TLS). */
export interface UrlScheme {
  readonly scheme: string;
  readonly tls: boolean;
  readonly defaultPort: number;
}

/** A real server the lab can start for this protocol (`lab: <kind>` in a target). */
export interface LabServerKind {
  readonly kind: string;
  /** Human name, e.g. "InspIRCd 3". */
  readonly title: string;
  /** Debian packages `imload lab install` installs for it. */
  readonly packages: readonly string[];
  /**
   * The programs it runs, looked up before anything is started (`missingExecutables` in src/lab), so
   * a host without them is told so up front rather than by a helper that exits half-way through a
   * lab of several servers. Empty for a server imload itself is.
   */
  readonly executables: readonly string[];
  /** Transports this lab server offers. */
  readonly transports: readonly Transport[];
  /**
   * A lab that starts several servers (the target's `network.servers`): whether it links them
   * (channels span servers) or leaves them unlinked (reached with `network.channels: each-instance`).
   */
  readonly network?: 'linked' | 'unlinked';
  /**
   * A lab of several servers a `faults: kill` can name one of (`server:`), as the lab names
   * them; the first is the one killed when the fault names none. Absent: the lab's one server.
   */
  readonly faultServers?: readonly string[];
  /**
   * Starts it on free loopback ports, provisioned for the run (`context`), and says how a target
   * reaches it. Keep the starter in the protocol's folder (`lab.ts`) and import it here on demand.
   */
  start(context: LabContext): Promise<LabTarget>;
}

/** A documented per-server figure set (Exchange, LCS, ...), as data; see scenarios/limits.ts. */
export interface LimitProfileData {
  readonly title: string;
  readonly version?: string;
  readonly figures: readonly {
    readonly id: string;
    readonly metric: string;
    readonly kind: 'atLeast' | 'atMost';
    readonly value: number;
    readonly unit: string;
    readonly source: string;
    readonly wording: string;
  }[];
}

/** A CLI command a protocol adds; its own argument parsing, loaded only when it runs. */
export interface ProtocolCommand {
  readonly name: string;
  readonly description: string;
  /** `--help` text, printed on stdout with exit 0. */
  usage(): Promise<string>;
  run(args: readonly string[]): Promise<void>;
}

export interface ProtocolDescriptor {
  /** The protocol's name in scenarios and outputs, e.g. `irc`. */
  readonly name: string;
  /** Human name, e.g. "IRC". */
  readonly title: string;
  readonly schemes: readonly UrlScheme[];
  /** Transports a non-TLS scheme may use; the first is the default (TLS comes from the scheme). */
  readonly transports: readonly Transport[];
  /** The target's `options:` map: a strict zod object, so `validate` names a misspelt option. */
  readonly options: z.ZodType<Record<string, unknown>>;
  /**
   * What the protocol can do (channels, presence, instant messages). `eachInstance`: a user may
   * hold one connection per server of a network whose servers are not linked, and join and post
   * to each instance of a channel (`network.channels: each-instance`): the agent's `createUser`
   * honours its `server` argument.
   */
  readonly capabilities: { readonly channels: boolean; readonly presence: boolean; readonly instantMessages: boolean; readonly eachInstance?: boolean };
  /** The shared latencies its users produce; `validate` refuses a threshold on one it never measures. */
  readonly latencies: readonly LatencyName[];
  /** Metrics only this protocol produces (registered in the metric registry under its name). */
  readonly metrics?: readonly { readonly name: string; readonly kind: 'latency' | 'counter' | 'gauge' | 'rate'; readonly unit: string; readonly description: string; readonly ifSampled?: boolean; readonly retry?: boolean }[];
  /** Bytes on the wire per event, for `simulate` and bandwidth normalisation. */
  readonly byteModel: ByteModel;
  /**
   * Which server role of `imload plan` (plan-input.ts RoleProfiles: chatServer, homeServer,
   * frontEndPool, ...) a measured run of this protocol sizes (`plan --from-run`); none: its runs size
   * no role of the plan.
   */
  readonly planRole?: string;
  /** Documented limit profiles of products that speak it, by profile name. */
  readonly limitProfiles: Readonly<Record<string, LimitProfileData>>;
  /** Lab servers that speak it. */
  readonly lab: readonly LabServerKind[];
  /** Commands this protocol adds to the CLI (`imload <name> ...`), e.g. a server it ships. */
  readonly commands?: readonly ProtocolCommand[];
  /** The agent (and with it all the protocol's wire code), loaded only by a run that uses it. */
  load(): Promise<ProtocolModule>;
}

/**
 * A target's `options:` parsed by its protocol's schema, for the agent to read: what `validate`
 * accepted, with the schema's defaults. A target built by hand (the API, a test) that the schema
 * refuses fails here as a `config-error`.
 */
export function parseTargetOptions<T>(schema: z.ZodType<T>, target: AgentTarget): T {
  const result = schema.safeParse(target.options);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys' ? `unknown option ${issue.keys.map((k) => `"${k}"`).join(', ')}` : `option ${issue.path.join('.')}: ${issue.message}`,
  );
  throw new AgentError('config-error', `${target.protocol} target ${target.name}: ${problems.join('; ')}`, `${target.host}:${target.port}`);
}
