/**
 * The servers of one plan role that `imload plan --lab` stands apart — neither linked nor
 * federated: one at each site the plan gives that role, one central for everybody else — each
 * with its own users' scenario and the traffic the role's byte model predicts on that scenario's
 * schedule (capacity/simulate.ts, what `imload simulate` prints). Chat servers are built so
 * (plan-lab-chat.ts; the pools are federated instead, plan-lab-pool.ts); protocol-neutral: the
 * role's protocol is the descriptor whose plan role it is.
 *
 * Unlinked servers keep a site's traffic on its LAN: a site with its own puts none of the role's
 * traffic on its link, a site served centrally all of its users'.
 */
import { stringify } from 'yaml';
import type { ProtocolDescriptor } from '../protocols/descriptor.js';
import { DESCRIPTORS } from '../protocols/registry.js';
import type { Scenario } from '../scenarios/schema.js';
import { parseScenarioText } from '../scenarios/load.js';
import { predictTraffic } from './simulate.js';

/** The part of a lab group these designs read. */
export interface RoleGroup {
  readonly name: string;
  readonly site: boolean;
  readonly users: number;
  readonly segments: readonly number[];
}

/** One server of the role, the groups whose users it serves and their segments of its scenario. */
export interface RoleLabServer {
  /** A site's name, or `central`. */
  readonly at: string;
  readonly users: number;
  /** Segments of its scenario (`imload run --segment i/modulus`). */
  readonly modulus: number;
  /** Each group's segments of this server's scenario (1-based, of `modulus`). */
  readonly groups: readonly { readonly name: string; readonly users: number; readonly segments: readonly number[] }[];
  readonly scenarioName: string;
  /** Application bytes its whole population exchanges in the lab session (the byte model on its schedule, timers left out). */
  readonly predictedBytes: number;
}

export interface RoleLabDesign<Server extends RoleLabServer = RoleLabServer> {
  readonly protocol: string;
  /** The lab server's title (e.g. "InspIRCd 3"). */
  readonly title: string;
  readonly scheme: string;
  readonly labKind: string;
  readonly servers: readonly Server[];
  /** Every server's scenario (YAML; the target's URL is replaced by each server's). */
  readonly scenarioYaml: string;
  readonly targetName: string;
  /** The protocol's shortest timer, seconds (the design refuses a session that sees one fire). */
  readonly shortestTimerSeconds: number;
  /** What the byte model was fitted against. */
  readonly byteModel: string;
}

/** The lab session both scenarios share, so they run side by side with the home servers'. */
export interface RoleSession {
  readonly timeScale: number;
  readonly phases: readonly object[];
  readonly activity: object;
  readonly seed: number;
}

export interface RoleDesignRequest<Extra extends object> {
  readonly role: string;
  /** Short name for scenario names (`plan-lab-<slug>-<at>`). */
  readonly slug: string;
  readonly groups: readonly RoleGroup[];
  /** Where a group's users are served in this role. */
  readonly where: (group: RoleGroup) => 'site' | 'central';
  readonly session: RoleSession;
  /** The scenario's target beside its URL (e.g. the IM domain). */
  readonly target?: object;
  /** A server's population and behaviour for its `users`, and what the design keeps of it. */
  readonly scenario: (users: number) => { readonly population: object; readonly behaviour: object; readonly extra: Extra };
}

/** What names a role's lab servers in a design: the protocol, its first lab kind and the byte model's timers and fit. */
export function roleLabServerKind(descriptor: ProtocolDescriptor): Pick<RoleLabDesign, 'protocol' | 'title' | 'scheme' | 'labKind' | 'shortestTimerSeconds' | 'byteModel'> {
  return {
    protocol: descriptor.name,
    title: descriptor.lab[0]!.title,
    scheme: descriptor.schemes.find((s) => !s.tls)?.scheme ?? descriptor.name,
    labKind: descriptor.lab[0]!.kind,
    shortestTimerSeconds: Math.min(...descriptor.byteModel.timers.map((t) => t.everySeconds)),
    byteModel: descriptor.byteModel.fittedAgainst,
  };
}

/** The application bytes the byte model puts on a scenario's schedule, its timers left out (none fires in a lab session). */
export function scheduledBytes(scenario: Scenario, protocol: string): number {
  const prediction = predictTraffic(scenario, protocol);
  return prediction.totals.bytes - prediction.seconds.reduce((n, s) => n + s.timerBytes, 0);
}

/** The role's servers and scenarios, or undefined when no protocol with a lab serves the role. */
export function designRoleServers<Extra extends object>(request: RoleDesignRequest<Extra>): RoleLabDesign<RoleLabServer & Extra> | undefined {
  const descriptor = DESCRIPTORS.find((d) => d.planRole === request.role && d.lab.length > 0);
  if (!descriptor) return undefined;
  const { groups, where, session } = request;
  const kind = roleLabServerKind(descriptor);
  const { scheme } = kind;
  const atSite = groups.filter((g) => where(g) === 'site');
  const central = groups.filter((g) => where(g) === 'central');
  const hosts = [...atSite.map((g) => ({ at: g.name, groups: [g] })), ...(central.length > 0 ? [{ at: 'central', groups: central }] : [])];

  const targetName = request.slug;
  const scenarios: Record<string, object> = {};
  const planned = hosts.map((host) => {
    let next = 1;
    const members = host.groups.map((g) => ({ name: g.name, users: g.users, segments: g.segments.map(() => next++) }));
    const users = members.reduce((n, g) => n + g.users, 0);
    const scenarioName = `plan-lab-${request.slug}-${host.at}`;
    const { population, behaviour, extra } = request.scenario(users);
    scenarios[scenarioName] = {
      description: `imload plan --lab: the users of the ${request.slug} server at ${host.at}, one session compressed ${session.timeScale.toFixed(1)}×`,
      target: targetName,
      seed: session.seed,
      timeScale: session.timeScale,
      population: { users, ...population },
      phases: session.phases,
      behaviour: { ...session.activity, ...behaviour },
    };
    return { at: host.at, users, modulus: next - 1, groups: members, scenarioName, ...extra };
  });
  const scenarioYaml = stringify({ version: 1, targets: { [targetName]: { url: `${scheme}://127.0.0.1:1`, ...request.target } }, scenarios });
  const parsed = parseScenarioText(scenarioYaml, `plan-lab-${request.slug}.yaml`);
  const servers = planned.map((p) => ({ ...p, predictedBytes: scheduledBytes(parsed.scenarios[p.scenarioName]!, descriptor.name) }));
  return { ...kind, servers, scenarioYaml, targetName };
}
