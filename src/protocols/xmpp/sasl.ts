/**
 * SASL for XMPP (RFC 6120 § 6): PLAIN (RFC 4616) and SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802,
 * RFC 7677) clients, without channel binding (`n,,`). node:crypto does the PBKDF2 and HMACs.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type Mechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'PLAIN';
/** Strongest first: what `auto` picks among those the server offers. */
export const MECHANISMS: readonly Mechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'];

/** Picks the mechanism to use: the preferred one if offered, else the strongest offered. */
export function chooseMechanism(offered: readonly string[], preferred: Mechanism | 'auto'): Mechanism | undefined {
  if (preferred !== 'auto') return offered.includes(preferred) ? preferred : undefined;
  return MECHANISMS.find((m) => offered.includes(m));
}

export function plainMessage(user: string, password: string): string {
  return Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
}

/** RFC 5802 § 5.1: `=` and `,` in a user name are escaped as =3D and =2C. */
function saslName(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function attributes(message: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) map.set(part[0]!, part.slice(2));
  }
  return map;
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Salted passwords are the expensive part (PBKDF2): users sharing a password and salt share one. */
const saltedCache = new Map<string, Buffer>();

export function saltedPassword(algorithm: 'sha1' | 'sha256', password: string, salt: Buffer, iterations: number): Buffer {
  const key = `${algorithm}\0${iterations}\0${salt.toString('base64')}\0${password}`;
  let salted = saltedCache.get(key);
  if (!salted) {
    salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, algorithm === 'sha1' ? 20 : 32, algorithm);
    if (saltedCache.size > 64) saltedCache.clear();
    saltedCache.set(key, salted);
  }
  return salted;
}

/**
 * One SCRAM exchange: `first()` is the client-first message, `final(serverFirst)` the
 * client-final message, `verify(serverFinal)` checks the server's signature (mutual auth).
 * Messages are the raw strings; XMPP carries them base64-encoded.
 */
export class ScramClient {
  private readonly algorithm: 'sha1' | 'sha256';
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | undefined;

  constructor(
    mechanism: 'SCRAM-SHA-1' | 'SCRAM-SHA-256',
    user: string,
    private readonly password: string,
    private readonly nonce = randomBytes(18).toString('base64'),
  ) {
    this.algorithm = mechanism === 'SCRAM-SHA-1' ? 'sha1' : 'sha256';
    this.clientFirstBare = `n=${saslName(user)},r=${this.nonce}`;
  }

  first(): string {
    return `n,,${this.clientFirstBare}`;
  }

  final(serverFirst: string): string {
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (attrs.has('m')) throw new Error('the server asks for a SCRAM extension (m=) we do not know');
    if (!nonce || !nonce.startsWith(this.nonce) || nonce.length === this.nonce.length) throw new Error('the server nonce does not extend ours');
    if (!salt || !Number.isInteger(iterations) || iterations < 1) throw new Error(`a malformed server-first message: ${serverFirst}`);
    const salted = saltedPassword(this.algorithm, this.password, Buffer.from(salt, 'base64'), iterations);
    const clientKey = this.hmac(salted, 'Client Key');
    const storedKey = createHash(this.algorithm).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,")
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = this.hmac(storedKey, authMessage);
    const serverKey = this.hmac(salted, 'Server Key');
    this.serverSignature = this.hmac(serverKey, authMessage);
    return `${withoutProof},p=${xor(clientKey, clientSignature).toString('base64')}`;
  }

  /** Throws unless the server proved it knows the password (RFC 5802 § 3, `v=`). */
  verify(serverFinal: string): void {
    const attrs = attributes(serverFinal);
    const error = attrs.get('e');
    if (error) throw new Error(`the server says: ${error}`);
    const signature = Buffer.from(attrs.get('v') ?? '', 'base64');
    if (!this.serverSignature || signature.length !== this.serverSignature.length || !timingSafeEqual(signature, this.serverSignature)) {
      throw new Error('the server signature does not verify');
    }
  }

  private hmac(key: Buffer, data: string): Buffer {
    return createHmac(this.algorithm, key).update(data, 'utf8').digest();
  }
}
