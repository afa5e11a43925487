/**
 * XMPP, described: everything outside this folder learns about XMPP from here. Data and lazy
 * loaders only; the agent and the lab starters are imported on demand.
 */
import type { ProtocolDescriptor } from '../descriptor.js';
import type { ErrorKind } from '../errors.js';
import { xmppOptions } from './options.js';
import { streamErrorKind } from './conditions.js';

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
  latencies: ['logon', 'register', 'join', 'delivery', 'presence'],
  // Prosody 0.12 (lab, STARTTLS, SCRAM-SHA-1): fitted from the byte counters of single actions
  // against the lab (docs/xmpp.md § Byte model); application bytes after TLS.
  byteModel: {
    protocol: 'xmpp',
    fittedAgainst: 'Prosody 0.12 lab (STARTTLS, SCRAM-SHA-1)',
    channels: true,
    presence: true,
    logon: 3_900,
    logonPerContact: 390,
    join: 560,
    joinPerMember: 420,
    logoff: 180,
    logoffPerContact: 150,
    logoffPerMember: 190,
    message: 290,
    messageDelivery: 190,
    channelMessage: 330,
    channelDelivery: 210,
    presenceChange: 90,
    presenceNotify: 200,
    bodyCopiesPerSend: 1,
    bodyCopiesPerDelivery: 1,
    // The agent sends no keep-alive of its own and Prosody none by default.
    timers: [],
  },
  // An XMPP server holds its users' sessions, rosters and presence, as an RVP home server does.
  planRole: 'homeServer',
  // No vendor publishes capacity figures for Prosody or ejabberd to judge a run against.
  limitProfiles: {},
  lab: [
    {
      kind: 'prosody',
      title: 'Prosody 0.12 (c2s with STARTTLS, MUC component)',
      packages: ['prosody'],
      transports: ['tcp'],
      start: async (context) => (await import('./lab-prosody.js')).startProsodyLab(context),
    },
    {
      kind: 'ejabberd',
      title: 'ejabberd (c2s with STARTTLS, mod_muc)',
      packages: ['ejabberd'],
      transports: ['tcp'],
      // The module is the ejabberd helper's (lab-ejabberd.ts); named in a variable so this
      // folder typechecks before it lands.
      start: async (context) => {
        const path = './lab-ejabberd.js';
        const module = (await import(path)) as { startEjabberdLab(c: typeof context): ReturnType<ProtocolDescriptor['lab'][number]['start']> };
        return module.startEjabberdLab(context);
      },
    },
  ],
  /** A stream error condition (RFC 6120 § 4.9.3), e.g. `policy-violation`, in the shared taxonomy. */
  classifyError(error: unknown): ErrorKind | undefined {
    return typeof error === 'string' && /^[a-z-]+$/.test(error) ? streamErrorKind(error) : undefined;
  },
  load: async () => (await import('./index.js')).xmppProtocol,
};
