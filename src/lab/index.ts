/**
 * The lab: real servers on loopback for tests, the demo and product testers. `startLabFor`
 * starts what a scenario target names (`lab:`) and says how to point the target at it.
 */
import { startInspircd, startNgircd } from '../protocols/irc/lab.js';
import { startKamailio } from '../protocols/sip/lab.js';
import { startRvpLab } from '../protocols/rvp/lab.js';
import { LabError, type LabContext, type LabServer, type LabTarget } from './types.js';

export type { LabContext, LabTarget };

export type LabKind = 'inspircd' | 'ngircd' | 'kamailio' | 'rvp' | 'rvp-cluster';
export const LAB_KINDS: readonly LabKind[] = ['inspircd', 'ngircd', 'kamailio', 'rvp', 'rvp-cluster'];

/** Listeners of one process share its pid: each process once. */
function distinctPids(servers: readonly LabServer[]): number[] {
  return [...new Set(servers.map((s) => s.pid))];
}

/** A single-process server that can be killed and started again on its port. */
function restartable(first: LabServer, start: (port: number) => Promise<LabServer>) {
  let current: LabServer | undefined = first;
  const port = first.port;
  return {
    serverPids: () => (current ? [current.pid] : []),
    stop: async () => {
      await current?.stop();
      current = undefined;
    },
    outage: {
      down: async () => {
        await current?.stop();
        current = undefined;
      },
      up: async () => {
        current ??= await start(port);
      },
    },
  };
}

export async function startLabFor(kind: LabKind, context: LabContext = {}): Promise<LabTarget> {
  switch (kind) {
    case 'inspircd': {
      // TLS and a connect password only when asked for: plain IRC without PASS stays the default.
      const tls = context.transport === 'tls';
      const server = await startInspircd({ tls, password: context.password });
      if (context.keep) server.keep?.();
      const primary = server.tls ? { ...server, port: server.tls.port, url: server.tls.url } : server;
      return {
        primary,
        servers: [server],
        url: primary.url,
        transport: tls ? 'tls' : undefined,
        ca: server.tls?.caFile,
        // A TLS listener gets a fresh port and certificate on each start, so only plain IRC restarts.
        ...(tls ? { stop: () => server.stop(), serverPids: () => [server.pid] } : restartable(server, (port) => startInspircd({ password: context.password, port }))),
      };
    }
    case 'ngircd': {
      if (context.transport === 'tls') throw new LabError('the ngIRCd lab has no TLS listener: use lab: inspircd for ircs://', 'ngircd');
      const server = await startNgircd();
      if (context.keep) server.keep?.();
      return { primary: server, servers: [server], url: server.url, ...restartable(server, (port) => startNgircd({ port })) };
    }
    case 'kamailio': {
      const transport = context.transport ?? 'udp';
      const lab = await startKamailio({
        domain: context.domain,
        password: context.password,
        tls: transport === 'tls',
        users: context.users,
        keepAfterExit: context.keep,
      });
      const server = transport === 'tls' ? lab.tls! : transport === 'tcp' ? lab.tcp : lab.udp;
      return {
        primary: { ...server, fdLimit: undefined },
        servers: [lab.udp, lab.tcp, ...(lab.tls ? [lab.tls] : [])],
        url: `${transport === 'tls' ? 'sips' : 'sip'}://${server.host}:${server.port}`,
        transport,
        domain: lab.domain,
        options: { ctl: lab.ctl },
        ca: lab.caFile,
        stop: () => lab.stop(),
        serverPids: () => distinctPids([lab.udp, lab.tcp]),
      };
    }
    case 'rvp':
    case 'rvp-cluster': {
      const lab = await startRvpLab({
        topology: kind === 'rvp' ? 'combined' : 'routed',
        homes: context.homes,
        domain: context.domain,
        userPattern: context.namePattern,
        // The scenario's names: user 0 is u000001 (src/scenarios/schedule.ts userName).
        firstNumber: 1,
        userCount: context.users,
        password: context.password,
        tls: context.transport === 'tls',
      });
      if (context.keep) for (const server of lab.all) server.keep?.();
      return {
        primary: lab.entry,
        servers: lab.all,
        url: lab.entry.url,
        transport: lab.caFile ? 'tls' : undefined,
        ca: lab.caFile,
        domain: context.domain ?? 'im.example.com',
        stop: () => lab.stop(),
        serverPids: () => distinctPids(lab.all),
      };
    }
    default:
      throw new LabError(`unknown lab server "${String(kind)}"`, String(kind));
  }
}
