/** Protocol name → agent module, loaded on demand so a run only loads the protocol it uses. */
import type { ProtocolModule } from './types.js';

const loaders: Record<string, () => Promise<ProtocolModule>> = {
  irc: async () => (await import('./irc/index.js')).ircProtocol,
  rvp: async () => (await import('./rvp/index.js')).rvpProtocol,
  sip: async () => (await import('./sip/index.js')).sipProtocol,
  xmpp: async () => (await import('./xmpp/index.js')).xmppProtocol,
};

export const PROTOCOLS = Object.keys(loaders);

export async function loadProtocol(protocol: string): Promise<ProtocolModule> {
  const load = loaders[protocol];
  if (!load) throw new Error(`unknown protocol "${protocol}" (known: ${PROTOCOLS.join(', ')})`);
  return load();
}
