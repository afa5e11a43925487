/** The IRC protocol module: RFC 1459/2812 clients, IRCv3 when offered, IRCX when offered. */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { AgentTarget, ProtocolAgent, ProtocolModule, VuEvents, VuIdentity } from '../types.js';
import { LineBuffer, parseLine } from './codec.js';
import { ServerFeatures } from './features.js';
import { SERVERS_PER_ROSTER, SharedRosters } from './channels.js';
import { IrcUser } from './user.js';
import { parseTargetOptions } from '../descriptor.js';
import { IrcOptions } from './options.js';
import { networkServerOf } from '../network.js';

class IrcAgent implements ProtocolAgent {
  readonly capabilities = { channels: true, presence: false, instantMessages: true, eachInstance: true };
  private readonly features = new ServerFeatures();
  /**
   * Channel rosters, one set per group of up to 30 servers of a network; within a group each
   * server's users see the channel as that server does (a netsplit removes the other side's
   * members on each side) through its bit of the shared roster (channels.ts).
   */
  private readonly rosterGroups: readonly SharedRosters[];

  /** A linked network's servers, each as a target; user i connects to `byServer[serverOf(i)]`. */
  private readonly byServer: readonly AgentTarget[];
  private readonly serverOf: ((index: number) => number) | undefined;

  constructor(private readonly target: AgentTarget) {
    this.byServer = target.network ? target.network.endpoints.map((e) => ({ ...target, host: e.host, port: e.port })) : [target];
    this.serverOf = networkServerOf(target.network);
    const servers = this.byServer.length;
    this.rosterGroups = Array.from(
      { length: Math.ceil(servers / SERVERS_PER_ROSTER) },
      (_, group) => new SharedRosters(Math.min(SERVERS_PER_ROSTER, servers - group * SERVERS_PER_ROSTER)),
    );
  }

  /** `instance`: the server of a network to connect to (each-instance channels), else the user's own. */
  createUser(identity: VuIdentity, events: VuEvents, instance?: number): IrcUser {
    const server = instance ?? this.serverOf?.(identity.index) ?? 0;
    const group = Math.floor(server / SERVERS_PER_ROSTER);
    return new IrcUser(this.byServer[server]!, identity, events, this.features, this.rosterGroups[group]!, server % SERVERS_PER_ROSTER);
  }

  /**
   * Registers an observer, asks LUSERS, and returns the server's user count minus itself. On a
   * linked network that is the global count (266) the first server reports, every server's users.
   */
  serverOnlineCount(): Promise<number | undefined> {
    return countUsers(this.target);
  }

  async close(): Promise<void> {}
}

export function countUsers(target: AgentTarget, timeoutMs = 8000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const nick = `imlobs${Math.floor(Math.random() * 1e6)}`;
    const options = { host: target.host, port: target.port };
    const socket =
      target.transport === 'tls'
        ? tlsConnect({ ...options, ca: target.tls?.ca ? readFileSync(target.tls.ca) : undefined, rejectUnauthorized: !target.tls?.insecure } as ConnectionOptions)
        : netConnect(options);
    const lines = new LineBuffer();
    let global: number | undefined;
    let visible: number | undefined;
    const finish = (count: number | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(count);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(global ?? visible));
    socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      socket.write(`NICK ${nick}\r\nUSER ${nick} 0 * :imload observer\r\n`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) =>
      lines.push(chunk, (line) => {
        const message = parseLine(line);
        if (!message) return;
        const text = message.params[message.params.length - 1] ?? '';
        if (message.command === 'PING') socket.write(`PONG :${text}\r\n`);
        // The PONG marks the end of the LUSERS replies, whichever numerics this server sends.
        else if (message.command === '001') socket.write('LUSERS\r\nPING :imload-lusers\r\n');
        else if (message.command === 'PONG') {
          socket.write('QUIT\r\n');
          finish(global ?? visible);
        }
        else if (message.command === '251') {
          // "There are N users and M invisible on S servers" (M invisible users count too);
          // ngIRCd says "M services", which are not users.
          const match = /(\d+)\D+(\d+)\s+invisible/i.exec(text) ?? /(\d+)/.exec(text);
          if (match) visible = Number(match[1]) + (match[2] ? Number(match[2]) : 0) - 1;
        } else if (message.command === '266') {
          const numbers = message.params.slice(1).filter((p) => /^\d+$/.test(p));
          const match = numbers.length > 0 ? numbers[0] : /Current global users:?\s*(\d+)/i.exec(text)?.[1];
          if (match !== undefined) global = Number(match) - 1;
        }
      }),
    );
  });
}

export const ircProtocol: ProtocolModule = {
  protocol: 'irc',
  async createAgent(target: AgentTarget) {
    // The agent reads the options the descriptor's schema parsed (defaults included).
    return new IrcAgent({ ...target, options: parseTargetOptions(IrcOptions, target) });
  },
};
