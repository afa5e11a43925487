/**
 * `imload plan --lab`: the plan's placement, scaled down to a lab population, as a topology to
 * build in network namespaces (one per site, the central data centre as the hub), the scenario
 * its generators run, the traffic the plan's model predicts on each site's link, and the
 * comparison with what the kernel counted on the link. Building and running it is the lab's
 * (src/lab/plan-lab.ts); this file only designs and judges, and names no protocol: the home
 * servers' protocol is the descriptor whose plan role is `homeServer`, the chat servers' the one
 * whose role is `chatServer` (plan-lab-chat.ts), the pools' the one whose role is `frontEndPool`
 * (plan-lab-pool.ts).
 *
 * Same traffic on both sides:
 * - The lab runs one session of the plan's workload per user — logon, `sessionHours` of
 *   messages and presence changes compressed by timeScale into `activitySeconds`, logoff — so the
 *   prediction is the byte model's bytes per session (plan-bandwidth.ts `session`), which do not
 *   depend on the compression.
 * - Protocol timers run on wall time: a lab session is far shorter than their periods, so none
 *   fire, and the prediction leaves their bytes out (the design refuses a session long enough
 *   for one to fire).
 * - The prediction is application bytes (what imload counts); the link's counters are wire
 *   bytes. Headers are taken off per packet (Ethernet 14, IPv4 20, TCP with timestamps 32; the
 *   pool's UDP 8), so the comparison is payload against application bytes; the wire figure is
 *   shown beside it.
 */
import { stringify } from 'yaml';
import { DESCRIPTORS } from '../protocols/registry.js';
import type { Plan } from './plan.js';
import type { SitePlacement } from './plan-sites.js';
import type { ModelledBandwidth } from './plan-bandwidth.js';
import { byteModelFor } from '../analysis/simulate-bytes.js';
import { parseScenarioText } from '../scenarios/load.js';
import type { Scenario } from '../scenarios/schema.js';
import { crossingBytes, scheduledCrossing } from './crossing.js';
import { chatNote, chatWhere, designChat, type ChatLabDesign } from './plan-lab-chat.js';
import { designPool, poolNote, poolWhere, type PoolLabDesign } from './plan-lab-pool.js';

/** Header bytes per frame on a lab link: Ethernet (14), IPv4 (20), TCP with the timestamp option (32). */
export const HEADER_BYTES_PER_PACKET = 66;
/** Header bytes per frame of the pool's traffic: its clients use UDP (the scenario's default transport): Ethernet 14, IPv4 20, UDP 8. */
export const POOL_HEADER_BYTES_PER_PACKET = 42;
/** The IM domain of every lab server and scenario. */
const LAB_DOMAIN = 'im.example.com';
/** The most segments (one `imload run` process each) a lab population is split into. */
const MAX_SEGMENTS = 8;
/** Logons and logoffs of the whole lab population take about this long. */
const RAMP_SECONDS = 4;
const ACTIVITY_DELAY_SECONDS = 1;
const DRAIN_SECONDS = 3;
const LAB_SEED = 19;
/** The lab's home-server scenario (plan-lab.yaml). */
const LAB_SCENARIO = 'plan-lab';

export class PlanLabError extends Error {}

export interface PlanLabOptions {
  /** Users the lab runs in all (rounded to a whole number per segment). */
  readonly users: number;
  /** Wall seconds one session's activity is compressed into. */
  readonly activitySeconds: number;
  /** Largest |measured / predicted − 1| a link may show. */
  readonly tolerance: number;
}

/** Where a group of the lab's users is: a named site behind its link, or the central data centre. */
export interface LabGroup {
  /** A site's name, or `central`. */
  readonly name: string;
  readonly site: boolean;
  readonly users: number;
  /** The segments (1-based, of `modulus`) this group's generators run. */
  readonly segments: readonly number[];
  /** Where this group's home server stands: at the site, or central. */
  readonly home: 'site' | 'central';
}

export interface LinkPrediction {
  readonly site: string;
  readonly labUsers: number;
  /** The plan's link speed and the lab's: scaled by lab users / online users and by the timeScale, so it is as full as the plan's. */
  readonly planKbps: number;
  readonly labBitsPerSecond: number;
  readonly home: 'site' | 'central';
  /** Application bytes the plan's model puts on the link over the lab's sessions: the sum of the parts. */
  readonly predictedBytes: number;
  /** How the figure was made, with its numbers. */
  readonly basis: string;
  /** The link's traffic by server role: the home servers', and the chat servers' when the lab runs chat. */
  readonly parts: readonly TrafficPart[];
}

/** One server role's traffic on a link, as predicted. */
export interface TrafficPart {
  readonly role: 'homeServer' | 'chatServer' | 'frontEndPool';
  readonly protocol: string;
  /** Where the site's users are served in this role. */
  readonly where: 'site' | 'central';
  readonly predictedBytes: number;
  readonly basis: string;
}

export interface PlanLabDesign {
  /** The IM domain every lab server serves and every scenario names. */
  readonly domain: string;
  readonly protocol: string;
  /** URL scheme of the home servers' protocol (plain). */
  readonly scheme: string;
  /** The lab server kind that starts one of the home-server role's servers. */
  readonly labKind: string;
  readonly users: number;
  readonly modulus: number;
  readonly groups: readonly LabGroup[];
  /** Where the router stands (a site's name or `central`); absent when one home server routes for itself. */
  readonly routerAt?: string;
  readonly timeScale: number;
  readonly activitySeconds: number;
  readonly links: readonly LinkPrediction[];
  readonly tolerance: number;
  /** What the lab builds of the plan and what it leaves out. */
  readonly notes: readonly string[];
  /** The scenario the generators run (YAML; its target's URL is replaced by the lab's entry server). */
  readonly scenarioYaml: string;
  readonly scenarioName: string;
  readonly targetName: string;
  /** The chat servers where the plan places them and the chat users' scenarios; absent when no chat protocol has a lab. */
  readonly chat?: ChatLabDesign;
  /** The pools where the plan places them and their users' scenarios; absent when no pool protocol has a lab. */
  readonly pool?: PoolLabDesign;
}

/** Kernel counters of one site's link over the run, from the site's side (up = towards the hub). */
export interface LinkCount {
  readonly site: string;
  readonly up: { readonly bytes: number; readonly packets: number };
  readonly down: { readonly bytes: number; readonly packets: number };
  /** Packets the link's shapers dropped (TCP resent them, so the counts include the resends). */
  readonly drops: number;
  /** Application bytes the site's own generators counted (sent + received), all roles. */
  readonly clientBytes: number;
  /** Requests the site's own clients re-sent for want of an answer (SIP over UDP: Timer A/E); their bytes are in the counts. */
  readonly resends?: number;
  /** The chat port's share of the counters (htb classes on the link) and the site's chat clients' own count. */
  readonly chat?: PortCount;
  /** The pool port's share, likewise. */
  readonly pool?: PortCount;
}

/** One role's port on a link: its share of the counters (an htb class) and the site's clients' own count of that role. */
export interface PortCount {
  readonly up: { readonly bytes: number; readonly packets: number };
  readonly down: { readonly bytes: number; readonly packets: number };
  readonly clientBytes: number;
}

/** One role's traffic on a link: predicted and measured. */
export interface PartResult extends TrafficPart {
  /** Payload: the role's port counters (chat, pool), or the link's less the other roles' (home servers). */
  readonly payloadBytes: number;
  readonly clientBytes: number;
  readonly ratio: number;
  readonly verdict: 'agrees' | 'differs';
}

export interface LinkResult extends Omit<LinkPrediction, 'parts'> {
  readonly parts: readonly PartResult[];
  readonly wireBytes: number;
  readonly packets: number;
  /** Wire bytes less the header bytes of each packet (HEADER_BYTES_PER_PACKET; the pool's, POOL_HEADER_BYTES_PER_PACKET). */
  readonly payloadBytes: number;
  readonly clientBytes: number;
  readonly drops: number;
  /** Requests the site's clients re-sent (LinkCount.resends). */
  readonly resends: number;
  /** payloadBytes / predictedBytes. */
  readonly ratio: number;
  readonly verdict: 'agrees' | 'differs';
}

/** A server the lab started, where the design put it (a site's name or `central`). */
export interface LabServerPlaced {
  readonly role: string;
  readonly at: string;
  readonly url: string;
}

export interface PlanLabResult {
  /** The plan the lab checked: its placement, and the guidance sentence behind each choice. */
  readonly plan: Plan;
  readonly design: Omit<PlanLabDesign, 'scenarioYaml' | 'chat' | 'pool'> & { readonly chat?: Omit<ChatLabDesign, 'scenarioYaml'>; readonly pool?: Omit<PoolLabDesign, 'scenarioYaml'> };
  readonly links: readonly LinkResult[];
  /** The servers the lab started and where. */
  readonly servers: readonly LabServerPlaced[];
  readonly ok: boolean;
  readonly runDirs: readonly string[];
}

const fmt = (value: number, digits = 0) => value.toLocaleString('en', { maximumFractionDigits: digits });

/** The lab version of a plan: groups, segments, servers and the prediction per link. */
export function designPlanLab(plan: Plan, options: PlanLabOptions): PlanLabDesign {
  const placement = plan.placement;
  if (!placement) throw new PlanLabError('--lab needs sites (--site name=users@kbps): it checks the traffic on their links');
  if (!(options.users >= 2)) throw new PlanLabError(`--lab-users: at least 2 (got ${options.users})`);
  if (!(options.activitySeconds >= 5)) throw new PlanLabError(`--lab-seconds: at least 5 (got ${options.activitySeconds})`);
  const descriptor = DESCRIPTORS.find((d) => d.planRole === 'homeServer' && d.lab.length > 0);
  const model = plan.modelledBandwidth.find((m) => m.protocol === descriptor?.name);
  if (!descriptor || !model) throw new PlanLabError('no protocol with a byte model and a lab server serves the home-server role');
  const scheme = descriptor.schemes.find((s) => !s.tls)?.scheme ?? descriptor.name;

  const named = placement.sites.filter((s) => s.users > 0);
  if (named.length === 0) throw new PlanLabError('--lab: every site has 0 users; there is no link traffic to check');
  const weights = [...named.map((s) => ({ name: s.name, users: s.users, site: s as SitePlacement | undefined })), ...(placement.centralUsers > 0 ? [{ name: 'central', users: placement.centralUsers, site: undefined }] : [])];
  const { modulus, shares } = apportion(weights.map((w) => w.users));
  const perSegment = Math.max(1, Math.round(options.users / modulus));
  const users = perSegment * modulus;
  let next = 1;
  const groups: LabGroup[] = weights.map((w, i) => {
    const segments = Array.from({ length: shares[i]! }, () => next++);
    return { name: w.name, site: w.site !== undefined, users: segments.length * perSegment, segments, home: w.site?.placement.homeServer.where ?? 'central' };
  });
  const homes = groups.filter((g) => g.home === 'site').length + (groups.some((g) => g.home === 'central') ? 1 : 0);
  const routerAt = homes > 1 ? (groups.some((g) => g.name === placement.routersAt && g.site) ? placement.routersAt : 'central') : undefined;

  const { sessionHours } = plan.workload;
  const timeScale = (sessionHours * 3600) / options.activitySeconds;
  const sessionWallSeconds = options.activitySeconds + ACTIVITY_DELAY_SECONDS + DRAIN_SECONDS + 2 * RAMP_SECONDS;
  const session = { timeScale, ...labSession(users, options.activitySeconds) };
  const chat = designChat(placement, groups, session);
  const pool = designPool(plan, groups, modulus, session, LAB_DOMAIN);
  const shortestTimer = Math.min(
    ...descriptor.byteModel.timers.map((t) => t.everySeconds),
    chat?.shortestTimerSeconds ?? Number.POSITIVE_INFINITY,
    pool?.shortestTimerSeconds ?? Number.POSITIVE_INFINITY,
  );
  if (shortestTimer <= sessionWallSeconds) {
    throw new PlanLabError(`--lab-seconds ${options.activitySeconds}: a lab session of ${sessionWallSeconds} s would see the ${shortestTimer}-second protocol timer fire, which the prediction leaves out; use a shorter one`);
  }
  const scenarioYaml = labScenario(plan, users, timeScale, options.activitySeconds, scheme);
  const homeScenario = parseScenarioText(scenarioYaml, 'plan-lab.yaml').scenarios[LAB_SCENARIO]!;
  const poolScenario = pool ? parseScenarioText(pool.scenarioYaml, 'plan-lab-pool.yaml').scenarios[pool.servers[0]!.scenarioName] : undefined;
  // User u runs in segment u mod modulus + 1 (src/scenarios/schedule.ts usersOf), whichever scenario.
  const inGroup = (g: LabGroup) => {
    const own = new Set(g.segments);
    return (user: number) => own.has((user % modulus) + 1);
  };
  const links = groups.filter((g) => g.site).map((g) => {
    const parts = [
      predictFederatedTraffic(g, 'homeServer', g.home, model, { scenario: homeScenario, inGroup: inGroup(g) }),
      ...(chat ? [predictRoleTraffic(g, 'chatServer', chatWhere(placement, g), chat, 'its logons and channels stay on the site\'s LAN')] : []),
      ...(pool ? [predictFederatedTraffic(g, 'frontEndPool', poolWhere(placement, g), pool.model, { scenario: poolScenario!, inGroup: inGroup(g), drawsOverRates: pool.drawsOverRates })] : []),
    ];
    return predictLink(g, named.find((s) => s.name === g.name)!, timeScale, parts);
  });
  const given = named.filter((s) => s.contactsInSiteGiven).map((s) => s.name);
  const notes = [
    `${fmt(users)} lab users (${modulus} segments of ${fmt(perSegment)}) stand for the plan's ${fmt(plan.users)}; each runs one session of the plan's workload (${plan.workload.messagesPerHour} messages and ${plan.workload.presenceChangesPerHour} presence changes an hour, ${plan.workload.contacts} contacts, ${sessionHours} h) compressed ${fmt(timeScale, 1)}× into ${options.activitySeconds} s.`,
    `Each link is shaped (tbf, both directions) to the plan's speed × lab users / online users × the timeScale, so it is as full as the plan's link would be.`,
    `Prediction: for a site with its own home server, the exchanges the lab's schedule draws between its users and users elsewhere (subscriptions, messages, presence notifications) at the byte model's bytes for each as homes relay them; for a site served centrally, the ${model.basis}, per session; both without the protocol timers (none fires in a ${sessionWallSeconds}-second lab session: ${fmt(model.session.timers)} of ${fmt(model.session.total)} bytes per user). Measured: the link's bytes less ${HEADER_BYTES_PER_PACKET} header bytes per packet, both directions.`,
    ...(given.length > 0 ? [`local= (${given.join(', ')}) is not reproduced: the lab's contacts are drawn uniformly from the whole population, and its prediction uses that share.`] : []),
    `Servers: ${homes} home server(s) of the plan's home-server role (${descriptor.title}) — one per site the plan gives home servers, one central for everyone else${routerAt ? `, and a router at ${routerAt}` : ''}.`,
    chat
      ? chatNote(chat)
      : 'Chat servers are not built: no protocol of the chat-server role has a lab server.',
    pool ? poolNote(pool, POOL_HEADER_BYTES_PER_PACKET) : 'Pools are not built: no protocol of the pool role has a lab server.',
  ];
  return {
    domain: LAB_DOMAIN,
    protocol: descriptor.name,
    scheme,
    labKind: descriptor.lab[0]!.kind,
    users,
    modulus,
    groups,
    ...(routerAt ? { routerAt } : {}),
    timeScale,
    activitySeconds: options.activitySeconds,
    links,
    tolerance: options.tolerance,
    notes,
    scenarioYaml,
    scenarioName: LAB_SCENARIO,
    targetName: 'company',
    ...(chat ? { chat } : {}),
    ...(pool ? { pool } : {}),
  };
}

/**
 * A role whose servers are federated over the whole lab population (home servers, pools): with a
 * server at the site, the exchanges between its users and users elsewhere cross the link, counted
 * on the lab's schedule (crossing.ts) at the byte model's bytes per exchange; served centrally,
 * everything the site's clients exchange does, from the protocol's per-session bytes scaled by the
 * schedule's draws over the rates.
 */
function predictFederatedTraffic(
  group: LabGroup,
  role: 'homeServer' | 'frontEndPool',
  where: 'site' | 'central',
  model: ModelledBandwidth,
  lab: { readonly scenario: Scenario; readonly inGroup: (user: number) => boolean; readonly drawsOverRates?: number },
): TrafficPart {
  const name = role === 'homeServer' ? 'home server' : 'pool';
  if (where === 'site') {
    const exchanges = scheduledCrossing(lab.scenario, lab.inGroup);
    const basis = `${name} at the site: the exchanges the lab's schedule draws between its ${fmt(group.users)} users and users elsewhere — ${fmt(exchanges.subscriptions)} subscriptions, ${fmt(exchanges.messages)} messages, ${fmt(exchanges.notifications)} presence notifications — at the ${model.protocol.toUpperCase()} byte model's bytes for each as servers relay it`;
    return { role, protocol: model.protocol, where, predictedBytes: crossingBytes(exchanges, byteModelFor(model.protocol)), basis };
  }
  const drawsOverRates = lab.drawsOverRates ?? 1;
  const { session } = model;
  const draws = drawsOverRates === 1 ? '' : ` × ${fmt(drawsOverRates, 3)} (the schedule's draws over the rates)`;
  const basis = `${name} central: ${fmt(group.users)} users × ${fmt(session.total - session.timers)} bytes per session (everything the clients exchange)${draws}`;
  return { role, protocol: model.protocol, where, predictedBytes: group.users * (session.total - session.timers) * drawsOverRates, basis };
}

/** A role whose servers stand apart (chat): nothing crosses when the site has its own, else the site's share of the central one's. */
function predictRoleTraffic(group: LabGroup, role: 'chatServer', where: 'site' | 'central', design: ChatLabDesign, local: string): TrafficPart {
  const name = ROLE_TRAFFIC[role];
  if (where === 'site') return { role, protocol: design.protocol, where, predictedBytes: 0, basis: `${name} at the site: ${local}, nothing crosses` };
  const server = design.servers.find((s) => s.groups.some((g) => g.name === group.name))!;
  const share = group.users / server.users;
  return {
    role,
    protocol: design.protocol,
    where,
    predictedBytes: server.predictedBytes * share,
    basis: `${name} central: ${fmt(group.users)} of its ${fmt(server.users)} users × ${fmt(server.predictedBytes)} bytes the byte model puts on its schedule (everything the clients exchange)`,
  };
}

function predictLink(group: LabGroup, site: SitePlacement, timeScale: number, parts: readonly TrafficPart[]): LinkPrediction {
  return {
    site: group.name,
    labUsers: group.users,
    planKbps: site.linkKbps,
    labBitsPerSecond: Math.round(site.linkKbps * 1000 * (group.users / Math.max(1, site.peakOnline)) * timeScale),
    home: group.home,
    predictedBytes: parts.reduce((n, p) => n + p.predictedBytes, 0),
    basis: parts.map((p) => p.basis).join('; '),
    parts,
  };
}

/**
 * Splits the population into `modulus` equal segments, each group a whole number of them (at
 * least one), with the fewest segments that keep every group within 5 % of its share (else the
 * closest at MAX_SEGMENTS): largest remainders.
 */
export function apportion(users: readonly number[]): { modulus: number; shares: number[] } {
  const total = users.reduce((a, b) => a + b, 0);
  let best: { modulus: number; shares: number[]; error: number } | undefined;
  for (let modulus = users.length; modulus <= Math.max(users.length, MAX_SEGMENTS); modulus++) {
    const exact = users.map((u) => (u / total) * modulus);
    const shares = exact.map((e) => Math.max(1, Math.floor(e)));
    while (shares.reduce((a, b) => a + b, 0) < modulus) {
      const i = exact.map((e, k) => e - shares[k]!).reduce((bi, r, k, all) => (r > all[bi]! ? k : bi), 0);
      shares[i]!++;
    }
    if (shares.reduce((a, b) => a + b, 0) > modulus) continue;
    const error = Math.max(...users.map((u, i) => Math.abs(shares[i]! / modulus - u / total) / (u / total)));
    if (!best || error < best.error - 1e-9) best = { modulus, shares, error };
    if (error <= 0.05) break;
  }
  return { modulus: best!.modulus, shares: best!.shares };
}

/** The lab session's phases and activity timing, shared by the home-server and the chat scenarios so they run side by side. */
function labSession(users: number, activitySeconds: number) {
  const rate = Math.max(1, Math.ceil(users / RAMP_SECONDS));
  return {
    phases: [
      { phase: 'rampUp', rate },
      { phase: 'hold', duration: `${activitySeconds + ACTIVITY_DELAY_SECONDS + DRAIN_SECONDS}s` },
      { phase: 'rampDown', rate },
    ],
    activity: { activityStart: 'rampUpEnd', activityDelay: `${ACTIVITY_DELAY_SECONDS}s`, drain: `${DRAIN_SECONDS}s` },
    seed: LAB_SEED,
  };
}

function labScenario(plan: Plan, users: number, timeScale: number, activitySeconds: number, scheme: string): string {
  const { phases, activity, seed } = labSession(users, activitySeconds);
  const doc = {
    version: 1,
    targets: { company: { url: `${scheme}://127.0.0.1:1`, domain: LAB_DOMAIN } },
    scenarios: {
      [LAB_SCENARIO]: {
        description: `imload plan --lab: one session of the plan's workload per user, compressed ${fmt(timeScale, 1)}×`,
        target: 'company',
        seed,
        timeScale,
        population: { users, contacts: plan.workload.contacts },
        phases,
        behaviour: {
          messagesPerHour: plan.workload.messagesPerHour,
          presenceChangesPerHour: plan.workload.presenceChangesPerHour,
          ...activity,
        },
      },
    },
  };
  return stringify(doc);
}

/** measured / predicted; a prediction of nothing agrees only with nothing measured. */
function compare(measured: number, predicted: number, tolerance: number): { ratio: number; verdict: 'agrees' | 'differs' } {
  const ratio = predicted > 0 ? measured / predicted : measured === 0 ? 1 : Number.POSITIVE_INFINITY;
  return { ratio, verdict: Math.abs(ratio - 1) <= tolerance ? 'agrees' : 'differs' };
}

type Counted = Pick<PortCount, 'up' | 'down'>;
const wireOf = (c: Counted) => c.up.bytes + c.down.bytes;
const packetsOf = (c: Counted) => c.up.packets + c.down.packets;
const payloadOf = (c: Counted, headerBytes = HEADER_BYTES_PER_PACKET) => wireOf(c) - headerBytes * packetsOf(c);
const NOTHING: PortCount = { up: { bytes: 0, packets: 0 }, down: { bytes: 0, packets: 0 }, clientBytes: 0 };

/** Measured against predicted, per link and per role on it. */
export function judgePlanLab(plan: Plan, design: PlanLabDesign, run: { readonly counts: readonly LinkCount[]; readonly servers: readonly LabServerPlaced[]; readonly runDirs: readonly string[] }): PlanLabResult {
  const { counts, servers, runDirs } = run;
  const links = design.links.map((link): LinkResult => {
    const count = counts.find((c) => c.site === link.site);
    if (!count) throw new PlanLabError(`no counters for the link of ${link.site}`);
    const wireBytes = wireOf(count);
    const packets = packetsOf(count);
    const chat = count.chat ?? NOTHING;
    const pool = count.pool ?? NOTHING;
    // Each role's payload with its own transport's headers off; the home servers' is the rest of the link.
    const byRole = {
      chatServer: { payloadBytes: payloadOf(chat), clientBytes: chat.clientBytes },
      frontEndPool: { payloadBytes: payloadOf(pool, POOL_HEADER_BYTES_PER_PACKET), clientBytes: pool.clientBytes },
      homeServer: {
        payloadBytes: wireBytes - wireOf(chat) - wireOf(pool) - HEADER_BYTES_PER_PACKET * (packets - packetsOf(chat) - packetsOf(pool)),
        clientBytes: count.clientBytes - chat.clientBytes - pool.clientBytes,
      },
    };
    const payloadBytes = byRole.homeServer.payloadBytes + byRole.chatServer.payloadBytes + byRole.frontEndPool.payloadBytes;
    const parts = link.parts.map((part): PartResult => ({ ...part, ...byRole[part.role], ...compare(byRole[part.role].payloadBytes, part.predictedBytes, design.tolerance) }));
    const whole = compare(payloadBytes, link.predictedBytes, design.tolerance);
    // The link agrees when it does as a whole and so does each role's traffic on it.
    const verdict = whole.verdict === 'agrees' && parts.every((p) => p.verdict === 'agrees') ? 'agrees' : 'differs';
    return { ...link, parts, wireBytes, packets, payloadBytes, clientBytes: count.clientBytes, drops: count.drops, resends: count.resends ?? 0, ratio: whole.ratio, verdict };
  });
  const { scenarioYaml: _scenario, chat, pool, ...restDesign } = design;
  const withoutScenario = <D extends { readonly scenarioYaml: string }>({ scenarioYaml: _roleScenario, ...d }: D) => d;
  return {
    plan,
    design: { ...restDesign, ...(chat ? { chat: withoutScenario(chat) } : {}), ...(pool ? { pool: withoutScenario(pool) } : {}) },
    links,
    servers,
    ok: links.every((l) => l.verdict === 'agrees'),
    runDirs,
  };
}

/** The comparison table's columns, shared by the text table and the page. */
export const LINK_COLUMNS = ['site', 'home server', 'lab users', 'lab link', 'predicted MB', 'measured MB', 'ratio', 'wire MB', 'verdict'] as const;

const mb = (bytes: number) => fmt(bytes / 1e6, 2);

/** One link's row under LINK_COLUMNS, as a person reads it. */
export function linkCells(link: LinkResult, tolerance: number): string[] {
  return [
    link.site,
    link.home === 'site' ? 'at the site' : 'central',
    fmt(link.labUsers),
    `${fmt(link.labBitsPerSecond / 1e6, 2)} Mbit/s`,
    mb(link.predictedBytes),
    mb(link.payloadBytes),
    fmt(link.ratio, 3),
    `${mb(link.wireBytes)} (headers ${fmt(link.wireBytes > 0 ? ((link.wireBytes - link.payloadBytes) / link.wireBytes) * 100 : 0, 1)} %)`,
    link.verdict === 'agrees' ? `agrees (within ${fmt(tolerance * 100)} %)` : `DIFFERS (beyond ${fmt(tolerance * 100)} %)`,
  ];
}

/** The per-role table's columns (when the lab ran more than the home servers), shared by the text table and the page. */
export const PART_COLUMNS = ['site', 'traffic', 'server', 'predicted MB', 'measured MB', 'ratio', 'clients counted MB', 'verdict'] as const;

const ROLE_TRAFFIC: Readonly<Record<TrafficPart['role'], string>> = { homeServer: 'home servers', chatServer: 'chat', frontEndPool: 'pool' };

/** One role's row under PART_COLUMNS. */
export function partCells(link: LinkResult, part: PartResult, tolerance: number): string[] {
  return [
    link.site,
    `${ROLE_TRAFFIC[part.role]} (${part.protocol.toUpperCase()})`,
    part.where === 'site' ? 'at the site' : 'central',
    mb(part.predictedBytes),
    mb(part.payloadBytes),
    Number.isFinite(part.ratio) ? fmt(part.ratio, 3) : '—',
    mb(part.clientBytes),
    part.verdict === 'agrees' ? `agrees (within ${fmt(tolerance * 100)} %)` : `DIFFERS (beyond ${fmt(tolerance * 100)} %)`,
  ];
}

/**
 * What a link's figures rest on: the prediction's basis, the clients' own count, the shaper's
 * drops and the clients' re-sent requests — traffic the plan's model has no part for, which a busy
 * lab host or link causes: said so that a measured excess is not read as the plan's error.
 */
export function linkBasis(link: LinkResult): string {
  const drops = link.drops > 0 ? `; the link dropped ${fmt(link.drops)} packets, whose resends are in the measured bytes` : '';
  const resends = link.resends > 0 ? `; its clients re-sent ${fmt(link.resends)} requests left unanswered in time (a busy lab host or link), which are in the measured bytes and not in the prediction` : '';
  return `${link.site}: ${link.basis}; its clients counted ${mb(link.clientBytes)} MB of their own${drops}${resends}`;
}

export function planLabHeadline(result: PlanLabResult): string {
  const { chat, pool } = result.design;
  return `Plan in the lab: ${result.design.groups.length} network namespaces, ${result.links.length} shaped link(s), ${fmt(result.design.users)} ${result.design.protocol.toUpperCase()} users${chat ? `, chatting on ${chat.protocol.toUpperCase()} too` : ''}${pool ? `${chat ? ' and' : ','} reaching a pool over ${pool.protocol.toUpperCase()}` : ''}`;
}

export function planLabConclusion(result: PlanLabResult): string {
  const tolerance = fmt(result.design.tolerance * 100);
  return result.ok
    ? `Every link's measured traffic is within ${tolerance} % of the plan's prediction.`
    : `The measured traffic differs from the plan's prediction by more than ${tolerance} % on ${result.links.filter((l) => l.verdict === 'differs').map((l) => l.site).join(', ')}.`;
}

/** A text table: the first `left` columns and the last left-aligned, the rest right-aligned. */
function textTable(header: readonly string[], rows: readonly (readonly string[])[], left: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `  ${cells.map((c, i) => (i < left || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

export function formatPlanLabText(result: PlanLabResult): string {
  const { design } = result;
  const byRole = result.links.some((l) => l.parts.length > 1);
  const out = [
    planLabHeadline(result),
    `  servers: ${result.servers.map((s) => `${s.role} at ${s.at}`).join(', ')}`,
    '',
    ...textTable(LINK_COLUMNS, result.links.map((l) => linkCells(l, design.tolerance)), 2),
    '',
    ...(byRole ? ['  By server role (chat and pool: their ports counted apart on the link; home servers: the rest)', ...textTable(PART_COLUMNS, result.links.flatMap((l) => l.parts.map((p) => partCells(l, p, design.tolerance))), 3), ''] : []),
    ...result.links.map((l) => `  ${linkBasis(l)}`),
    '',
    ...design.notes.map((n) => `  ${n}`),
    '',
    planLabConclusion(result),
    `  runs: ${result.runDirs.join(', ')}`,
  ];
  return out.join('\n');
}
