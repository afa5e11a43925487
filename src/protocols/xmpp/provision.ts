/**
 * Bulk provisioning of XMPP accounts and rosters (issue #18): 20,000 accounts with 20-contact
 * rosters (mutual lists give `subscription='both'` on every item), ready in seconds instead of 20,000 in-band
 * registrations and 400,000 subscription handshakes.
 *
 * - Prosody: its internal storage files are written directly
 *   (`<data_path>/<host>/accounts/<user>.dat` and `roster/<user>.dat`, Lua tables, the
 *   datamanager's encoding of names). Do it before Prosody starts, or while nobody is logged in.
 * - ejabberd: a small compiled Erlang module is loaded into the running node over Erlang
 *   distribution and writes the Mnesia `passwd` and `roster` records there
 *   (provision-ejabberd.ts). docs/decisions.md says why, bench/RESULTS.md has the figures.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EjabberdCtlAddress } from './ejabberd-node.js';
import { provisionEjabberd, type NormalisedUser, type Subscription } from './provision-ejabberd.js';

export type { NormalisedUser, Subscription };

export interface ProvisionUser {
  /** Local part, e.g. `u000001` (compared case-insensitively: it is stored lower-cased). */
  readonly name: string;
  readonly password: string;
  /**
   * The contacts this user subscribes to: local parts on the same domain, or bare JIDs
   * `name@domain`. Subscriptions follow the lists (rosterItems): A lists B and B lists A gives
   * `both` on both sides; only A lists B gives A `to` B and B `from` A, the state after A asked
   * and B approved. A contact that is not provisioned in the same call gets `both` (its own list
   * is not seen; the caller vouches that it lists back). Symmetric lists (mutualContacts) give
   * `both` everywhere.
   */
  readonly contacts: readonly string[];
}

export interface ProvisionOptions {
  /**
   * Prosody only: `plain` (default) stores `password = "..."`, which `internal_plain` uses as is
   * and `internal_hashed` upgrades to a hash at the user's first login; `scram` stores
   * SCRAM-SHA-1 keys (stored_key, server_key, salt, iteration_count) for `internal_hashed`.
   */
  readonly passwordFormat?: 'plain' | 'scram';
  /** PBKDF2 iterations for `scram` (default 4096). */
  readonly iterations?: number;
  /**
   * `scram` only: one salt for every account instead of a random one each, so accounts sharing a
   * password share one PBKDF2 here (and a client caching salted passwords shares it too). Lab use.
   */
  readonly salt?: string;
}

export interface ProvisionResult {
  readonly accounts: number;
  readonly rosterItems: number;
  /** Wall time of the whole provisioning call. */
  readonly ms: number;
  readonly method: string;
}

export class ProvisionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/**
 * Writes accounts and rosters into a server's storage. `dataDirOrHandle` is Prosody's
 * `data_path` folder, or for ejabberd the running lab (what `startEjabberd` returns, or the
 * `ejabberd` entry of the LabTarget's options).
 */
export async function provisionAccounts(
  server: 'prosody' | 'ejabberd',
  dataDirOrHandle: string | EjabberdCtlAddress,
  domain: string,
  users: readonly ProvisionUser[],
  options: ProvisionOptions = {},
): Promise<ProvisionResult> {
  const started = Date.now();
  const host = checkDomain(domain);
  const normalised = rosterItems(users.map((user) => normaliseUser(user, host)), host);
  if (server === 'prosody') {
    if (typeof dataDirOrHandle !== 'string') throw new ProvisionError('Prosody provisioning takes the data_path folder');
    const rosterItems = writeProsodyStorage(dataDirOrHandle, host, normalised, options);
    return { accounts: normalised.length, rosterItems, ms: Date.now() - started, method: `prosody-files-${options.passwordFormat ?? 'plain'}` };
  }
  if (server === 'ejabberd') {
    if (typeof dataDirOrHandle === 'string') throw new ProvisionError('ejabberd provisioning takes the running lab handle (startEjabberd)');
    const result = await provisionEjabberd(dataDirOrHandle, host, normalised);
    return { ...result, ms: Date.now() - started, method: 'ejabberd-mnesia-bulk' };
  }
  throw new ProvisionError(`unknown XMPP server "${String(server)}"`);
}

/**
 * Symmetric contact lists: user i gets its `perUser` nearest neighbours on a ring (i±1 … i±perUser/2),
 * so every contact relation is mutual. `perUser` is capped at the population size - 1 (rounded down to even).
 */
export function mutualContacts(names: readonly string[], perUser: number): string[][] {
  const n = names.length;
  const half = Math.floor(Math.min(perUser, n - 1) / 2);
  return names.map((_, i) => {
    const contacts: string[] = [];
    for (let d = 1; d <= half; d++) {
      contacts.push(names[(i + d) % n]!);
      contacts.push(names[(i - d + n) % n]!);
    }
    return contacts;
  });
}

/** A population `u{index:6}` style with mutual rosters, ready for provisionAccounts. */
export function ringPopulation(names: readonly string[], password: string | ((name: string) => string), perUser: number): ProvisionUser[] {
  const lists = mutualContacts(names, perUser);
  return names.map((name, i) => ({ name, password: typeof password === 'string' ? password : password(name), contacts: lists[i]! }));
}


/** Names we can store without a full nodeprep: no spaces, no JID separators, no quotes. */
const LOCAL_PART = /^[^\s@/"'\\<>&:]+$/;
const DOMAIN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

function checkDomain(domain: string): string {
  const host = domain.toLowerCase();
  if (!DOMAIN.test(host)) throw new ProvisionError(`not a domain name: "${domain}"`);
  return host;
}

function normaliseUser(user: ProvisionUser, host: string): NormalisedUser {
  const name = user.name.toLowerCase();
  if (!LOCAL_PART.test(name)) throw new ProvisionError(`user name "${user.name}" cannot be provisioned (spaces, quotes or JID separators)`);
  const contacts = user.contacts.map((contact) => {
    const [local, domain, extra] = contact.toLowerCase().split('@');
    if (extra !== undefined || !local || !LOCAL_PART.test(local)) throw new ProvisionError(`contact "${contact}" of ${user.name} is not a bare JID or local name`);
    return `${local}@${domain === undefined ? host : checkDomain(domain)}`;
  });
  return { name, password: user.password, contacts, roster: [] };
}

/** Rosters from the contact lists: `to` for who one lists, `from` for who lists one, `both` for both. */
export function rosterItems(users: readonly NormalisedUser[], host: string): NormalisedUser[] {
  const provisioned = new Map(users.map((user) => [`${user.name}@${host}`, new Map<string, { to: boolean; from: boolean }>()]));
  for (const user of users) {
    const self = `${user.name}@${host}`;
    const own = provisioned.get(self)!;
    for (const contact of user.contacts) {
      if (contact === self) continue;
      const item = own.get(contact) ?? { to: false, from: false };
      item.to = true;
      own.set(contact, item);
      const other = provisioned.get(contact);
      if (other) {
        const back = other.get(self) ?? { to: false, from: false };
        back.from = true;
        other.set(self, back);
      } else item.from = true;
    }
  }
  return users.map((user) => ({
    ...user,
    roster: [...provisioned.get(`${user.name}@${host}`)!].map(([jid, { to, from }]) => ({
      jid,
      subscription: (to && from ? 'both' : to ? 'to' : 'from') as Subscription,
    })),
  }));
}

// ---------------------------------------------------------------------------------------------
// Prosody internal storage

/** util/datamanager.lua: every non-alphanumeric byte becomes %xx (lower-case hex). */
export function prosodyEncode(text: string): string {
  return Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A Lua string literal, with every byte outside printable ASCII escaped as \ddd. */
function luaString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${String(byte).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** SCRAM-SHA-1 keys as mod_auth_internal_hashed stores them (hex). */
export function scramSha1Keys(password: string, salt: string | Buffer, iterations: number): { storedKey: string; serverKey: string } {
  const salted = pbkdf2Sync(password, salt, iterations, 20, 'sha1');
  const clientKey = createHmac('sha1', salted).update('Client Key').digest();
  const storedKey = createHash('sha1').update(clientKey).digest('hex');
  const serverKey = createHmac('sha1', salted).update('Server Key').digest('hex');
  return { storedKey, serverKey };
}

function prosodyAccount(user: NormalisedUser, options: ProvisionOptions, keyCache: Map<string, { storedKey: string; serverKey: string }>): string {
  if ((options.passwordFormat ?? 'plain') === 'plain') return `return {\n\t["password"] = ${luaString(user.password)};\n};\n`;
  const iterations = options.iterations ?? 4096;
  const salt = options.salt ?? randomBytes(12).toString('hex');
  let keys = options.salt !== undefined ? keyCache.get(user.password) : undefined;
  if (!keys) {
    keys = scramSha1Keys(user.password, salt, iterations);
    if (options.salt !== undefined) keyCache.set(user.password, keys);
  }
  const { storedKey, serverKey } = keys;
  return (
    `return {\n\t["iteration_count"] = ${iterations};\n\t["salt"] = ${luaString(salt)};\n` +
    `\t["stored_key"] = ${luaString(storedKey)};\n\t["server_key"] = ${luaString(serverKey)};\n};\n`
  );
}

/** A roster as core/rostermanager.lua saves it: items by bare JID, metadata under [false]. */
function prosodyRoster(user: NormalisedUser): string {
  let out = 'return {\n\t[false] = {\n\t\t["version"] = 1;\n\t\t["pending"] = {};\n\t};\n';
  for (const { jid, subscription } of user.roster) {
    out += `\t[${luaString(jid)}] = {\n\t\t["groups"] = {};\n\t\t["subscription"] = "${subscription}";\n\t};\n`;
  }
  return `${out}};\n`;
}

function writeProsodyStorage(dataDir: string, host: string, users: readonly NormalisedUser[], options: ProvisionOptions): number {
  const hostDir = join(dataDir, prosodyEncode(host));
  const accounts = join(hostDir, 'accounts');
  const roster = join(hostDir, 'roster');
  mkdirSync(accounts, { recursive: true });
  mkdirSync(roster, { recursive: true });
  let items = 0;
  const keyCache = new Map<string, { storedKey: string; serverKey: string }>();
  for (const user of users) {
    const file = `${prosodyEncode(user.name)}.dat`;
    // 0600 like Prosody's own files: they hold passwords.
    writeFileSync(join(accounts, file), prosodyAccount(user, options, keyCache), { mode: 0o600 });
    writeFileSync(join(roster, file), prosodyRoster(user), { mode: 0o600 });
    items += user.roster.length;
  }
  return items;
}
