/** SIP/SIMPLE protocol module: RFC 3261 UA with presence (RFC 3856/3903) and pager-mode IM (RFC 3428). */
import type { AgentTarget, ProtocolModule } from '../types.js';
import { SipAgent } from './agent.js';

/**
 * Users one worker process holds. UDP multiplexes every user of a worker over a few shared
 * sockets (`udpSockets`), so files are no limit: the bound is heap. A logged-on user with 20
 * subscription dialogs measured 70-80 KB of heap (garbage included) at 4,000-5,000 users, so
 * 35,000 stays well inside the ~4 GB heap limit and a 101k pool runs on three workers. TCP and
 * TLS need one socket per user, so they keep the engine's default, well under the 20,000
 * files a process may open.
 */
const UDP_USERS_PER_WORKER = 35_000;
const STREAM_USERS_PER_WORKER = 10_000;

export const sipProtocol: ProtocolModule = {
  protocol: 'sip',
  defaultPort: 5060,
  usersPerWorker: (target: AgentTarget) => (target.transport === 'udp' ? UDP_USERS_PER_WORKER : STREAM_USERS_PER_WORKER),
  createAgent: (target) => SipAgent.create(target),
};
