/**
 * The SIP protocol agent of one worker for one target: owns the shared UDP sockets, hands each
 * virtual user its channel, and asks Kamailio for its own online count over the ctl socket.
 */
import { readFileSync } from 'node:fs';
import { AgentError, classifySocketError, socketErrorDetail, type ErrorKind } from '../errors.js';
import {
  type AgentCapabilities,
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
import { UdpHub } from './udp.js';
import type { UserAgent } from './ua.js';
import { SipVirtualUser, type UserContext } from './user.js';

const CAPABILITIES: AgentCapabilities = { channels: false, presence: true, instantMessages: true };

/**
 * Datagrams that reached no user. They have no VU to be charged to, so the agent keeps the
 * counts and reports through the first user's events: malformed ones as errors, late ones
 * (after that user's logoff) as a run note, since they are the expected race of un-SUBSCRIBE.
 */
class UnroutedReporter {
  reporter: VuEvents | undefined;
  malformed = 0;
  lateCount = 0;
  unrouted(reason: string, wireBytes: number, kind: ErrorKind = 'protocol-error'): void {
    this.malformed++;
    if (this.reporter === undefined) return;
    this.reporter.bytes(wireBytes, 0);
    this.reporter.error(kind, reason);
  }
  late(description: string, wireBytes: number, answerBytes: number): void {
    this.lateCount++;
    if (this.reporter === undefined) return;
    this.reporter.bytes(wireBytes, answerBytes);
    if (this.lateCount > 1) return;
    this.reporter.note(
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

  static async create(target: AgentTarget): Promise<SipAgent> {
    const settings = readSettings(target);
    const unrouted = new UnroutedReporter();
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
    }
    return new SipAgent(target, settings, hub, unrouted, ca);
  }

  createUser(identity: VuIdentity, events: VuEvents): VirtualUser {
    this.unrouted.reporter ??= events;
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

  /** Datagrams that matched no user since the agent started: malformed, and late. */
  get unroutedDatagrams(): { readonly malformed: number; readonly late: number } {
    return { malformed: this.unrouted.malformed, late: this.unrouted.lateCount };
  }

  async close(): Promise<void> {
    this.hub?.close();
  }
}
