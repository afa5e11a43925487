/**
 * The registry of protocol descriptors: one line per protocol, the only list of protocols there
 * is. Everything outside the protocol folders finds a protocol here (by name, URL scheme or lab
 * server kind) and reads its descriptor; the agent itself loads on demand (`loadProtocol`), so a
 * run only loads the protocol it uses. Importing this file stays cheap: descriptors are data.
 */
import type { LabServerKind, ProtocolDescriptor, UrlScheme } from './descriptor.js';
import type { ProtocolModule } from './types.js';
import { ircDescriptor } from './irc/descriptor.js';
import { rvpDescriptor } from './rvp/descriptor.js';
import { sipDescriptor } from './sip/descriptor.js';
import { xmppDescriptor } from './xmpp/descriptor.js';

export const DESCRIPTORS: readonly ProtocolDescriptor[] = [
  ircDescriptor,
  rvpDescriptor,
  sipDescriptor,
  xmppDescriptor,
];

/** Protocol names, in registry order. */
export const PROTOCOLS: readonly string[] = DESCRIPTORS.map((d) => d.name);

/** Every URL scheme a target may use, with its protocol. */
export const URL_SCHEMES: readonly (UrlScheme & { readonly protocol: ProtocolDescriptor })[] = DESCRIPTORS.flatMap((protocol) =>
  protocol.schemes.map((scheme) => ({ ...scheme, protocol })),
);

/** Every lab server kind (`lab:` of a target), with its protocol. */
export const LAB_SERVERS: readonly (LabServerKind & { readonly protocol: ProtocolDescriptor })[] = DESCRIPTORS.flatMap((protocol) =>
  protocol.lab.map((kind) => ({ ...kind, protocol })),
);

export const LAB_KINDS: readonly string[] = LAB_SERVERS.map((s) => s.kind);

export function descriptorOf(name: string): ProtocolDescriptor | undefined {
  return DESCRIPTORS.find((d) => d.name === name);
}

/** The descriptor of a protocol the caller knows exists (from a parsed target); throws otherwise. */
export function requireDescriptor(name: string): ProtocolDescriptor {
  const descriptor = descriptorOf(name);
  if (!descriptor) throw new Error(`unknown protocol "${name}" (known: ${PROTOCOLS.join(', ')})`);
  return descriptor;
}

/** The scheme (`ircs`, without `://`) and the protocol that owns it. */
export function schemeOf(scheme: string): (typeof URL_SCHEMES)[number] | undefined {
  return URL_SCHEMES.find((s) => s.scheme === scheme);
}

export function labServerOf(kind: string): (typeof LAB_SERVERS)[number] | undefined {
  return LAB_SERVERS.find((s) => s.kind === kind);
}

export async function loadProtocol(protocol: string): Promise<ProtocolModule> {
  return requireDescriptor(protocol).load();
}
