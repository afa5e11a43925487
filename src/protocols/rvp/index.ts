/**
 * RVP (Exchange 2000 Instant Messaging) protocol module. One agent per worker per target owns
 * the shared keep-alive connection pool and the shared callback listener (a path per user).
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { ProtocolAgent, ProtocolModule, VirtualUser, VuEvents, VuIdentity } from '../types.js';
import { CallbackListener } from './callback-listener.js';
import { readSettings, type RvpAgentSettings } from './settings.js';
import { RvpTransport } from './transport.js';
import { RvpVirtualUser } from './user.js';

/** The reference server's monitoring endpoint; other RVP servers answer 404/501 and we say "unknown". */
const STATS_PATH = '/imload/stats';

class RvpAgent implements ProtocolAgent {
  readonly capabilities = { channels: false, presence: true, instantMessages: true };

  constructor(
    private readonly settings: RvpAgentSettings,
    private readonly transport: RvpTransport,
    private readonly listener: CallbackListener,
  ) {}

  createUser(identity: VuIdentity, events: VuEvents): VirtualUser {
    return new RvpVirtualUser(identity, events, this.settings, this.transport, this.listener);
  }

  async serverOnlineCount(): Promise<number | undefined> {
    try {
      const response = await this.transport.get(STATS_PATH);
      if (response.status !== 200) return undefined;
      const online = (JSON.parse(response.body.toString('utf8')) as { online?: unknown }).online;
      return typeof online === 'number' ? online : undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.transport.close();
    await this.listener.close();
  }
}

/**
 * Where the server can call this agent back when no `callbackHost` is given: loopback for a
 * server on loopback (or named by host name), else the source address the kernel picks for the
 * route to the server, found by connecting a UDP socket (which sends nothing).
 */
async function callbackHostFor(host: string, port: number): Promise<string> {
  if (isIP(host) !== 4 || host.startsWith('127.')) return '127.0.0.1';
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => resolve());
    });
    return socket.address().address;
  } catch {
    return '127.0.0.1';
  } finally {
    socket.close();
  }
}

export const rvpProtocol: ProtocolModule = {
  protocol: 'rvp',
  async createAgent(target): Promise<ProtocolAgent> {
    const settings = readSettings(target);
    const listener = new CallbackListener();
    await listener.start(settings.callbackHost ?? (await callbackHostFor(target.host, target.port)), settings.callbackPort);
    const transport = new RvpTransport(settings, target.host, target.port);
    return new RvpAgent(settings, transport, listener);
  },
};
