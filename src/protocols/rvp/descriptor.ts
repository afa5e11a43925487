/**
 * RVP (Exchange 2000 Instant Messaging), described: everything outside this folder learns about
 * RVP from here (descriptor.ts). Data and lazy loaders only; the agent, the reference server and
 * the lab starter are imported on demand.
 */
import type { ProtocolDescriptor } from '../descriptor.js';
import { RvpOptions } from './options.js';

const EX2000 = 'Microsoft Exchange 2000 Server Resource Kit, ch. 19, Chat and Instant Messaging Services';

export const rvpDescriptor: ProtocolDescriptor = {
  name: 'rvp',
  title: 'RVP',
  schemes: [
    { scheme: 'rvp', tls: false, defaultPort: 80 },
    { scheme: 'rvps', tls: true, defaultPort: 443 },
  ],
  transports: ['tcp'],
  options: RvpOptions,
  capabilities: { channels: false, presence: true, instantMessages: true },
  latencies: ['logon', 'delivery', 'presence'],
  metrics: [{ name: 'register', kind: 'latency', unit: 'ms', description: 'login SUBSCRIBE to its 200, router referral and Digest included' }],
  // Our reference RVP server (lab, combined role): HTTP/1.1 requests and responses.
  byteModel: {
    protocol: 'rvp',
    domain: 'im.example.com',
    fittedAgainst: 'imload reference RVP server (combined)',
    channels: false,
    presence: true,
    logon: 3_000,
    logonPerContact: 1_519,
    join: 0,
    joinPerMember: 0,
    logoff: 1_500,
    logoffPerContact: 776,
    logoffPerMember: 0,
    message: 1_200,
    messageDelivery: 978,
    channelMessage: 0,
    channelDelivery: 0,
    presenceChange: 1_409,
    presenceNotify: 962,
    // To a peer home the NOTIFY names the watcher's physical node, /instmsg/local/<domain>/instmsg/
    // aliases/u000123, 46 bytes longer than a callback's /vu/123, and the peer's host:port (one
    // more than 127.0.0.1:port): 962 + 47, from the reference server's serialisation.
    presenceRelay: 1_009,
    bodyCopiesPerSend: 1,
    bodyCopiesPerDelivery: 1,
    timers: [
      // PROPPATCH of the presence lease every leaseRefreshSeconds (900 s by default).
      { what: 'presence lease refresh', bytes: 1_000, bytesPerContact: 0, everySeconds: 900 },
      // Login and contact subscriptions renewed 300 s before their 14,400 s lifetime ends.
      { what: 'subscription renewals', bytes: 1_519, bytesPerContact: 1_519, everySeconds: 14_100 },
    ],
  },
  planRole: 'homeServer',
  limitProfiles: {
    'exchange2000-im': {
      title: 'Exchange 2000 Instant Messaging (RVP), one home server',
      version: '1',
      figures: [
        {
          id: 'users-per-home-server',
          metric: 'users.peakOnline',
          kind: 'atLeast',
          value: 10_000,
          unit: 'online users',
          source: EX2000,
          wording: 'Each Instant Messaging home server can support approximately 10,000 online users.',
        },
      ],
    },
    'exchange2000-im-router': {
      title: 'Exchange 2000 Instant Messaging (RVP), one router',
      version: '1',
      figures: [
        {
          id: 'users-per-router',
          metric: 'users.peakOnline',
          kind: 'atLeast',
          value: 50_000,
          unit: 'online users',
          source: EX2000,
          wording: 'Each Instant Messaging router can support approximately 50,000 online users.',
        },
      ],
    },
    'exchange2000-im-router-sp2': {
      title: 'Exchange 2000 SP2 admin help: one IM router',
      version: '1',
      figures: [
        {
          id: 'users-per-router-sp2',
          metric: 'users.peakOnline',
          kind: 'atLeast',
          value: 20_000,
          unit: 'online users',
          source: 'Exchange 2000 SP2 administrator help',
          wording: 'one Instant Messaging router per 20,000 concurrent users',
        },
      ],
    },
  },
  lab: [
    {
      kind: 'rvp',
      title: 'imload reference RVP server (one combined server)',
      packages: [],
      executables: [],
      transports: ['tcp', 'tls'],
      start: async (context) => (await import('./lab.js')).startRvpLabFor('combined', context),
    },
    {
      kind: 'rvp-cluster',
      title: 'imload reference RVP servers (a router and home servers)',
      packages: [],
      executables: [],
      transports: ['tcp', 'tls'],
      start: async (context) => (await import('./lab.js')).startRvpLabFor('routed', context),
    },
  ],
  commands: [
    {
      name: 'rvp-server',
      description: 'run the reference RVP server (home, router or combined); --help for its options',
      usage: async () => (await import('./server/main.js')).USAGE,
      run: async (args) => (await import('./server/main.js')).main(args),
    },
  ],
  load: async () => (await import('./index.js')).rvpProtocol,
};
