/** Turns a scenario target (URL + settings) into the endpoint an agent connects to. */
import { readFileSync } from 'node:fs';
import type { AgentTarget } from '../protocols/types.js';
import type { SecretRef, Target } from './schema.js';
import { EXAMPLE_TARGET_URL, TARGET_URL_PATTERN } from './schema.js';
import { URL_SCHEMES, requireDescriptor, schemeOf } from '../protocols/registry.js';

export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

export function parseTargetUrl(url: string): { protocol: string; host: string; port: number; tls: boolean } {
  if (!TARGET_URL_PATTERN.test(url)) {
    throw new TargetError(`"${url}" is not a target URL like ${EXAMPLE_TARGET_URL} (schemes: ${URL_SCHEMES.map((s) => s.scheme).join(', ')})`);
  }
  const parsed = new URL(url);
  const scheme = schemeOf(parsed.protocol.slice(0, -1))!;
  return { protocol: scheme.protocol.name, host: parsed.hostname, port: parsed.port ? Number(parsed.port) : scheme.defaultPort, tls: scheme.tls };
}

/** `users`: the population's size, which a network target's range spread divides. */
export function toAgentTarget(name: string, target: Target, users = 1): AgentTarget {
  const { protocol, host, port, tls } = parseTargetUrl(target.url);
  // TLS comes from the scheme; otherwise the target's transport, or the protocol's first.
  const transport = tls ? 'tls' : (target.transport ?? requireDescriptor(protocol).transports[0] ?? 'tcp');
  return {
    name,
    protocol,
    host,
    port,
    transport,
    domain: target.domain,
    tls: tls || target.tls ? { ca: target.tls?.ca, insecure: target.tls?.insecure ?? false, serverName: target.tls?.serverName } : undefined,
    options: target.options,
    network: networkOf(target, protocol, users),
  };
}

/** A network target's endpoints: its `urls`, each of the target's own protocol. */
function networkOf(target: Target, protocol: string, users: number): AgentTarget['network'] {
  const urls = target.network?.urls;
  if (!urls || urls.length < 2) return undefined;
  const endpoints = urls.map((url) => {
    const parsed = parseTargetUrl(url);
    if (parsed.protocol !== protocol) throw new TargetError(`network URL ${url} is not a ${protocol} URL like the target's ${target.url}`);
    return { host: parsed.host, port: parsed.port };
  });
  return { endpoints, spread: target.network?.spread ?? 'range', channels: target.network?.channels ?? 'linked', users };
}

/** Loopback is always allowed; anything else needs an explicit opt-in (load is not a probe). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretError';
  }
}

/** Reads a secret from its reference. The value is returned, never logged. */
export function resolveSecret(ref: SecretRef | undefined, userName?: string): string | undefined {
  if (!ref) return undefined;
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (value === undefined) throw new SecretError(`environment variable ${ref.env} is not set (password reference)`);
    return value;
  }
  const path = userName ? ref.file.replaceAll('{user}', userName) : ref.file;
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new SecretError(`cannot read password file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
