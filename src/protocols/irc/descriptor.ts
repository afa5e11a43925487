/**
 * IRC, described: everything outside this folder learns about IRC from here (descriptor.ts).
 * Data and lazy loaders only; the agent and the lab starters are imported on demand.
 */
import type { ProtocolDescriptor } from '../descriptor.js';
import { IrcOptions } from './options.js';

const EX2000 = 'Microsoft Exchange 2000 Server Resource Kit, ch. 19, Chat and Instant Messaging Services';

export const ircDescriptor: ProtocolDescriptor = {
  name: 'irc',
  title: 'IRC',
  schemes: [
    { scheme: 'irc', tls: false, defaultPort: 6667 },
    { scheme: 'ircs', tls: true, defaultPort: 6697 },
  ],
  transports: ['tcp'],
  options: IrcOptions,
  capabilities: { channels: true, presence: false, instantMessages: true, eachInstance: true },
  latencies: ['logon', 'join', 'delivery', 'deliverySameServer', 'deliveryCrossServer'],
  metrics: [{ name: 'register', kind: 'latency', unit: 'ms', description: 'NICK/USER sent to 001 (the server admitted the user)' }],
  // InspIRCd 3 (lab): tags (server-time, msgid) on every relayed line, a PING barrier per send.
  byteModel: {
    protocol: 'irc',
    fittedAgainst: 'InspIRCd 3 lab',
    channels: true,
    presence: false,
    logon: 2_200,
    logonPerContact: 0,
    join: 590,
    joinPerMember: 68,
    logoff: 905,
    logoffPerContact: 0,
    logoffPerMember: 49,
    message: 188,
    messageDelivery: 180,
    channelMessage: 165,
    channelDelivery: 180,
    presenceChange: 0,
    presenceNotify: 0,
    bodyCopiesPerSend: 1,
    bodyCopiesPerDelivery: 1,
    // The lab sets pingfreq 3600; a server PING and its PONG.
    timers: [{ what: 'server PING/PONG', bytes: 60, bytesPerContact: 0, everySeconds: 3_600 }],
  },
  planRole: 'chatServer',
  limitProfiles: {
    'exchange2000-chat': {
      title: 'Exchange 2000 Chat Service (IRC/IRCX), one chat server',
      version: '1',
      figures: [
        {
          id: 'users-per-chat-server',
          metric: 'users.peakOnline',
          kind: 'atLeast',
          value: 20_000,
          unit: 'concurrent users',
          source: EX2000,
          wording: 'These changes permit up to 20,000 concurrent users per server.',
        },
      ],
    },
  },
  lab: [
    {
      kind: 'inspircd',
      title: 'InspIRCd 3',
      packages: ['inspircd'],
      executables: ['inspircd'],
      transports: ['tcp', 'tls'],
      start: async (context) => (await import('./lab.js')).startInspircdLab(context),
    },
    {
      kind: 'inspircd-network',
      title: 'InspIRCd 3, linked servers',
      packages: ['inspircd'],
      executables: ['inspircd'],
      transports: ['tcp'],
      network: 'linked',
      start: async (context) => (await import('./lab.js')).startInspircdNetworkLab(context),
    },
    {
      kind: 'inspircd-unlinked',
      title: 'InspIRCd 3, servers not linked (each-instance channels)',
      packages: ['inspircd'],
      executables: ['inspircd'],
      transports: ['tcp'],
      network: 'unlinked',
      start: async (context) => (await import('./lab-unlinked.js')).startInspircdUnlinkedLab(context),
    },
    {
      kind: 'ngircd',
      title: 'ngIRCd',
      packages: ['ngircd'],
      executables: ['ngircd'],
      transports: ['tcp'],
      start: async (context) => (await import('./lab.js')).startNgircdLab(context),
    },
  ],
  load: async () => (await import('./index.js')).ircProtocol,
};
