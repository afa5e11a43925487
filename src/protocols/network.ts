/**
 * A target that is a network of servers (several URLs): which server each user connects to.
 * Protocol-neutral; the agent connects user i to `endpoints[serverIndexOf(i, ...)]`, and the
 * engine compares a sender's server with the receiver's to split delivery latency into
 * same-server and cross-server.
 */

/** `range`: users 0..U−1 cut into N consecutive blocks; `hash`: a fixed hash of the index, mod N. */
export type NetworkSpread = 'range' | 'hash';

export interface NetworkEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * How channels reach every member: `linked`, the servers relay a channel between them (one join
 * on the user's own server); `each-instance`, the servers are not linked, so each user connects
 * to every server, joins each channel on each, and posts every channel message to each instance
 * (engine/each-instance.ts).
 */
export type NetworkChannels = 'linked' | 'each-instance';

export interface AgentNetwork {
  /** Every server's client endpoint, in the target's order (the first is the target's own). */
  readonly endpoints: readonly NetworkEndpoint[];
  readonly spread: NetworkSpread;
  /** Default `linked`. */
  readonly channels?: NetworkChannels;
  /** Users in the whole population (the range spread needs it). */
  readonly users: number;
}

/** The server (index into the network's endpoints) user `index` connects to. */
export function serverIndexOf(index: number, network: Pick<AgentNetwork, 'spread' | 'users'> & { readonly servers: number }): number {
  const servers = network.servers;
  if (servers <= 1) return 0;
  if (network.spread === 'hash') return mix(index) % servers;
  const users = Math.max(1, network.users);
  return Math.min(servers - 1, Math.floor((Math.max(0, index) * servers) / users));
}

/** A user → server function for a target's network, or undefined for a single server. */
export function networkServerOf(network: AgentNetwork | undefined): ((index: number) => number) | undefined {
  if (!network || network.endpoints.length < 2) return undefined;
  const shape = { spread: network.spread, users: network.users, servers: network.endpoints.length };
  return (index) => serverIndexOf(index, shape);
}

/** A 32-bit integer mix (lowbias32): spreads consecutive indexes evenly. */
function mix(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The servers each user posts to in the each-instance channel mode, or undefined (linked, or one server). */
export function eachInstanceServers(network: AgentNetwork | undefined): number | undefined {
  return network?.channels === 'each-instance' && network.endpoints.length >= 2 ? network.endpoints.length : undefined;
}
