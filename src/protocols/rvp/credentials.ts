/**
 * Client side of HTTP authentication (research/rvp.md §8): answers a 401 with Digest
 * (RFC 2617, qop=auth when offered) or else Basic, then keeps using the challenge for later
 * requests to the same server (incrementing nc) so each request costs one round trip.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseAuthParams } from './wire/auth.js';

interface DigestChallenge {
  readonly scheme: 'digest';
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | undefined;
  readonly qopAuth: boolean;
  readonly cnonce: string;
  nc: number;
}

type Challenge = DigestChallenge | { readonly scheme: 'basic' };

export class UnsupportedChallengeError extends Error {
  constructor(offered: string) {
    super(`server offers no Digest or Basic challenge (${offered || 'no WWW-Authenticate'})`);
    this.name = 'UnsupportedChallengeError';
  }
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/** One user's credentials and the challenges it has seen, per server origin. */
export class Credentials {
  private readonly challenges = new Map<string, Challenge>();

  constructor(
    private readonly username: string,
    private readonly password: string,
  ) {}

  /** Authorization for a request, if this origin challenged us before. */
  authorization(origin: string, method: string, uri: string): string | undefined {
    const challenge = this.challenges.get(origin);
    if (challenge === undefined) return undefined;
    if (challenge.scheme === 'basic') return `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
    challenge.nc++;
    const nc = challenge.nc.toString(16).padStart(8, '0');
    const ha1 = md5(`${this.username}:${challenge.realm}:${this.password}`);
    const ha2 = md5(`${method}:${uri}`);
    const response = challenge.qopAuth
      ? md5(`${ha1}:${challenge.nonce}:${nc}:${challenge.cnonce}:auth:${ha2}`)
      : md5(`${ha1}:${challenge.nonce}:${ha2}`);
    let value = `Digest username="${this.username}", realm="${challenge.realm}", nonce="${challenge.nonce}", uri="${uri}", algorithm=MD5, response="${response}"`;
    if (challenge.qopAuth) value += `, qop=auth, nc=${nc}, cnonce="${challenge.cnonce}"`;
    if (challenge.opaque !== undefined) value += `, opaque="${challenge.opaque}"`;
    return value;
  }

  /**
   * Records a 401's challenges. Returns false when retrying is pointless: the server refused
   * credentials built from a fresh (non-stale) challenge of the same scheme we already had.
   */
  accept(origin: string, wwwAuthenticate: readonly string[], hadCredentials: boolean): boolean {
    let basic = false;
    for (const value of wwwAuthenticate) {
      const space = value.indexOf(' ');
      const scheme = (space < 0 ? value : value.slice(0, space)).toLowerCase();
      if (scheme === 'digest') {
        const params = parseAuthParams(value.slice(space + 1));
        if (!params.nonce || params.realm === undefined) continue;
        if (params.algorithm !== undefined && params.algorithm.toUpperCase() !== 'MD5') continue;
        const stale = params.stale?.toLowerCase() === 'true';
        if (hadCredentials && !stale) return false;
        const qop = (params.qop ?? '').split(',').map((q) => q.trim().toLowerCase());
        this.challenges.set(origin, {
          scheme: 'digest',
          realm: params.realm,
          nonce: params.nonce,
          opaque: params.opaque,
          qopAuth: qop.includes('auth'),
          cnonce: randomBytes(16).toString('hex'),
          nc: 0,
        });
        return true;
      }
      if (scheme === 'basic') basic = true;
    }
    if (!basic) throw new UnsupportedChallengeError(wwwAuthenticate.join(' | '));
    if (hadCredentials) return false;
    this.challenges.set(origin, { scheme: 'basic' });
    return true;
  }
}
