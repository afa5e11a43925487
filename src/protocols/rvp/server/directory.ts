/**
 * Who exists and where they live: the user directory (pattern or file), the password source,
 * node URL shapes (logical and physical, research/rvp.md §1) and the alias → home-server map
 * used by routers (302) and by home servers sending presence to peers.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * `u{index:6}` with a count, or a file with one alias per line. `firstNumber` is the number the
 * first pattern user carries (default 0); imload scenarios number users from 1 (u000001).
 */
export type UserSource =
  | { readonly pattern: string; readonly count: number; readonly firstNumber?: number }
  | { readonly file: string };

/** Password by reference only, so it never appears in argv, configs or logs. */
export type PasswordSource = { readonly env: string } | { readonly file: string };

export class UserDirectory {
  private readonly indexByAlias = new Map<string, number>();

  constructor(readonly aliases: readonly string[]) {
    aliases.forEach((alias, index) => this.indexByAlias.set(alias.toLowerCase(), index));
  }

  static load(source: UserSource): UserDirectory {
    if ('file' in source) {
      const lines = readFileSync(source.file, 'utf8').split('\n').map((l) => l.trim());
      return new UserDirectory(lines.filter((l) => l.length > 0 && !l.startsWith('#')));
    }
    if (!Number.isInteger(source.count) || source.count < 0 || source.count > 10_000_000) {
      throw new ConfigError(`user count must be an integer in 0..10000000, got ${source.count}`);
    }
    const first = source.firstNumber ?? 0;
    return new UserDirectory(Array.from({ length: source.count }, (_, i) => expandPattern(source.pattern, first + i)));
  }

  /** The user's index (line or pattern index), or undefined for an unknown alias. */
  indexOf(alias: string): number | undefined {
    return this.indexByAlias.get(alias.toLowerCase());
  }

  /** Canonical spelling of an alias (aliases compare case-insensitively, as e-mail names do). */
  canonical(alias: string): string | undefined {
    const index = this.indexOf(alias);
    return index === undefined ? undefined : this.aliases[index];
  }
}

/** Expands `{index}` and `{index:N}` (zero-padded to N digits) in a user-name pattern. */
export function expandPattern(pattern: string, index: number): string {
  return pattern.replace(/\{index(?::(\d+))?\}/g, (_, width: string | undefined) =>
    width === undefined ? String(index) : String(index).padStart(Number(width), '0'),
  );
}

export function resolvePassword(source: PasswordSource | undefined): string | undefined {
  if (source === undefined) return undefined;
  if ('env' in source) {
    const value = process.env[source.env];
    if (value === undefined) throw new ConfigError(`environment variable ${source.env} is not set`);
    return value;
  }
  return readFileSync(source.file, 'utf8').replace(/\r?\n$/, '');
}

/** A request target decoded into the node it names. */
export interface NodeRef {
  readonly alias: string;
  /** Whether the URL was the physical form `/instmsg/local/<domain>/instmsg/aliases/<alias>`. */
  readonly physical: boolean;
}

const LOGICAL = /^\/instmsg\/aliases\/([^/?#]+)\/?$/i;
const PHYSICAL = /^\/instmsg\/local\/([^/?#]+)\/instmsg\/aliases\/([^/?#]+)\/?$/i;

/**
 * Decodes a request-URI (abs_path or absoluteURI, §2) or a URL such as a Call-Back into a
 * node. Returns undefined for anything that is not a principal node of `domain`.
 */
export function parseNodeUrl(target: string, domain: string): NodeRef | undefined {
  let path = target;
  let host: string | undefined;
  if (/^https?:\/\//i.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return undefined;
    }
    path = url.pathname;
    host = url.hostname.toLowerCase();
  }
  const physical = PHYSICAL.exec(path);
  if (physical) {
    if (decode(physical[1]!).toLowerCase() !== domain.toLowerCase()) return undefined;
    return { alias: decode(physical[2]!), physical: true };
  }
  const logical = LOGICAL.exec(path);
  if (!logical) return undefined;
  // An absolute logical URL names a node only when its host is the IM domain; otherwise it is
  // someone's raw callback address that happens to share the path shape.
  if (host !== undefined && host !== domain.toLowerCase()) return undefined;
  return { alias: decode(logical[1]!), physical: false };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function logicalUrl(domain: string, alias: string): string {
  return `http://${domain}/instmsg/aliases/${encodeURIComponent(alias)}`;
}

export function physicalPath(domain: string, alias: string): string {
  return `/instmsg/local/${domain}/instmsg/aliases/${encodeURIComponent(alias)}`;
}

/** Which home server (base URL such as `http://127.0.0.1:9001`) owns a user. */
export type HomeMap =
  | { readonly kind: 'ranges'; readonly ranges: readonly { readonly from: number; readonly to: number; readonly url: string }[] }
  | { readonly kind: 'hash'; readonly urls: readonly string[] }
  /**
   * Users whose index modulo `modulus` is one of a home's residues: the users `imload run
   * --segment i/N` runs (index mod N = i − 1), so a site whose generator runs some segments can
   * have its own home server for exactly those users (imload plan --lab).
   */
  | { readonly kind: 'residues'; readonly modulus: number; readonly homes: readonly { readonly residues: readonly number[]; readonly url: string }[] };

export function homeFor(map: HomeMap, alias: string, index: number): string | undefined {
  if (map.kind === 'hash') {
    if (map.urls.length === 0) return undefined;
    const digest = createHash('sha1').update(alias.toLowerCase()).digest();
    return map.urls[digest.readUInt32BE(0) % map.urls.length];
  }
  if (map.kind === 'residues') return map.homes.find((home) => home.residues.includes(index % map.modulus))?.url;
  for (const range of map.ranges) if (index >= range.from && index <= range.to) return range.url;
  return undefined;
}

/**
 * Parses `--home` values: `FROM-TO=URL` ranges of user indexes, `hash=URL,URL,...`, or
 * `mod=N:R+R=URL` (users whose index mod N is one of the residues R), one per home.
 */
export function parseHomeMap(specs: readonly string[]): HomeMap | undefined {
  if (specs.length === 0) return undefined;
  if (specs.length === 1 && specs[0]!.startsWith('hash=')) {
    const urls = specs[0]!.slice(5).split(',').map((u) => checkBaseUrl(u.trim()));
    return { kind: 'hash', urls };
  }
  if (specs[0]!.startsWith('mod=')) return parseResidueMap(specs);
  const ranges = specs.map((spec) => {
    const match = /^(\d+)-(\d+)=(.+)$/.exec(spec);
    if (!match) throw new ConfigError(`--home expects FROM-TO=URL or hash=URL,URL; got "${spec}"`);
    const from = Number(match[1]);
    const to = Number(match[2]);
    if (to < from) throw new ConfigError(`--home range ${from}-${to} is empty`);
    return { from, to, url: checkBaseUrl(match[3]!) };
  });
  return { kind: 'ranges', ranges };
}

function parseResidueMap(specs: readonly string[]): HomeMap {
  let modulus: number | undefined;
  const homes = specs.map((spec) => {
    const match = /^mod=(\d+):(\d+(?:\+\d+)*)=(.+)$/.exec(spec);
    if (!match) throw new ConfigError(`--home expects mod=N:R+R=URL for every home once one does; got "${spec}"`);
    const n = Number(match[1]);
    if (!(n >= 1) || (modulus !== undefined && n !== modulus)) throw new ConfigError(`--home ${spec}: every mod= home needs the same N ≥ 1`);
    modulus = n;
    const residues = match[2]!.split('+').map(Number);
    const outside = residues.find((r) => r >= n);
    if (outside !== undefined) throw new ConfigError(`--home ${spec}: residue ${outside} is not below ${n}`);
    return { residues, url: checkBaseUrl(match[3]!) };
  });
  return { kind: 'residues', modulus: modulus!, homes };
}

function checkBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`not a URL: "${url}"`);
  }
  if (parsed.protocol !== 'http:') throw new ConfigError(`home server URL must be http: "${url}"`);
  return `http://${parsed.host}`;
}
