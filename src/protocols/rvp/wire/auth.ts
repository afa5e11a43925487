/**
 * HTTP authentication for the RVP server (research/rvp.md §8): Digest (RFC 2617, qop=auth,
 * realm = IM domain) and Basic. NTLM and Negotiate are out of scope. Nonces are stateless
 * (timestamp + HMAC) so a busy server keeps no per-client state; an old nonce is answered with
 * `stale=true` so clients re-use their credentials without prompting.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { UserDirectory } from '../server/directory.js';

export type AuthScheme = 'digest' | 'basic';

export interface AuthConfig {
  readonly schemes: readonly AuthScheme[];
  readonly realm: string;
  readonly password: string;
  /** Seconds a nonce stays fresh. */
  readonly nonceLifetimeSeconds: number;
}

export type AuthResult =
  | { readonly ok: true; readonly alias: string }
  | { readonly ok: false; readonly stale: boolean; readonly reason: string };

export class Authenticator {
  private readonly secret = randomBytes(32);

  constructor(
    private readonly config: AuthConfig,
    private readonly users: UserDirectory,
  ) {}

  /** WWW-Authenticate values for a 401, strongest scheme first. */
  challenges(stale: boolean): string[] {
    const out: string[] = [];
    if (this.config.schemes.includes('digest')) {
      const staleParam = stale ? ', stale=true' : '';
      out.push(`Digest qop="auth", realm="${this.config.realm}", nonce="${this.nonce()}", algorithm=MD5${staleParam}`);
    }
    if (this.config.schemes.includes('basic')) out.push(`Basic realm="${this.config.realm}"`);
    return out;
  }

  verify(method: string, target: string, authorization: string | undefined): AuthResult {
    if (authorization === undefined) return { ok: false, stale: false, reason: 'no credentials' };
    const space = authorization.indexOf(' ');
    const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
    const rest = space < 0 ? '' : authorization.slice(space + 1).trim();
    if (scheme === 'digest' && this.config.schemes.includes('digest')) return this.verifyDigest(method, target, rest);
    if (scheme === 'basic' && this.config.schemes.includes('basic')) return this.verifyBasic(rest);
    return { ok: false, stale: false, reason: `scheme ${scheme} not offered` };
  }

  private verifyBasic(token: string): AuthResult {
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { ok: false, stale: false, reason: 'malformed Basic credentials' };
    const alias = this.principal(decoded.slice(0, colon));
    if (alias === undefined) return { ok: false, stale: false, reason: 'unknown user' };
    if (!sameString(decoded.slice(colon + 1), this.config.password)) return { ok: false, stale: false, reason: 'wrong password' };
    return { ok: true, alias };
  }

  private verifyDigest(method: string, target: string, paramText: string): AuthResult {
    const p = parseAuthParams(paramText);
    const { username, realm, nonce, uri, response } = p;
    if (!username || !realm || !nonce || !uri || !response) {
      return { ok: false, stale: false, reason: 'incomplete Digest credentials' };
    }
    if (realm !== this.config.realm) return { ok: false, stale: false, reason: 'wrong realm' };
    if (p.algorithm !== undefined && p.algorithm.toUpperCase() !== 'MD5') return { ok: false, stale: false, reason: 'unsupported algorithm' };
    if (!sameUri(uri, target)) return { ok: false, stale: false, reason: 'Digest uri does not match the request' };
    const alias = this.principal(username);
    if (alias === undefined) return { ok: false, stale: false, reason: 'unknown user' };
    const ha1 = md5(`${username}:${realm}:${this.config.password}`);
    const ha2 = md5(`${method}:${uri}`);
    let expected: string;
    if (p.qop !== undefined) {
      if (p.qop !== 'auth' || !p.nc || !p.cnonce) return { ok: false, stale: false, reason: 'qop=auth needs nc and cnonce' };
      expected = md5(`${ha1}:${nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`);
    } else {
      expected = md5(`${ha1}:${nonce}:${ha2}`);
    }
    if (!sameString(response.toLowerCase(), expected)) return { ok: false, stale: false, reason: 'wrong password' };
    const freshness = this.nonceState(nonce);
    if (freshness !== 'fresh') return { ok: false, stale: freshness === 'stale', reason: `nonce ${freshness}` };
    return { ok: true, alias };
  }

  /** Maps `DOMAIN/user`, `DOMAIN\user` or `user@domain` (§8) to a directory alias. */
  private principal(username: string): string | undefined {
    let name = username;
    const slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
    if (slash >= 0) name = name.slice(slash + 1);
    const at = name.indexOf('@');
    if (at >= 0) name = name.slice(0, at);
    return this.users.canonical(name);
  }

  private nonce(): string {
    const stamp = Date.now().toString(36);
    return `${stamp}.${this.sign(stamp)}`;
  }

  private nonceState(nonce: string): 'fresh' | 'stale' | 'invalid' {
    const dot = nonce.indexOf('.');
    if (dot < 0) return 'invalid';
    const stamp = nonce.slice(0, dot);
    if (!sameString(nonce.slice(dot + 1), this.sign(stamp))) return 'invalid';
    const age = Date.now() - parseInt(stamp, 36);
    return age >= 0 && age <= this.config.nonceLifetimeSeconds * 1000 ? 'fresh' : 'stale';
  }

  private sign(stamp: string): string {
    return createHmac('sha256', this.secret).update(stamp).digest('base64url').slice(0, 22);
  }
}

export function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** Parses `key=value, key="quoted, value"` auth parameters (RFC 2617 §1.2). */
export function parseAuthParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/gy;
  let match: RegExpExecArray | null;
  while (re.lastIndex < text.length && (match = re.exec(text)) !== null) {
    out[match[1]!.toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
    if (match[0].length === 0) break;
  }
  return out;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The Digest `uri` may be the abs_path while the request line used the absoluteURI, or vice versa. */
function sameUri(digestUri: string, target: string): boolean {
  if (digestUri === target) return true;
  const pathOf = (u: string) => (/^https?:\/\//i.test(u) ? u.replace(/^https?:\/\/[^/]*/i, '') || '/' : u);
  return pathOf(digestUri) === pathOf(target);
}
