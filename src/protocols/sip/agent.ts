/**
 * The SIP protocol agent of one worker for one target: owns the shared UDP sockets, hands each
 * virtual user its channel, and asks Kamailio for its own online count over the ctl socket.
 */
import { readFileSync } from 'node:fs';
import { AgentError, classifySocketError, socketErrorDetail } from '../errors.js';
import {
  type AgentCapabilities,
  type AgentEvents,
  type AgentTarget,
  type ProtocolAgent,
  type VirtualUser,
  type VuEvents,
  type VuIdentity,
} from '../types.js';
import type { SipChannel } from './channel.js';
import { registeredUsers } from './kamcmd.js';
import { readSettings, type SipAgentSettings } from './settings.js';
import { openStream } from './stream.js';
import { ServerTransactionCache } from './transactions.js';
import { UdpHub, type UnroutedCounter } from './udp.js';
import { connectedUdpBackend } from '../connected-udp.js';
import type { UserAgent } from './ua.js';
import { SipVirtualUser, type UserContext } from './user.js';

const CAPABILITIES: AgentCapabilities = { channels: false, presence: true, instantMessages: true };

/**
 * ICMP errors for a datagram sent (Linux reports them on a connected UDP socket's next call):
 * the port, host or network did not take it — the server is down or unreachable.
 */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);

/** Agent events that go nowhere: an agent created to run no users (a cross-check, a test). */
const DROPPED: AgentEvents = { bytes() {}, metric() {}, error() {}, note() {} };

/**
 * What the shared sockets see that reaches no user. None of it is any user's: it goes to the
 * agent's own events (AgentEvents), so no user's record — and no fault's list of users — carries
 * it. Malformed datagrams are errors (the server sent them); an ICMP error is the descriptor's
 * `icmpUnreachable` counter, not an error, since the transaction whose datagram bounced ends in
 * its own outcome (a timeout, after retransmissions), booked to its user: counting the bounce
 * too would give one attempt several outcomes. Late datagrams (after their user's logoff, the
 * expected race of un-SUBSCRIBE) are a run note.
 */
class UnroutedReporter implements UnroutedCounter {
  malformedCount = 0;
  lateCount = 0;
  unreachableCount = 0;
  constructor(private readonly events: AgentEvents) {}

  malformed(reason: string, wireBytes: number): void {
    this.malformedCount++;
    this.events.bytes(wireBytes, 0);
    this.events.error('protocol-error', reason);
  }

  socketError(error: NodeJS.ErrnoException): void {
    if (!UNREACHABLE_CODES.has(error.code ?? '')) {
      this.events.error(classifySocketError(error, { connecting: false }), `UDP socket: ${socketErrorDetail(error)}`);
      return;
    }
    this.unreachableCount++;
    this.events.metric('icmpUnreachable', 1);
    if (this.unreachableCount === 1) {
      this.events.note('sip-unreachable', `ICMP errors came back for datagrams sent (first: ${socketErrorDetail(error)}); their transactions were retransmitted and booked to their users`);
    }
  }

  late(description: string, wireBytes: number, answerBytes: number): void {
    this.lateCount++;
    this.events.bytes(wireBytes, answerBytes);
    if (this.lateCount > 1) return;
    this.events.note(
      'sip-late-datagrams',
      `UDP traffic arrived for users already logged off (first: ${description}); requests were answered 481`,
    );
  }
}

export class SipAgent implements ProtocolAgent {
  readonly capabilities = CAPABILITIES;
  private readonly context: UserContext;

  private constructor(
    target: AgentTarget,
    private readonly settings: SipAgentSettings,
    private readonly hub: UdpHub | undefined,
    private readonly unrouted: UnroutedReporter,
    ca: Buffer | undefined,
  ) {
    const endpoint = `${target.host}:${target.port}`;
    this.context = {
      settings,
      endpoint,
      serverCache: hub === undefined ? undefined : new ServerTransactionCache(64 * settings.timers.t1Ms),
      openChannel: (identity: VuIdentity, ua: UserAgent): Promise<SipChannel> => {
        if (hub !== undefined) return Promise.resolve(hub.attach(identity.index, identity.name, ua));
        return openStream(target, { sourceAddress: identity.sourceAddress, connectTimeoutMs: settings.connectTimeoutMs, ca }, ua);
      },
    };
  }

  static async create(target: AgentTarget, events: AgentEvents = DROPPED): Promise<SipAgent> {
    const settings = readSettings(target);
    const unrouted = new UnroutedReporter(events);
    const endpoint = `${target.host}:${target.port}`;
    let ca: Buffer | undefined;
    if (target.transport === 'tls' && target.tls?.ca !== undefined) {
      try {
        ca = readFileSync(target.tls.ca);
      } catch (error) {
        throw new AgentError('config-error', `cannot read TLS CA ${target.tls.ca}: ${(error as Error).message}`, endpoint);
      }
    }
    let hub: UdpHub | undefined;
    if (target.transport === 'udp') {
      try {
        hub = await UdpHub.open(target.host, target.port, settings.udpSockets, unrouted);
      } catch (error) {
        const failure = error as NodeJS.ErrnoException;
        throw new AgentError(classifySocketError(failure, { connecting: true }), `UDP sockets: ${socketErrorDetail(failure)}`, endpoint, failure.code);
      }
      const udp = connectedUdpBackend();
      if (udp.backend === 'node:dgram') {
        // The figures are the same either way; the generator's CPU per transaction is not.
        events.note('sip-udp-node-dgram', `SIP over UDP used node:dgram, not imload's UDP addon (${udp.reason}): about a sixth more generator CPU per transaction`);
      }
    }
    return new SipAgent(target, settings, hub, unrouted, ca);
  }

  createUser(identity: VuIdentity, events: VuEvents): VirtualUser {
    return new SipVirtualUser(identity, events, this.context);
  }

  /** Kamailio's usrloc count, when the target names its ctl socket; undefined otherwise. */
  async serverOnlineCount(): Promise<number | undefined> {
    const pool = this.settings.poolCtl;
    if (pool !== undefined && pool.length > 0) {
      // A pool: every front end holds the whole location table (dmq_usrloc); the first that
      // answers gives the count (a killed front end does not answer).
      let failure: unknown;
      for (const ctl of pool) {
        try {
          return await registeredUsers(this.settings.kamcmd, ctl);
        } catch (error) {
          failure = error;
        }
      }
      throw failure;
    }
    if (this.settings.ctl === undefined) return undefined;
    return registeredUsers(this.settings.kamcmd, this.settings.ctl);
  }

  /** What the shared sockets saw that matched no user since the agent started. */
  get unroutedDatagrams(): { readonly malformed: number; readonly late: number; readonly unreachable: number } {
    return { malformed: this.unrouted.malformedCount, late: this.unrouted.lateCount, unreachable: this.unrouted.unreachableCount };
  }

  async close(): Promise<void> {
    this.hub?.close();
  }
}
