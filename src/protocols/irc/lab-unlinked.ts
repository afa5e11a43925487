/**
 * `lab: inspircd-unlinked`: N InspIRCd servers on loopback that know nothing of each other — no
 * spanning tree, no links — as Exchange 5.5 chat servers that are not linked. A channel of the
 * same name on each is a separate instance; users reach everyone only by joining and posting to
 * each (`network.channels: each-instance`, src/engine/each-instance.ts).
 */
import { LabError, type LabContext, type LabTarget } from '../../lab/types.js';
import { startInspircd, type InspircdLabServer } from './lab.js';

/** The target's `network.servers`, default 2: the smallest network that needs each-instance channels. */
const DEFAULT_SERVERS = 2;

export async function startInspircdUnlinkedLab(context: LabContext): Promise<LabTarget> {
  const kind = 'inspircd-unlinked';
  if (context.transport === 'tls') throw new LabError('the unlinked InspIRCd lab has no TLS listeners yet: use irc://', kind);
  if (context.host !== undefined) throw new LabError('the unlinked InspIRCd lab runs on loopback only (no network namespaces)', kind);
  const count = context.servers ?? DEFAULT_SERVERS;
  if (!Number.isInteger(count) || count < 2 || count > 50) throw new LabError(`${kind}: servers must be 2..50 (got ${count})`, kind);
  const servers: InspircdLabServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    // One after another: each start waits for its server to register a client (startInspircd).
    for (let i = 0; i < count; i++) servers.push(await startInspircd({ name: `s${i + 1}`, password: context.password }));
  } catch (error) {
    await stop();
    throw error;
  }
  if (context.keep) for (const server of servers) server.keep?.();
  const primary = servers[0]!;
  return {
    primary,
    servers,
    url: primary.url,
    urls: servers.map((s) => s.url),
    stop,
    serverPids: () => servers.map((s) => s.pid),
  };
}
