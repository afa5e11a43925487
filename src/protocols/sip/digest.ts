/**
 * HTTP Digest for SIP (RFC 3261 § 22.4, RFC 2617): parses WWW-/Proxy-Authenticate challenges
 * and computes credentials. A `DigestSession` keeps the last challenge so later requests reuse
 * the nonce with an increasing nonce count (nc) instead of paying a challenge round trip each.
 */
import { createHash, randomBytes } from 'node:crypto';
import { detached, shared, unquote } from './address.js';

export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque?: string;
  readonly algorithm: 'MD5' | 'MD5-sess';
  /** Chosen quality of protection: auth preferred over auth-int; undefined = RFC 2069 mode. */
  readonly qop?: 'auth' | 'auth-int';
  readonly stale: boolean;
}

/** The challenge could not be used (unknown scheme or algorithm, missing nonce). */
export class DigestChallengeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DigestChallengeError';
  }
}

/** Splits `a="x, y", b=z` into parameters, honouring quoted commas. */
function parseAuthParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const pattern = /\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?/gy;
  for (let match = pattern.exec(text); match !== null && match[0] !== ''; match = pattern.exec(text)) {
    params.set(match[1]!.toLowerCase(), unquote(match[2]!));
  }
  return params;
}

export function parseDigestChallenge(header: string): DigestChallenge | DigestChallengeError {
  const match = /^\s*(\S+)\s+(.*)$/s.exec(header);
  if (!match || match[1]!.toLowerCase() !== 'digest') return new DigestChallengeError('not a Digest challenge');
  const params = parseAuthParams(match[2]!);
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  if (realm === undefined || nonce === undefined) return new DigestChallengeError('challenge without realm or nonce');
  const algorithmText = (params.get('algorithm') ?? 'MD5').toUpperCase();
  if (algorithmText !== 'MD5' && algorithmText !== 'MD5-SESS') {
    return new DigestChallengeError(`unsupported digest algorithm ${algorithmText}`);
  }
  const offered = (params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
  const qop = offered.includes('auth') ? 'auth' : offered.includes('auth-int') ? 'auth-int' : undefined;
  // A session keeps its challenge for the whole logon: copies, not slices of the 401's text
  // (which they would keep alive, two per user through the pool's director). Every user of a
  // server shares its realm.
  return {
    realm: shared(realm),
    nonce: detached(nonce),
    opaque: detached(params.get('opaque')),
    algorithm: algorithmText === 'MD5' ? 'MD5' : 'MD5-sess',
    qop,
    stale: (params.get('stale') ?? '').toLowerCase() === 'true',
  };
}

const md5 = (text: string | Buffer): string => createHash('md5').update(text).digest('hex');

export interface DigestInput {
  readonly username: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  readonly body?: Buffer;
  readonly nc: number;
  readonly cnonce: string;
}

/** The request-digest of RFC 2617 § 3.2.2.1. */
export function digestResponse(challenge: DigestChallenge, input: DigestInput): string {
  let ha1 = md5(`${input.username}:${challenge.realm}:${input.password}`);
  if (challenge.algorithm === 'MD5-sess') ha1 = md5(`${ha1}:${challenge.nonce}:${input.cnonce}`);
  const a2 =
    challenge.qop === 'auth-int'
      ? `${input.method}:${input.uri}:${md5(input.body ?? Buffer.alloc(0))}`
      : `${input.method}:${input.uri}`;
  const ha2 = md5(a2);
  if (challenge.qop === undefined) return md5(`${ha1}:${challenge.nonce}:${ha2}`);
  return md5(`${ha1}:${challenge.nonce}:${formatNc(input.nc)}:${input.cnonce}:${challenge.qop}:${ha2}`);
}

const formatNc = (nc: number): string => nc.toString(16).padStart(8, '0');

const quote = (text: string): string => `"${text.replace(/(["\\])/g, '\\$1')}"`;

/** The Authorization / Proxy-Authorization header value for one request. */
export function digestCredentials(challenge: DigestChallenge, input: DigestInput): string {
  const response = digestResponse(challenge, input);
  let value =
    `Digest username=${quote(input.username)}, realm=${quote(challenge.realm)}, nonce=${quote(challenge.nonce)}, ` +
    `uri=${quote(input.uri)}, response="${response}", algorithm=${challenge.algorithm}`;
  if (challenge.opaque !== undefined) value += `, opaque=${quote(challenge.opaque)}`;
  if (challenge.qop !== undefined) value += `, qop=${challenge.qop}, nc=${formatNc(input.nc)}, cnonce="${input.cnonce}"`;
  return value;
}

/** Which header carries the credentials: 401 → Authorization, 407 → Proxy-Authorization. */
export type CredentialHeader = 'Authorization' | 'Proxy-Authorization';

/**
 * One user's cached challenge for one header kind (the caller keys sessions by header). `credentialsFor` bumps nc on every use, so
 * a server that counts nonces (RFC 2617 § 3.2.2) sees each request as fresh.
 */
export class DigestSession {
  private challenge: DigestChallenge | undefined;
  private nc = 0;
  private readonly cnonce = randomBytes(8).toString('hex');

  constructor(
    private readonly username: string,
    private readonly password: string,
  ) {}

  /** The nonce in use, so a repeated challenge with the same nonce can be told from a stale one. */
  get nonce(): string | undefined {
    return this.challenge?.nonce;
  }

  accept(challenge: DigestChallenge): void {
    if (challenge.nonce !== this.challenge?.nonce) this.nc = 0;
    this.challenge = challenge;
  }

  credentialsFor(method: string, uri: string, body?: Buffer): string | undefined {
    if (this.challenge === undefined) return undefined;
    this.nc++;
    return digestCredentials(this.challenge, {
      username: this.username,
      password: this.password,
      method,
      uri,
      body,
      nc: this.nc,
      cnonce: this.cnonce,
    });
  }
}
