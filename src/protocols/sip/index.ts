/** SIP/SIMPLE protocol module: RFC 3261 UA with presence (RFC 3856/3903) and pager-mode IM (RFC 3428). */
import type { AgentTarget, ProtocolModule } from '../types.js';
import { SipAgent } from './agent.js';
import { probeSipUdp } from './probe.js';

/**
 * Users one worker process holds. UDP multiplexes every user of a worker over a few shared
 * sockets (`udpSockets`), so files are no limit: the bound is garbage collection. A worker's
 * full collections grow with its heap, and each pause lets answers pile up unread and timers
 * fall due together: at 33,667 users a worker (750 MB heap) paused 0.3-0.7 s nine times in the
 * pool's ramp-down, and 20,071 requests were retransmitted; at 16,834 (400 MB) three times, at
 * most 0.4 s, and 2,362, for the same CPU (bench/RESULTS.md, "SIP pool: workers"). TCP and TLS
 * need one socket per user, so they keep the engine's default, well under the 20,000 files a
 * process may open.
 */
const UDP_USERS_PER_WORKER = 17_000;
const STREAM_USERS_PER_WORKER = 10_000;

export const sipProtocol: ProtocolModule = {
  protocol: 'sip',
  usersPerWorker: (target: AgentTarget) => (target.transport === 'udp' ? UDP_USERS_PER_WORKER : STREAM_USERS_PER_WORKER),
  probeDatagram: (target, timeoutMs) => probeSipUdp(target, timeoutMs),
  createAgent: (target, events) => SipAgent.create(target, events),
};
