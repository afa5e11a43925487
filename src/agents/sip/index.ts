/** SIP/SIMPLE protocol module: RFC 3261 UA with presence (RFC 3856/3903) and pager-mode IM (RFC 3428). */
import type { ProtocolModule } from '../types.js';
import { SipAgent } from './agent.js';

export const sipProtocol: ProtocolModule = {
  protocol: 'sip',
  defaultPort: 5060,
  createAgent: (target) => SipAgent.create(target),
};
