/**
 * Pools in `imload plan --lab`: the plan's other product (LCS 2005: a pool of front ends) where
 * the plan puts it — at a site whose link lacks the capacity for its users, else central — each
 * site's users running the pool's protocol beside the home servers', and the pool traffic that
 * crosses each link, predicted from the protocol's byte model on each pool's own schedule.
 * Protocol-neutral: the pool's protocol is the descriptor whose plan role is `frontEndPool`.
 *
 * One lab server stands for each pool: what crosses a site's link is what its users' clients
 * exchange with the pool, the same whether the pool has one front end or several. The lab's pools
 * are not federated, so a user's contacts are drawn among its own pool's users: a site with its
 * own pool puts no pool traffic on its link, a site served centrally all of its users'.
 */
import { designRoleServers, type RoleGroup, type RoleLabDesign, type RoleSession } from './plan-lab-roles.js';
import type { Placement } from './plan-sites.js';
import type { Plan } from './plan.js';

export type PoolLabDesign = RoleLabDesign;

/** What the lab's pools are and how they are predicted and measured, for the design's notes. */
export function poolNote(pool: PoolLabDesign, headerBytes: number): string {
  const servers = pool.servers.map((s) => `${s.at} (${s.users} users)`).join(', ');
  return `Pools: one ${pool.title} server standing for each pool (what crosses a link is the same for one front end or several), not federated, per place the plan puts pools — ${servers}. Every lab user also runs the pool's ${pool.protocol.toUpperCase()} client with the plan's workload, its contacts drawn among its own pool's users. Predicted: the ${pool.byteModel} byte model on each pool's own schedule, a site's share by its users; measured: the pool port's packets, counted apart on the link, less ${headerBytes} header bytes per packet (UDP).`;
}

/** Where a group's users reach their pool: at their site when the plan puts one there, else central. */
export function poolWhere(placement: Placement, group: Pick<RoleGroup, 'name' | 'site'>): 'site' | 'central' {
  return group.site ? (placement.sites.find((s) => s.name === group.name)?.placement.frontEndPool.where ?? 'central') : 'central';
}

/**
 * The pools and their scenarios, or undefined when no protocol with a lab serves the pool role.
 * `session` is the home-server scenario's, so all run side by side; `domain` the IM domain the
 * lab's pool servers serve.
 */
export function designPool(plan: Plan, groups: readonly RoleGroup[], session: RoleSession, domain: string): PoolLabDesign | undefined {
  const placement = plan.placement;
  if (!placement) return undefined;
  const { workload } = plan;
  return designRoleServers({
    role: 'frontEndPool',
    slug: 'pool',
    groups,
    where: (g) => poolWhere(placement, g),
    session,
    target: { domain },
    scenario: (users) => ({
      // Contacts among the pool's own users (it is not federated): as many as the plan says, if it has them.
      population: { contacts: Math.min(workload.contacts, users - 1) },
      behaviour: { messagesPerHour: workload.messagesPerHour, presenceChangesPerHour: workload.presenceChangesPerHour, channelMessagesPerHour: 0 },
      extra: {},
    }),
  });
}
