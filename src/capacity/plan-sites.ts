/**
 * Site-aware placement for `imload plan`: where each server role goes — at a site or at the
 * central data centre — following the documented placement guidance (limits.md § Placement
 * guidance), the WAN traffic each placement puts on each site's link, and the all-central
 * placement beside it. Every choice names the guidance sentence that drove it.
 *
 * Protocol-neutral: the roles' protocols, and the byte-model share of the traffic that still
 * crosses a link when a site has its own server, come from the descriptors' `planRole`.
 */
import { DESCRIPTORS } from '../protocols/registry.js';
import type { PlanFile } from './plan-input.js';
import type { PlanCapacities, Provenance } from './plan-capacity.js';
import type { ModelledBandwidth } from './plan-bandwidth.js';

const EX2000 = 'Exchange 2000 Resource Kit, ch. 19, as paraphrased in limits.md § Placement guidance';
const LCS2005 = 'Microsoft IT Showcase, LCS 2005 deployment, as paraphrased in limits.md § Placement guidance';

/** A placement rule: limits.md's sentence, word for word, and its source. */
export interface Guidance {
  readonly id: string;
  readonly text: string;
  readonly source: string;
}

export const GUIDANCE = {
  chatHubs: {
    id: 'chat-hubs',
    text: "Chat servers follow the WAN's data-centre hubs: regional or departmental chat servers keep logon and channel traffic local; company-wide broadcast use can be served centrally; one server may host everyone when it has the capacity",
    source: EX2000,
  },
  chatBranch: {
    id: 'chat-branch',
    text: 'Heavy chat users in a branch may justify a local chat server; otherwise plan chat independently of WAN topology',
    source: EX2000,
  },
  homeDensest: {
    id: 'home-densest',
    text: 'IM home servers: with several concentrations of users separated by low-bandwidth or expensive links, put home servers in the densest areas, even when the total would need fewer servers centrally',
    source: EX2000,
  },
  routersInternet: {
    id: 'routers-internet',
    text: "IM clients reach home servers far more often than routers; routers go near the single Internet connection when IM crosses the company's boundary, or anywhere with an Internet connection",
    source: EX2000,
  },
  branchOffices: {
    id: 'branch-offices',
    text: 'Branch offices (10–100 users, 56/128 kbit/s links): home server in the hub or at the branch, by who administers it; co-locate highly communicative groups on the same server(s) to cut presence traffic across the WAN',
    source: EX2000,
  },
  lcsCentral: {
    id: 'lcs-central',
    text: 'LCS 2005 could be centralised because the links between the central and regional data centres had enough capacity for 1.6 kbit/s per user',
    source: LCS2005,
  },
} as const satisfies Record<string, Guidance>;

/** The guidance as a plan provenance (describeProvenance prints it as “text [source]”). */
export function guidanceProvenance(g: Guidance): Provenance {
  return { kind: 'rule', text: g.text, source: g.source };
}

/** The largest site the branch-office sentence speaks of (10–100 users). */
export const BRANCH_OFFICE_MAX_USERS = 100;

export type PlacedRole = 'homeServer' | 'frontEndPool' | 'chatServer' | 'router';

export interface RolePlacement {
  /** Where the site's users are served (for routers: where the routers stand). */
  readonly where: 'site' | 'central';
  /** Servers (pools for frontEndPool) standing at the site: 0 when central. */
  readonly servers: number;
  /** The guidance sentence that drove the choice. */
  readonly rule: Guidance;
  /** How the sentence applies to this site, with the numbers. */
  readonly why: string;
}

export interface SiteWan {
  /** kbit/s on the link when every server is central: each online user's whole load. */
  readonly allCentral: number;
  /** kbit/s on the link under the proposed placement of IM home servers. */
  readonly homeServers: number;
  /** kbit/s on the link under the proposed placement of pools. */
  readonly pool: number;
}

export interface SitePlacement {
  readonly name: string;
  readonly users: number;
  readonly peakOnline: number;
  readonly linkKbps: number;
  readonly costly: boolean;
  readonly internet: boolean;
  /** Fraction of the site's contacts at the site (given, or the site's share of the population). */
  readonly contactsInSite: number;
  readonly contactsInSiteGiven: boolean;
  /** The link carries the site's users to central servers with headroom. */
  readonly carriesCentral: boolean;
  readonly placement: Readonly<Record<PlacedRole, RolePlacement>>;
  readonly wan: SiteWan;
  /** What each WAN figure leaves the link (kbit/s, with headroom); true when it fits. */
  readonly carries: { readonly allCentral: boolean; readonly homeServers: boolean; readonly pool: boolean };
}

export interface ServerCounts {
  readonly homeServers: number;
  readonly routers: number;
  readonly chatServers: number;
  readonly pools: number;
  /** Sum over the sites' links of the IM traffic, kbit/s at peak (home-server placement / pool placement). */
  readonly wanKbps: { readonly homeServers: number; readonly pool: number };
}

/** The byte model's split of a role's per-user traffic (informative basis of the WAN figures). */
export interface RoleShare {
  readonly role: 'homeServer' | 'frontEndPool';
  readonly protocols: string;
  /** What crosses the link with a server at the site, contacts all elsewhere, over the all-central bytes (ModelledBandwidth.crossingShare). */
  readonly crossingShare: number;
  readonly basis: string;
}

export interface Placement {
  readonly sites: readonly SitePlacement[];
  /** Users at no named site: at the central data centre, behind no WAN link. */
  readonly centralUsers: number;
  /** Where the routers stand: the site with the Internet connection, or central. */
  readonly routersAt: string;
  readonly allCentral: ServerCounts;
  readonly placed: ServerCounts;
  /** Servers the placement keeps at the central data centre. */
  readonly central: Omit<ServerCounts, 'wanKbps'>;
  readonly shares: readonly RoleShare[];
  readonly notes: readonly string[];
}

const fmt = (value: number, digits = 1) => value.toLocaleString('en', { maximumFractionDigits: digits });

function titlesOf(role: string): string {
  return DESCRIPTORS.filter((d) => d.planRole === role).map((d) => d.title).join(', ');
}

function shareOf(role: 'homeServer' | 'frontEndPool', modelled: readonly ModelledBandwidth[]): RoleShare {
  const models = modelled.filter((m) => m.planRole === role);
  // A role served by several protocols: the largest share, so the WAN figure is not understated.
  const best = models.reduce<ModelledBandwidth | undefined>((a, m) => (a === undefined || m.crossingShare > a.crossingShare ? m : a), undefined);
  return {
    role,
    protocols: titlesOf(role),
    crossingShare: best?.crossingShare ?? 1,
    basis: best
      ? `with a server at the site, the exchanges with contacts elsewhere (subscriptions, renewals, messages, presence notifications, in both directions) are ${(best.crossingShare * 100).toFixed(1)} % of the all-central bytes of the ${best.basis}; so a local server lowers the link's load only when more than ${fmt((1 - 1 / best.crossingShare) * 100, 0)} % of contacts are at the site`
      : 'no byte model for this role: the whole per-user load is counted',
  };
}

const servedBy = (online: number, perServer: number) => (online === 0 ? 0 : Math.ceil(online / perServer));

/**
 * Proposes a placement for the plan's sites. `kbpsPerUser` is the WAN figure the plan's site
 * check uses (documented or measured); `modelled` gives the share of it that still crosses a
 * link when the site has its own server.
 */
export function placeSites(input: PlanFile, capacities: PlanCapacities, modelled: readonly ModelledBandwidth[]): Placement {
  const fraction = input.peakOnlineFraction;
  const kbpsPerUser = capacities.kbpsPerUser.value;
  const cap = (role: keyof PlanCapacities['perServer']) => capacities.perServer[role].value;
  const online = (users: number) => Math.ceil(users * fraction);
  const peakOnline = online(input.users);
  const fits = (kbps: number, link: number) => kbps * (1 + input.headroom) <= link;
  const homeShare = shareOf('homeServer', modelled);
  const poolShare = shareOf('frontEndPool', modelled);
  const centralChatServers = servedBy(peakOnline, cap('chatServer'));
  const internetSite = input.sites.find((s) => s.internet);
  const routersAt = internetSite?.name ?? 'central';

  // First pass: home servers and pools, which decide which sites become hubs.
  const firstPass = input.sites.map((site) => {
    const siteOnline = online(site.users);
    const centralKbps = siteOnline * kbpsPerUser;
    const carriesCentral = fits(centralKbps, site.linkKbps);
    const load = `${fmt(siteOnline, 0)} online × ${fmt(kbpsPerUser, 3)} kbit/s = ${fmt(centralKbps)} kbit/s, ${fmt(centralKbps * (1 + input.headroom))} with headroom, on a ${fmt(site.linkKbps)} kbit/s link`;
    let home: RolePlacement;
    if (siteOnline === 0) home = { where: 'central', servers: 0, rule: GUIDANCE.homeDensest, why: 'no users online at peak: nothing to place' };
    else if (carriesCentral && !site.costly) {
      home = { where: 'central', servers: 0, rule: GUIDANCE.homeDensest, why: `the link is neither slow nor expensive (${load}): the users stay on the central home servers` };
    } else if (site.users <= BRANCH_OFFICE_MAX_USERS) {
      home = carriesCentral
        ? { where: 'central', servers: 0, rule: GUIDANCE.branchOffices, why: `a branch office of ${site.users} users on an expensive link that carries them (${load}): home server in the hub; put one at the branch instead if the branch administers it` }
        : { where: 'site', servers: servedBy(siteOnline, cap('homeServer')), rule: GUIDANCE.branchOffices, why: `a branch office of ${site.users} users whose link cannot carry them to the hub (${load}): home server at the branch` };
    } else {
      const reason = carriesCentral ? 'expensive' : site.costly ? 'slow and expensive' : 'slow';
      home = { where: 'site', servers: servedBy(siteOnline, cap('homeServer')), rule: GUIDANCE.homeDensest, why: `${fmt(site.users, 0)} users behind a ${reason} link (${load}): home servers at the site, ⌈${fmt(siteOnline, 0)} / ${fmt(cap('homeServer'), 0)}⌉` };
    }
    const pool: RolePlacement =
      siteOnline === 0 ? { where: 'central', servers: 0, rule: GUIDANCE.lcsCentral, why: 'no users online at peak: nothing to place' }
      : carriesCentral
        ? { where: 'central', servers: 0, rule: GUIDANCE.lcsCentral, why: `the link has the capacity for ${fmt(kbpsPerUser, 3)} kbit/s per user (${load}): centralised` }
        : { where: 'site', servers: servedBy(siteOnline, cap('frontEndPool')), rule: GUIDANCE.lcsCentral, why: `the link lacks the capacity for ${fmt(kbpsPerUser, 3)} kbit/s per user (${load}), the premise for centralising fails: a pool (or a single server) at the site` };
    return { site, siteOnline, centralKbps, carriesCentral, home, pool };
  });

  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const routerCount = (homes: number) => (homes > 1 ? Math.max(1, servedBy(peakOnline, cap('router'))) : 0);
  const homedOnline = sum(firstPass.filter((f) => f.home.where === 'site').map((f) => f.siteOnline));
  const centralHomes = servedBy(Math.max(0, peakOnline - homedOnline), cap('homeServer'));
  const placedHomes = centralHomes + sum(firstPass.map((f) => f.home.servers));
  const placedRouters = routerCount(placedHomes);

  const sites: SitePlacement[] = firstPass.map(({ site, siteOnline, centralKbps, carriesCentral, home, pool }) => {
    const hub = home.where === 'site' || pool.where === 'site';
    let chat: RolePlacement;
    if (siteOnline === 0) chat = { where: 'central', servers: 0, rule: GUIDANCE.chatHubs, why: 'no users online at peak: nothing to place' };
    else if (centralChatServers <= 1) chat = { where: 'central', servers: 0, rule: GUIDANCE.chatHubs, why: `one server hosts everyone: ${fmt(peakOnline, 0)} online ≤ ${fmt(cap('chatServer'), 0)} per chat server` };
    else if (hub) chat = { where: 'site', servers: servedBy(siteOnline, cap('chatServer')), rule: GUIDANCE.chatHubs, why: `the site holds servers of its own (a hub) and the company needs ${centralChatServers} chat servers: a regional chat server keeps its logon and channel traffic local` };
    else chat = { where: 'central', servers: 0, rule: GUIDANCE.chatBranch, why: 'not a hub, and the plan has no chat workload per site (heavy chat users): chat planned centrally, independently of the WAN' };
    const router: RolePlacement = site.internet
      ? { where: 'site', servers: placedRouters, rule: GUIDANCE.routersInternet, why: placedRouters > 0 ? 'the Internet connection is here: the routers stand at this site' : 'the Internet connection is here, but one home server routes for itself: no router' }
      : { where: 'central', servers: 0, rule: GUIDANCE.routersInternet, why: `routers at ${routersAt === 'central' ? 'the central data centre (no site has the Internet connection)' : `${routersAt}, the Internet connection`}; clients reach their home servers far more often` };
    const given = site.contactsInSite !== undefined;
    const contactsInSite = site.contactsInSite ?? (input.users > 0 ? site.users / input.users : 0);
    const crossing = (share: number) => centralKbps * share * (1 - contactsInSite);
    const wan: SiteWan = {
      allCentral: centralKbps,
      homeServers: home.where === 'site' ? crossing(homeShare.crossingShare) : centralKbps,
      pool: pool.where === 'site' ? crossing(poolShare.crossingShare) : centralKbps,
    };
    return {
      name: site.name,
      users: site.users,
      peakOnline: siteOnline,
      linkKbps: site.linkKbps,
      costly: site.costly,
      internet: site.internet,
      contactsInSite,
      contactsInSiteGiven: given,
      carriesCentral,
      placement: { homeServer: home, frontEndPool: pool, chatServer: chat, router },
      wan,
      carries: { allCentral: fits(wan.allCentral, site.linkKbps), homeServers: fits(wan.homeServers, site.linkKbps), pool: fits(wan.pool, site.linkKbps) },
    };
  });

  const sitedOnline = (role: PlacedRole) => sum(sites.filter((s) => s.placement[role].where === 'site').map((s) => s.peakOnline));
  const centralOnline = (role: PlacedRole) => Math.max(0, peakOnline - sitedOnline(role));
  const atSites = (role: PlacedRole) => sum(sites.map((s) => s.placement[role].servers));
  const central = {
    homeServers: centralHomes,
    routers: routersAt === 'central' ? placedRouters : 0,
    chatServers: servedBy(centralOnline('chatServer'), cap('chatServer')),
    pools: servedBy(centralOnline('frontEndPool'), cap('frontEndPool')),
  };
  const allCentralHomes = servedBy(peakOnline, cap('homeServer'));
  const allCentral: ServerCounts = {
    homeServers: allCentralHomes,
    routers: routerCount(allCentralHomes),
    chatServers: centralChatServers,
    pools: servedBy(peakOnline, cap('frontEndPool')),
    wanKbps: { homeServers: sum(sites.map((s) => s.wan.allCentral)), pool: sum(sites.map((s) => s.wan.allCentral)) },
  };
  const placed: ServerCounts = {
    homeServers: placedHomes,
    routers: placedRouters,
    chatServers: central.chatServers + atSites('chatServer'),
    pools: central.pools + atSites('frontEndPool'),
    wanKbps: { homeServers: sum(sites.map((s) => s.wan.homeServers)), pool: sum(sites.map((s) => s.wan.pool)) },
  };

  const notes: string[] = [];
  notes.push(
    `WAN with a server at the site: the site's online users × ${fmt(kbpsPerUser, 3)} kbit/s × the byte model's crossing share × the share of their contacts elsewhere (1 − contacts at the site; by default the site's share of the population). Logon, logoff, the own presence change and lease refreshes stay on the site's LAN; each subscription, renewal, message and presence notification between a user here and a contact elsewhere crosses the link once, in both directions (checked in network namespaces by imload plan --lab).`,
  );
  for (const s of [homeShare, poolShare]) notes.push(`${s.protocols || s.role}: ${s.basis}.`);
  if (placed.homeServers > allCentral.homeServers) {
    notes.push(`The placement needs ${placed.homeServers} home servers where central ones would need ${allCentral.homeServers}: “${GUIDANCE.homeDensest.text}” [${GUIDANCE.homeDensest.source}].`);
  }
  if (allCentral.routers === 0 && placed.routers > 0) {
    notes.push(`Centrally one home server would route for itself; with home servers at the sites there is more than one, so a separate router is needed.`);
  }
  const stillOver = sites.filter((s) => s.placement.homeServer.where === 'site' && !s.carries.homeServers);
  for (const s of stillOver) {
    notes.push(`${s.name}: even with its own home server the link carries ${fmt(s.wan.homeServers)} kbit/s (${fmt(s.wan.homeServers * (1 + input.headroom))} with headroom) on ${fmt(s.linkKbps)}: co-locate communicative groups (raise local=, “${GUIDANCE.branchOffices.text}”) or widen the link.`);
  }
  const raised = sites.filter((s) => s.placement.homeServer.where === 'site' && s.wan.homeServers > s.wan.allCentral);
  for (const s of raised) {
    notes.push(`${s.name}: its own home servers put more on the link than central ones would (${fmt(s.wan.homeServers)} against ${fmt(s.wan.allCentral)} kbit/s): with ${fmt(s.contactsInSite * 100)} % of contacts at the site, the exchanges with contacts elsewhere cross it in both directions; a local home server lowers the load once more than ${fmt((1 - 1 / homeShare.crossingShare) * 100, 0)} % are (local=).`);
  }
  notes.push('Chat traffic across links is not modelled: it depends on channel layout, which a plan does not describe.');
  return { sites, centralUsers: Math.max(0, input.users - sum(input.sites.map((s) => s.users))), routersAt, allCentral, placed, central, shares: [homeShare, poolShare], notes };
}
