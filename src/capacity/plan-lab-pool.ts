/**
 * Pools in `imload plan --lab`: the plan's other product (LCS 2005: a pool of front ends) where
 * the plan puts it — at a site whose link lacks the capacity for its users, else central — each
 * site's users running the pool's protocol beside the home servers'. Protocol-neutral: the pool's
 * protocol is the descriptor whose plan role is `frontEndPool`.
 *
 * One lab server stands for each pool: what crosses a site's link is what its users' clients
 * exchange with the pool, the same whether the pool has one front end or several. The pools are
 * federated as the home servers are: one population over the whole lab, contacts drawn from
 * everyone, each pool holding the users of its groups' segments and relaying a request for anyone
 * else's to that user's pool. So a site with its own pool puts on its link exactly what the plan's
 * model says crosses it — the exchanges with contacts elsewhere — and a site served centrally all
 * of its users' traffic; both predicted from the protocol's per-session bytes, as the home servers'.
 */
import { stringify } from 'yaml';
import { DESCRIPTORS } from '../protocols/registry.js';
import { parseScenarioText } from '../scenarios/load.js';
import type { ModelledBandwidth } from './plan-bandwidth.js';
import { roleLabServerKind, scheduledBytes, type RoleGroup, type RoleSession } from './plan-lab-roles.js';
import type { Placement } from './plan-sites.js';
import type { Plan } from './plan.js';

/** One pool: where it stands, and the groups (with their segments of the lab population) whose users it holds. */
export interface PoolLabServer {
  /** A site's name, or `central`. */
  readonly at: string;
  readonly users: number;
  /** The lab population's segment count: every pool runs its segments of the one scenario. */
  readonly modulus: number;
  readonly groups: readonly { readonly name: string; readonly users: number; readonly segments: readonly number[] }[];
  readonly scenarioName: string;
}

export interface PoolLabDesign {
  readonly protocol: string;
  /** The lab server's title (e.g. "Kamailio 5.6 …"). */
  readonly title: string;
  readonly scheme: string;
  readonly labKind: string;
  /** The IM domain the pools serve: the one the protocol's byte model was fitted on, so the prediction is the model's own. */
  readonly domain: string;
  readonly servers: readonly PoolLabServer[];
  /** Each pool relays requests for the others' users (they share one population). */
  readonly federated: true;
  readonly scenarioYaml: string;
  readonly targetName: string;
  /** The protocol's per-session bytes under the plan's workload: what the prediction multiplies. */
  readonly model: ModelledBandwidth;
  /**
   * The scenario's own schedule over the model's rates: the bytes the byte model puts on the
   * messages and presence changes the lab's seeded schedule really draws (timers left out), over
   * its users × the per-session bytes at the plan's rates. A few hundred lab users draw within a
   * few per cent of the rates; the lab runs the draws, so the prediction is scaled by them.
   */
  readonly drawsOverRates: number;
  /** The protocol's shortest timer, seconds (the design refuses a session that sees one fire). */
  readonly shortestTimerSeconds: number;
  /** What the byte model was fitted against. */
  readonly byteModel: string;
}

const SCENARIO = 'plan-lab-pool';
const TARGET = 'pool';

/** What the lab's pools are and how they are predicted and measured, for the design's notes. */
export function poolNote(pool: PoolLabDesign, headerBytes: number): string {
  const servers = pool.servers.map((s) => `${s.at} (${s.users} users)`).join(', ');
  return `Pools: one ${pool.title} server standing for each pool (what crosses a link is the same for one front end or several), federated like the home servers — each holds its groups' users and relays a request for anyone else's to that user's pool, a subscription staying on the watcher's pool — per place the plan puts pools: ${servers}. Every lab user also runs the pool's ${pool.protocol.toUpperCase()} client with the plan's workload, its contacts drawn from the whole population. Predicted: for a site with its own pool, the exchanges the lab's schedule draws between its users and users elsewhere, at the byte model's bytes for each; for a site served centrally, the ${pool.model.basis}, per session and without its timers, × ${pool.drawsOverRates.toFixed(3)} (the messages and presence changes the lab's schedule draws, over the rates); measured: the pool port's packets, counted apart on the link, less ${headerBytes} header bytes per packet (UDP).`;
}

/** Where a group's users reach their pool: at their site when the plan puts one there, else central. */
export function poolWhere(placement: Placement, group: Pick<RoleGroup, 'name' | 'site'>): 'site' | 'central' {
  return group.site ? (placement.sites.find((s) => s.name === group.name)?.placement.frontEndPool.where ?? 'central') : 'central';
}

/**
 * The pools and their one scenario, or undefined when no protocol with a lab and a byte model
 * serves the pool role. `groups` carry their segments of the lab population (`modulus` in all),
 * `session` is the home-server scenario's, so all run side by side; `labDomain` the lab's IM domain,
 * used unless the byte model names the one it was fitted on.
 */
export function designPool(plan: Plan, groups: readonly RoleGroup[], modulus: number, session: RoleSession, labDomain: string): PoolLabDesign | undefined {
  const placement = plan.placement;
  if (!placement) return undefined;
  const descriptor = DESCRIPTORS.find((d) => d.planRole === 'frontEndPool' && d.lab.length > 0);
  const model = plan.modelledBandwidth.find((m) => m.protocol === descriptor?.name);
  if (!descriptor || !model) return undefined;
  const kind = roleLabServerKind(descriptor);
  const { scheme } = kind;
  const domain = descriptor.byteModel.domain ?? labDomain;
  const at = (g: RoleGroup) => (poolWhere(placement, g) === 'site' ? g.name : 'central');
  const places = [...new Set(groups.map(at))];
  const servers = places.map((place) => {
    const members = groups.filter((g) => at(g) === place).map((g) => ({ name: g.name, users: g.users, segments: g.segments }));
    return { at: place, users: members.reduce((n, g) => n + g.users, 0), modulus, groups: members, scenarioName: SCENARIO };
  });
  const users = groups.reduce((n, g) => n + g.users, 0);
  const { workload } = plan;
  const scenarioYaml = stringify({
    version: 1,
    targets: { [TARGET]: { url: `${scheme}://127.0.0.1:1`, domain } },
    scenarios: {
      [SCENARIO]: {
        description: `imload plan --lab: every lab user's ${descriptor.title} client, one session compressed ${session.timeScale.toFixed(1)}×; each group runs its segments against its pool`,
        target: TARGET,
        seed: session.seed,
        timeScale: session.timeScale,
        population: { users, contacts: Math.min(workload.contacts, users - 1) },
        phases: session.phases,
        behaviour: { ...session.activity, messagesPerHour: workload.messagesPerHour, presenceChangesPerHour: workload.presenceChangesPerHour, channelMessagesPerHour: 0 },
      },
    },
  });
  const drawn = scheduledBytes(parseScenarioText(scenarioYaml, `${SCENARIO}.yaml`).scenarios[SCENARIO]!, descriptor.name);
  const atRates = users * (model.session.total - model.session.timers);
  return {
    ...kind,
    domain,
    servers,
    federated: true,
    scenarioYaml,
    targetName: TARGET,
    model,
    drawsOverRates: atRates > 0 ? drawn / atRates : 1,
  };
}
