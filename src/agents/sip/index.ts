/** SIP/SIMPLE protocol module: RFC 3261 UA with presence (RFC 3856/3903) and pager-mode IM (RFC 3428). */
import type { AgentTarget, ProtocolModule } from '../types.js';
import { SipAgent } from './agent.js';

/**
 * Users one worker process holds. UDP multiplexes every user of a worker over a few shared
 * sockets (`udpSockets`), so files are no limit: the bound is CPU and heap (each user keeps
 * 20 subscription dialogs and their timers), and 60,000 puts a 100k pool on two workers, one
 * per core of the lab box. TCP and TLS need one socket per user, so they keep the
 * engine's default, well under the 20,000 files a process may open.
 */
const UDP_USERS_PER_WORKER = 60_000;
const STREAM_USERS_PER_WORKER = 10_000;

export const sipProtocol: ProtocolModule = {
  protocol: 'sip',
  defaultPort: 5060,
  usersPerWorker: (target: AgentTarget) => (target.transport === 'udp' ? UDP_USERS_PER_WORKER : STREAM_USERS_PER_WORKER),
  createAgent: (target) => SipAgent.create(target),
};
