/**
 * Builds a plan's placement in network namespaces and runs its scenario across it (`imload
 * plan --lab`; the design is src/capacity/plan-lab.ts). The central data centre is the hub
 * namespace; each site is a namespace joined to it by a veth pair shaped with tbf in both
 * directions, so traffic between two sites crosses both their links, as on a hub-and-spoke WAN.
 * The home servers stand where the plan puts them (a site's own, or the central one), the
 * router at the Internet site or central, and each group's generators run in its namespace:
 * one `imload run --segment` per segment. Chat servers (not linked) stand where the plan puts
 * them, and every group's chat users run beside its home-server users, on the same links; so do
 * the pools (one lab server standing for each, federated like the homes: each relays requests for
 * the others' users by their segments) and their users. The chat port's
 * and the pool port's packets are counted apart (htb classes inside each link's shaper). Each link's
 * kernel counters are read before the generators start and after the last one exits. Needs
 * root (CAP_NET_ADMIN).
 */
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { countPortsOnLink, createTopology, linkCounters, linkDrops, linkPortCounters, runSegmentsIn, runTogether, shapeLink, startLabIn, NetnsError, type NamespacedServer, type NetnsTopology, type LinkDirection } from './netns.js';
import { missingPrograms } from './index.js';
import type { LabHome } from './types.js';

/** What the lab builds: the part of a plan-lab design this module reads. */
export interface SiteLabSpec {
  /** The IM domain every server serves and every scenario names. */
  readonly domain: string;
  readonly labKind: string;
  readonly scheme: string;
  readonly users: number;
  readonly modulus: number;
  readonly groups: readonly { readonly name: string; readonly site: boolean; readonly segments: readonly number[]; readonly home: 'site' | 'central' }[];
  readonly routerAt?: string;
  readonly links: readonly { readonly site: string; readonly labBitsPerSecond: number }[];
  readonly scenarioYaml: string;
  readonly scenarioName: string;
  readonly targetName: string;
  readonly chat?: RoleSpec;
  readonly pool?: RoleSpec;
}

/** Servers of a role apart from the home servers (chat, pool): where each stands, its users' segments and their scenario. */
export interface RoleSpec {
  readonly labKind: string;
  readonly scheme: string;
  /** The IM domain its servers serve, when not the deployment's. */
  readonly domain?: string;
  /**
   * The servers share one population (`modulus` segments) and each relays requests for another's
   * users to it, as the home servers do (pools); absent: each stands alone with its own (chat).
   */
  readonly federated?: boolean;
  readonly servers: readonly { readonly at: string; readonly users: number; readonly modulus: number; readonly scenarioName: string; readonly groups: readonly { readonly name: string; readonly segments: readonly number[] }[] }[];
  readonly scenarioYaml: string;
  readonly targetName: string;
}

/** A server the lab started: its role, where it stood (a site's name or `central`) and its URL there. */
export interface SiteLabServer {
  readonly role: 'combined' | 'home' | 'router' | 'chat' | 'pool';
  readonly at: string;
  readonly url: string;
}

export interface SiteLabRun {
  readonly servers: readonly SiteLabServer[];
  readonly counts: readonly {
    readonly site: string;
    readonly up: LinkDirection;
    readonly down: LinkDirection;
    readonly drops: number;
    readonly clientBytes: number;
    readonly resends: number;
    readonly chat?: PortCounted;
    readonly pool?: PortCounted;
  }[];
  readonly runDirs: readonly string[];
}

/** One role's port on a link: its counters over the run and what the site's clients of that role counted. */
export interface PortCounted {
  readonly up: LinkDirection;
  readonly down: LinkDirection;
  readonly clientBytes: number;
}

/** The host cannot build the lab (not root, no `ip`/`tc`, namespaces refused): nothing was measured. */
export class SiteLabUnavailable extends Error {}

const HOME_PORT = 8080;
const ROUTER_PORT = 8090;
const CHAT_PORT = 6667;
const POOL_PORT = 5060;

export async function runSiteLab(spec: SiteLabSpec, options: { outDir: string; timeoutMs?: number; tag?: string }): Promise<SiteLabRun> {
  if (process.getuid?.() !== 0) throw new SiteLabUnavailable('plan --lab needs root (CAP_NET_ADMIN) to build network namespaces and shape links; run it as root, e.g. in CI or a throw-away VM');
  const missing = missingPrograms([spec.labKind, ...(spec.chat ? [spec.chat.labKind] : []), ...(spec.pool ? [spec.pool.labKind] : [])]);
  if (missing.length > 0) throw new SiteLabUnavailable(`plan --lab cannot build this plan's servers here: ${missing.map((m) => `${m.problem}; ${m.remedy}`).join('. ')}`);
  const sites = spec.groups.filter((g) => g.site);
  let topology: NetnsTopology;
  try {
    topology = createTopology({ generators: sites.length, tag: options.tag });
  } catch (error) {
    throw new SiteLabUnavailable(`could not create network namespaces: ${(error as Error).message}`);
  }
  const servers: NamespacedServer[] = [];
  const started: SiteLabServer[] = [];
  // The roles whose servers stand apart, each on its own port, counted apart on every link.
  const roles = [
    ...(spec.chat ? [{ role: 'chat' as const, spec: spec.chat, port: CHAT_PORT }] : []),
    ...(spec.pool ? [{ role: 'pool' as const, spec: spec.pool, port: POOL_PORT }] : []),
  ];
  try {
    const place = (group: { name: string; site: boolean }) => {
      const k = sites.findIndex((s) => s.name === group.name);
      return k < 0 ? { ns: topology.server.ns, address: topology.server.address } : { ns: topology.generators[k]!.ns, address: topology.generators[k]!.address };
    };
    sites.forEach((site, k) => {
      const rate = spec.links.find((l) => l.site === site.name)?.labBitsPerSecond;
      if (rate === undefined) throw new NetnsError(`no link rate for ${site.name}`);
      shapeLink(topology, topology.generators[k]!, rate);
      if (roles.length > 0) countPortsOnLink(topology, topology.generators[k]!, roles.map((r) => r.port), rate);
    });

    // Home servers: one per site the plan gives its own, one central for every other group.
    const homeSites = spec.groups.filter((g) => g.home === 'site');
    const centralGroups = spec.groups.filter((g) => g.home === 'central');
    const homes: (LabHome & { ns: string; address: string; at: string })[] = [
      ...homeSites.map((g) => ({ ...place(g), at: g.name, url: `http://${place(g).address}:${HOME_PORT}`, residues: g.segments.map((s) => s - 1) })),
      ...(centralGroups.length > 0 ? [{ ...place({ name: 'central', site: false }), at: 'central', url: `http://${topology.server.address}:${HOME_PORT}`, residues: centralGroups.flatMap((g) => g.segments.map((s) => s - 1)) }] : []),
    ];
    const common = { users: spec.users, domain: spec.domain, allow: topology.subnet };
    const homeList = homes.map(({ url, residues }) => ({ url, residues }));
    let entry: string;
    if (homes.length === 1) {
      const [home] = homes;
      servers.push(await startLabIn(home!.ns, spec.labKind, { ...common, host: home!.address, port: HOME_PORT, deployment: { role: 'combined', homes: [], modulus: spec.modulus } }));
      entry = `${spec.scheme}://${home!.address}:${HOME_PORT}`;
      started.push({ role: 'combined', at: home!.at, url: entry });
    } else {
      for (const home of homes) {
        servers.push(await startLabIn(home.ns, spec.labKind, { ...common, host: home.address, port: HOME_PORT, deployment: { role: 'home', homes: homeList, modulus: spec.modulus, self: home.url } }));
        started.push({ role: 'home', at: home.at, url: `${spec.scheme}://${home.address}:${HOME_PORT}` });
      }
      const routerAt = spec.routerAt ?? 'central';
      const router = place({ name: routerAt, site: routerAt !== 'central' });
      servers.push(await startLabIn(router.ns, spec.labKind, { ...common, host: router.address, port: ROUTER_PORT, deployment: { role: 'router', homes: homeList, modulus: spec.modulus } }));
      entry = `${spec.scheme}://${router.address}:${ROUTER_PORT}`;
      started.push({ role: 'router', at: routerAt, url: entry });
    }

    // Each role's servers where the design puts them: one URL per place.
    const roleUrls = new Map<string, string>();
    for (const { role, spec: roleSpec, port } of roles) {
      const placed = roleSpec.servers.map((server) => {
        const where = place({ name: server.at, site: server.at !== 'central' });
        return { server, where, url: `${roleSpec.scheme}://${where.address}:${port}` };
      });
      // Federated: every server knows which users each of the others holds (by their segments).
      const peers = placed.map(({ server, url }) => ({ url, residues: server.groups.flatMap((g) => g.segments.map((s) => s - 1)) }));
      for (const { server, where, url } of placed) {
        const deployment = roleSpec.federated ? { deployment: { role: 'home' as const, homes: peers, modulus: server.modulus, self: url } } : {};
        servers.push(await startLabIn(where.ns, roleSpec.labKind, { users: server.users, domain: roleSpec.domain ?? spec.domain, host: where.address, port, allow: topology.subnet, ...deployment }));
        roleUrls.set(`${role}@${server.at}`, url);
        started.push({ role, at: server.at, url });
      }
    }

    const outDir = resolve(options.outDir);
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, 'plan-lab.yaml');
    writeFileSync(file, spec.scenarioYaml);
    const parts = spec.groups.flatMap((g) => g.segments.map((segment) => ({ ns: place(g).ns, segment, runDir: join(outDir, `${g.name}-seg${segment}`), group: g.name })));
    // Every role server's users, by segment of that server's scenario.
    const roleRuns = roles.flatMap(({ role, spec: roleSpec }) => {
      const roleFile = join(outDir, `plan-lab-${role}.yaml`);
      writeFileSync(roleFile, roleSpec.scenarioYaml);
      return roleSpec.servers.map((server) => ({
        role,
        run: { file: roleFile, scenario: server.scenarioName, target: roleSpec.targetName, url: roleUrls.get(`${role}@${server.at}`)! },
        modulus: server.modulus,
        parts: server.groups.flatMap((g) => g.segments.map((segment) => ({ ns: place({ name: g.name, site: g.name !== 'central' }).ns, segment, runDir: join(outDir, `${role}-${g.name}-seg${segment}`), group: g.name }))),
      }));
    });
    const portCounters = () => topology.generators.map((g) => roles.map((_, i) => linkPortCounters(topology, g, i)));
    const before = topology.generators.map((g) => linkCounters(g));
    const portBefore = portCounters();
    const extraArgs = ['--no-record'];
    // The company's one day: every product's runs on one clock (each runSegmentsIn alone shares only its own).
    const [runs, ...roleDone] = await runTogether((gate) =>
      Promise.all([
        runSegmentsIn(parts, spec.modulus, { file, scenario: spec.scenarioName, target: spec.targetName, url: entry, extraArgs, timeoutMs: options.timeoutMs, gate }),
        ...roleRuns.map((r) => runSegmentsIn(r.parts, r.modulus, { ...r.run, extraArgs, timeoutMs: options.timeoutMs, gate })),
      ]),
    );
    const after = topology.generators.map((g) => linkCounters(g));
    const portAfter = portCounters();
    type Counted = { readonly bandwidth: { bytesIn: number; bytesOut: number }; readonly retransmissions?: number };
    const summaries = (runParts: readonly { group: string; runDir: string }[], group: string) =>
      runParts.filter((p) => p.group === group).map((p) => JSON.parse(readFileSync(join(p.runDir, 'summary.json'), 'utf8')) as Counted);
    const countedBy = (runParts: readonly { group: string; runDir: string }[], group: string) =>
      summaries(runParts, group).reduce((sum, s) => sum + s.bandwidth.bytesIn + s.bandwidth.bytesOut, 0);
    const allParts = [...parts, ...roleRuns.flatMap((r) => r.parts)];
    const delta = (a: LinkDirection, b: LinkDirection): LinkDirection => ({ bytes: b.bytes - a.bytes, packets: b.packets - a.packets });
    return {
      servers: started,
      counts: sites.map((site, k) => {
        const byPort = Object.fromEntries(
          roles.map(({ role }, i) => {
            const clientBytes = countedBy(roleRuns.filter((r) => r.role === role).flatMap((r) => r.parts), site.name);
            return [role, { up: delta(portBefore[k]![i]!.up, portAfter[k]![i]!.up), down: delta(portBefore[k]![i]!.down, portAfter[k]![i]!.down), clientBytes }];
          }),
        ) as Partial<Record<'chat' | 'pool', PortCounted>>;
        return {
          site: site.name,
          up: delta(before[k]!.up, after[k]!.up),
          down: delta(before[k]!.down, after[k]!.down),
          drops: linkDrops(topology, topology.generators[k]!),
          clientBytes: countedBy(parts, site.name) + Object.values(byPort).reduce((n, c) => n + c.clientBytes, 0),
          resends: summaries(allParts, site.name).reduce((n, s) => n + (s.retransmissions ?? 0), 0),
          ...byPort,
        };
      }),
      runDirs: [...runs, ...roleDone.flat()].map((r) => r.runDir),
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    topology.teardown();
  }
}
