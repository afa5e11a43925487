/**
 * The sizing model of `imload plan`: servers per role and WAN load per site for a population,
 * from per-server capacities (documented or measured). The counting itself is sizeDeployment's
 * (sizing.ts), the same code the report's sizing table runs, so plan and report agree.
 */
import { sizeDeployment } from '../analysis/sizing.js';
import { resolveCapacities, type PlanCapacities, type Provenance, type ServerRole, type Sourced } from './plan-capacity.js';
import type { PlanFile } from './plan-input.js';
import { modelledBandwidth, type ModelledBandwidth } from './plan-bandwidth.js';
import { DESCRIPTORS } from '../protocols/registry.js';
import { placeSites, type Placement } from './plan-sites.js';

/** The protocols whose users a role serves, as the plan's rows name them (e.g. "RVP"). */
function speakersOf(role: ServerRole): string {
  return DESCRIPTORS.filter((d) => d.planRole === role).map((d) => d.title).join(', ');
}

const EX2000 = 'Exchange 2000 Resource Kit, ch. 19';

/** Files a server process keeps open besides its clients (listeners, logs, config): lab-results.md. */
export const SERVER_FD_RESERVE = 10;

export interface ServerLine {
  readonly role: string;
  readonly servers: number;
  readonly perServer: number;
  /** Where perServer came from. */
  readonly from: Provenance;
  /** A rule that changed the count (the separate router, the file limit). */
  readonly rule?: Provenance;
}

export interface SiteLine {
  readonly name: string;
  readonly users: number;
  readonly peakOnline: number;
  readonly linkKbps: number;
  /** Peak load of the site's online users, kbit/s. */
  readonly kbps: number;
  /** kbps × (1 + headroom): what the link must carry to keep its spare capacity. */
  readonly kbpsWithHeadroom: number;
  /** kbps over link speed (1 = full). */
  readonly linkUse: number;
  readonly carries: boolean;
  /** Most accounts the link carries with headroom at this peak fraction and per-user load. */
  readonly maxUsers: number;
}

export interface Plan {
  readonly users: number;
  readonly peakOnlineFraction: number;
  readonly peakOnline: number;
  readonly headroom: number;
  readonly workload: PlanFile['workload'];
  readonly servers: readonly ServerLine[];
  readonly kbpsPerUser: Sourced;
  /** What the byte model predicts per user for this workload (informative; the WAN check uses kbpsPerUser). */
  readonly modelledBandwidth: readonly ModelledBandwidth[];
  /** All online users at peak, kbit/s (what the servers' own links carry). */
  readonly totalKbps: number;
  readonly sites: readonly SiteLine[];
  /** Where each role goes per site, by the placement guidance (plan-sites.ts); absent without sites. */
  readonly placement?: Placement;
  readonly notes: readonly string[];
}

export function buildPlan(input: PlanFile, capacities: PlanCapacities = resolveCapacities(input)): Plan {
  const roles: ServerRole[] = ['homeServer', 'router', 'routerSp2', 'chatServer', 'frontEndPool'];
  const sized = sizeDeployment({
    users: input.users,
    peakOnlineFraction: input.peakOnlineFraction,
    capacities: roles.map((role) => ({ label: role, perServer: capacities.perServer[role].value })),
    bandwidths: [{ label: 'per user', kbpsPerUser: capacities.kbpsPerUser.value }],
  });
  const count = (role: ServerRole) => sized.servers[roles.indexOf(role)]!.servers ?? 0;
  const cap = (role: ServerRole) => capacities.perServer[role];
  const homes = count('homeServer');
  const routerRule: Provenance = {
    kind: 'rule',
    text: 'If you deploy more than one Instant Messaging user home server, a separate server must perform the role of the Instant Messaging Router',
    source: EX2000,
  };
  const routers = (role: ServerRole) => (homes > 1 ? Math.max(1, count(role)) : 0);
  const chat = cap('chatServer');
  const fdCeiling = input.serverFdLimit - SERVER_FD_RESERVE;
  const perProcess = Math.min(chat.value, fdCeiling);
  const processRule: Provenance = {
    kind: 'rule',
    text: fdCeiling < chat.value
      ? `one server process may open ${input.serverFdLimit.toLocaleString('en')} files, ${SERVER_FD_RESERVE} of them its own, so it holds at most ${fdCeiling.toLocaleString('en')} clients, not ${chat.value.toLocaleString('en')}`
      : `the file limit (${input.serverFdLimit.toLocaleString('en')} files) allows ${fdCeiling.toLocaleString('en')} clients per process, more than the capacity`,
    source: 'plan input serverFdLimit; lab-results.md',
  };
  const peakOnline = sized.peakOnline;
  const servers: ServerLine[] = [
    { role: `IM home servers (${speakersOf('homeServer')})`, servers: homes, perServer: cap('homeServer').value, from: cap('homeServer').from },
    { role: `IM routers (${speakersOf('homeServer')})`, servers: routers('router'), perServer: cap('router').value, from: cap('router').from, rule: routerRule },
    { role: `IM routers, SP2 figure (${speakersOf('homeServer')})`, servers: routers('routerSp2'), perServer: cap('routerSp2').value, from: cap('routerSp2').from, rule: routerRule },
    { role: `chat servers (${speakersOf('chatServer')})`, servers: count('chatServer'), perServer: chat.value, from: chat.from },
    {
      role: `chat server processes at the file limit (${speakersOf('chatServer')})`,
      servers: peakOnline === 0 ? 0 : Math.ceil(peakOnline / perProcess),
      perServer: perProcess,
      from: chat.from,
      rule: processRule,
    },
    { role: `${speakersOf('frontEndPool')} pools (front ends behind one load balancer)`, servers: count('frontEndPool'), perServer: cap('frontEndPool').value, from: cap('frontEndPool').from },
  ];
  const sites = input.sites.map((site) => siteLine(site, input, capacities.kbpsPerUser.value));
  const modelled = modelledBandwidth(input.workload);
  return {
    users: input.users,
    peakOnlineFraction: input.peakOnlineFraction,
    peakOnline,
    headroom: input.headroom,
    workload: input.workload,
    servers,
    kbpsPerUser: capacities.kbpsPerUser,
    modelledBandwidth: modelled,
    totalKbps: sized.bandwidth[0]!.totalKbps,
    sites,
    ...(input.sites.length > 0 ? { placement: placeSites(input, capacities, modelled) } : {}),
    notes: [...capacities.notes, ...workloadNotes(input, capacities)],
  };
}

function siteLine(site: PlanFile['sites'][number], input: PlanFile, kbpsPerUser: number): SiteLine {
  const sized = sizeDeployment({
    users: site.users,
    peakOnlineFraction: input.peakOnlineFraction,
    capacities: [],
    bandwidths: [{ label: site.name, kbpsPerUser }],
    site: { users: site.users, linkKbps: site.linkKbps },
  });
  const kbps = sized.bandwidth[0]!.siteKbps ?? 0;
  const kbpsWithHeadroom = kbps * (1 + input.headroom);
  return {
    name: site.name,
    users: site.users,
    peakOnline: sized.peakOnline,
    linkKbps: site.linkKbps,
    kbps,
    kbpsWithHeadroom,
    linkUse: sized.bandwidth[0]!.siteLinkUse ?? 0,
    carries: kbpsWithHeadroom <= site.linkKbps,
    // Accounts, not online users: the largest n with ceil(n × fraction) × load × (1 + headroom) ≤ link.
    maxUsers: largestCarried(site.linkKbps, input.peakOnlineFraction, kbpsPerUser * (1 + input.headroom)),
  };
}

function largestCarried(linkKbps: number, fraction: number, perOnline: number): number {
  if (!(perOnline > 0)) return Number.POSITIVE_INFINITY;
  const online = Math.floor(linkKbps / perOnline + 1e-9);
  // ceil(n × f) ≤ online ⇔ n ≤ online / f (n whole).
  return fraction > 0 ? Math.floor(online / fraction + 1e-9) : Number.POSITIVE_INFINITY;
}

/** The documented capacities were stated for a workload; a heavier one may hold fewer users. */
function workloadNotes(input: PlanFile, capacities: PlanCapacities): string[] {
  const notes: string[] = [];
  const { messagesPerHour, contacts } = input.workload;
  const documented = Object.values(capacities.perServer).some((c) => c.from.kind === 'profile');
  if (documented && (messagesPerHour > 3 || contacts > 20)) {
    notes.push(
      `The documented per-server figures were stated for “active Instant Messaging users sending three or more messages per hour with 20 or more people on each user’s Instant Messaging contact list” [${EX2000}]; this plan's workload is ${messagesPerHour} messages/hour and ${contacts} contacts, so measure a run at it (--from-run) before relying on them.`,
    );
  }
  if (capacities.kbpsPerUser.from.kind === 'profile') {
    notes.push(`Bandwidth per user is the documented ${capacities.kbpsPerUser.value} kbit/s, an eight-hour average at that deployment's workload; peaks (the logon storm) are higher — imload simulate shows them for a scenario.`);
  }
  if (input.sites.some((s) => s.users >= 10 && s.users <= 100 && s.linkKbps <= 128)) {
    notes.push(`Branch offices of 10–100 users on 56 or 128 kbit/s links are the case Exchange 2000 planned for [${EX2000}].`);
  }
  return notes;
}
