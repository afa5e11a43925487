/** The IRC protocol module: RFC 1459/2812 clients, IRCv3 when offered, IRCX when offered. */
import type { AgentTarget, ProtocolAgent, ProtocolModule, VuEvents, VuIdentity } from '../types.js';
import { queryLusers } from './lusers.js';
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
   * Channel rosters, one set per group of up to 15 servers (SERVERS_PER_ROSTER) of a network; within a group each
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

/** The server's user count minus the asking client: global (266) on a network, else 251's; undefined if it did not answer. */
export function countUsers(target: AgentTarget, timeoutMs = 8000): Promise<number | undefined> {
  return queryLusers(target, timeoutMs).then(
    (reply) => {
      const users = reply.globalUsers ?? reply.users;
      return users === undefined ? undefined : users - 1;
    },
    () => undefined,
  );
}

export const ircProtocol: ProtocolModule = {
  protocol: 'irc',
  async createAgent(target: AgentTarget) {
    // The agent reads the options the descriptor's schema parsed (defaults included).
    return new IrcAgent({ ...target, options: parseTargetOptions(IrcOptions, target) });
  },
};
