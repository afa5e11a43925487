/**
 * SIP/SIMPLE, described: everything outside this folder learns about SIP from here
 * (descriptor.ts). Data and lazy loaders only; the agent and the lab starter are imported on demand.
 */
import type { ProtocolDescriptor } from '../descriptor.js';
import { SipOptions } from './options.js';
import { poolFailoverMetrics } from './pool-failover.js';
import { DEFAULT_FRONT_ENDS, poolServerNames } from './pool-config.js';

const LCS2005 =
  'Microsoft IT Showcase: How Microsoft IT deployed and operates a reliable, enterprise-grade, real-time presence and instant messaging infrastructure (LCS 2005)';

export const sipDescriptor: ProtocolDescriptor = {
  name: 'sip',
  title: 'SIP/SIMPLE',
  schemes: [
    { scheme: 'sip', tls: false, defaultPort: 5060 },
    { scheme: 'sips', tls: true, defaultPort: 5061 },
  ],
  // UDP unless the target says `transport: tcp`; TLS comes from sips://.
  transports: ['udp', 'tcp'],
  options: SipOptions,
  capabilities: { channels: false, presence: true, instantMessages: true },
  latencies: ['logon', 'delivery', 'presence'],
  metrics: [
    { name: 'register', kind: 'latency', unit: 'ms', description: 'REGISTER to its 2xx, Digest rounds included' },
    { name: 'retransmissions', kind: 'counter', unit: 'count', description: 'requests sent again because no answer came in time (UDP); counted apart, never hidden in other figures' },
    { name: 'icmpUnreachable', kind: 'counter', unit: 'count', description: "ICMP errors (port, host or network unreachable) for datagrams sent on the shared UDP sockets, e.g. while a server is down: counted for the run, not as errors, since each bounced transaction ends in its own outcome, booked to its user" },
    ...poolFailoverMetrics,
    { name: 'deliverySameFrontEnd', kind: 'latency', unit: 'ms', description: 'delivery of a MESSAGE relayed by the front end the recipient registered through (kamailio-pool lab)', ifSampled: true },
    { name: 'deliveryCrossFrontEnd', kind: 'latency', unit: 'ms', description: 'delivery of a MESSAGE across front ends: relayed by a front end other than the recipient\'s (kamailio-pool lab)', ifSampled: true },
  ],
  // Kamailio 5.6 (lab, UDP): REGISTER, PUBLISH, SUBSCRIBE/NOTIFY per contact, pager-mode MESSAGE.
  byteModel: {
    protocol: 'sip',
    fittedAgainst: 'Kamailio 5.6 lab (UDP)',
    domain: 'lab.test',
    channels: false,
    presence: true,
    logon: 2_500,
    logonPerContact: 2_344,
    join: 0,
    joinPerMember: 0,
    logoff: 2_500,
    logoffPerContact: 2_413,
    logoffPerMember: 0,
    message: 750,
    messageDelivery: 749,
    channelMessage: 0,
    channelDelivery: 0,
    presenceChange: 1_044,
    presenceNotify: 1_283,
    bodyCopiesPerSend: 1,
    bodyCopiesPerDelivery: 1,
    // Bindings of 3,600 s refreshed 30 s early: REGISTER, PUBLISH, and a SUBSCRIBE per contact.
    timers: [{ what: 'REGISTER, PUBLISH and SUBSCRIBE refreshes', bytes: 2_500, bytesPerContact: 2_344, everySeconds: 3_570 }],
  },
  planRole: 'frontEndPool',
  limitProfiles: {
    lcs2005: {
      title: 'Live Communications Server 2005 (SIP/SIMPLE), Enterprise Edition pool',
      version: '1',
      figures: [
        {
          id: 'bandwidth-per-user',
          metric: 'bandwidth.kbpsPerUser',
          kind: 'atMost',
          value: 1.6,
          unit: 'kbit/s per user',
          source: LCS2005,
          wording: 'consumes, on average, 1.6 kilobits per second (Kbps) of network bandwidth per user over an eight-hour period',
        },
        {
          id: 'users-per-pool',
          metric: 'users.peakOnline',
          kind: 'atLeast',
          value: 100_000,
          unit: 'simultaneously active users',
          source: LCS2005,
          wording: 'capable of supporting over 100,000 simultaneously active users',
        },
      ],
    },
  },
  lab: [
    {
      kind: 'kamailio',
      title: 'Kamailio 5.6 with its presence modules',
      // sip-tester: SIPp, the peer load tool imload is compared with on the same Kamailio.
      packages: ['kamailio', 'kamailio-presence-modules', 'kamailio-tls-modules', 'sip-tester'],
      executables: ['kamailio'],
      transports: ['udp', 'tcp', 'tls'],
      start: async (context) => (await import('./lab.js')).startKamailioLab(context),
    },
    {
      kind: 'kamailio-pool',
      title: 'Kamailio 5.6 pool: a director, a dispatcher, two front ends sharing registrations (dmq_usrloc) and a presence server behind them (UDP or TCP to the director)',
      packages: ['kamailio', 'kamailio-presence-modules'],
      executables: ['kamailio'],
      transports: ['udp', 'tcp'],
      faultServers: poolServerNames(DEFAULT_FRONT_ENDS),
      start: async (context) => (await import('./pool-lab.js')).startKamailioPoolLab(context),
    },
  ],
  load: async () => (await import('./index.js')).sipProtocol,
};
