/**
 * XMPP, described: everything outside this folder learns about XMPP from here. Data and lazy
 * loaders only; the agent and the lab starters are imported on demand.
 */
import type { ProtocolDescriptor } from '../descriptor.js';
import { xmppOptions } from './options.js';

export const xmppDescriptor: ProtocolDescriptor = {
  name: 'xmpp',
  title: 'XMPP',
  schemes: [
    // RFC 6120 § 3.2: c2s on 5222, STARTTLS when the server offers it (option `starttls`).
    { scheme: 'xmpp', tls: false, defaultPort: 5222 },
    // XEP-0368: TLS from the first byte, conventionally on 5223.
    { scheme: 'xmpps', tls: true, defaultPort: 5223 },
  ],
  transports: ['tcp'],
  options: xmppOptions,
  capabilities: { channels: true, presence: true, instantMessages: true },
  latencies: ['logon', 'join', 'delivery', 'presence'],
  metrics: [{ name: 'register', kind: 'latency', unit: 'ms', description: 'connect to SASL success (STARTTLS and the SCRAM exchange included)' }],
  // Prosody 0.12 (lab, STARTTLS, SCRAM-SHA-1, 7-character names, 60-character bodies and notes):
  // read off the byte counters of single actions against the lab (docs/xmpp.md § Byte model);
  // application bytes (after TLS), both directions, every user involved.
  byteModel: {
    protocol: 'xmpp',
    fittedAgainst: 'Prosody 0.12 lab (STARTTLS, SCRAM-SHA-1)',
    channels: true,
    presence: true,
    logon: 3_300,
    logonPerContact: 290,
    join: 860,
    joinPerMember: 470,
    logoff: 130,
    logoffPerContact: 100,
    logoffPerMember: 300,
    // The chat message and the ping behind it; the delivery as the recipient reads it.
    message: 260,
    messageDelivery: 190,
    // The groupchat message, the room's echo of it to the sender, and the ping behind it.
    channelMessage: 590,
    channelDelivery: 270,
    // The broadcast presence and the server's copy back to the sender; each watcher's copy.
    presenceChange: 270,
    presenceNotify: 180,
    bodyCopiesPerSend: 1,
    bodyCopiesPerDelivery: 1,
    // The agent sends no keep-alive of its own and Prosody none by default.
    timers: [],
  },
  // No planRole: no documented XMPP product figures for `imload plan` to size a role with.
  // No vendor publishes capacity figures for Prosody or ejabberd to judge a run against.
  limitProfiles: {},
  lab: [
    {
      kind: 'prosody',
      title: 'Prosody 0.12 (c2s with STARTTLS, MUC component)',
      packages: ['prosody'],
      executables: ['prosody'],
      transports: ['tcp'],
      start: async (context) => (await import('./lab-prosody.js')).startProsodyLab(context),
    },
    {
      kind: 'ejabberd',
      title: 'ejabberd (c2s with STARTTLS, mod_muc)',
      packages: ['ejabberd'],
      executables: ['ejabberdctl', 'erl'],
      transports: ['tcp'],
      start: async (context) => (await import('./lab-ejabberd.js')).startEjabberdLab(context),
    },
  ],
  load: async () => (await import('./index.js')).xmppProtocol,
};
