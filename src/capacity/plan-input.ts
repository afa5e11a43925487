/**
 * What `imload plan` sizes: a population, its sites and workload, and where each per-server
 * capacity comes from. Read from a YAML/JSON plan file and/or command-line flags (flags win).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { LimitProfile } from '../scenarios/schema.js';

export const PlanSite = z.strictObject({
  name: z.string().min(1),
  users: z.number().int().min(0),
  /** The site's WAN link to the servers, kbit/s (a branch office: 56 or 128). */
  linkKbps: z.number().positive(),
  /** The link is expensive (metered, leased by volume): the placement keeps traffic off it. */
  costly: z.boolean().default(false),
  /** The company's Internet connection is at this site: routers go here (placement guidance). */
  internet: z.boolean().default(false),
  /**
   * Fraction of the site's users' contacts (and so of their messages and presence) who are at the
   * same site. Default: the site's share of the population, as if contacts were spread evenly;
   * co-locating communicative groups raises it (placement guidance, branch offices).
   */
  contactsInSite: z.number().min(0).max(1).optional(),
});
export type PlanSite = z.infer<typeof PlanSite>;

/** Which limit profile sizes each server role; a custom profile under `profiles:` may be named. */
export const RoleProfiles = z.strictObject({
  homeServer: z.string().default('exchange2000-im'),
  router: z.string().default('exchange2000-im-router'),
  routerSp2: z.string().default('exchange2000-im-router-sp2'),
  chatServer: z.string().default('exchange2000-chat'),
  frontEndPool: z.string().default('lcs2005'),
  /** The profile whose `bandwidth.kbpsPerUser` figure gives the WAN load per online user. */
  bandwidth: z.string().default('lcs2005'),
});
export type RoleProfiles = z.infer<typeof RoleProfiles>;

export const PlanFile = z.strictObject({
  users: z.number().int().min(0),
  /** Fraction of accounts online at the busiest moment: corporate ≈ 1, hosting e.g. 0.05. */
  peakOnlineFraction: z.number().min(0).max(1).default(1),
  sites: z.array(PlanSite).default([]),
  workload: z
    .strictObject({
      messagesPerHour: z.number().min(0).default(3),
      presenceChangesPerHour: z.number().min(0).default(2),
      contacts: z.number().int().min(0).default(20),
      /** Hours a user stays online in a day (LCS 2005's bandwidth figure is an eight-hour average). */
      sessionHours: z.number().positive().default(8),
    })
    .prefault({}),
  /** Spare link capacity required: a link carries its users when load × (1 + headroom) ≤ speed. */
  headroom: z.number().min(0).max(10).default(0.25),
  /** Open-file limit of one server process on the hosts the chat service will run on. */
  serverFdLimit: z.number().int().positive().default(20_000),
  roles: RoleProfiles.prefault({}),
  /** Run folders whose measured capacity replaces the documented figure of their protocol's role. */
  fromRun: z.array(z.string()).default([]),
  /** Extra limit profiles (a vendor's figures), as in scenarios.yaml. */
  profiles: z.record(z.string(), LimitProfile).default({}),
});
export type PlanFile = z.infer<typeof PlanFile>;
export type PlanFileInput = z.input<typeof PlanFile>;

/** Command-line values; each one given replaces the plan file's. */
export interface PlanFlags {
  readonly users?: number;
  readonly peakOnline?: number;
  /** `name=users@kbps`, repeatable; replaces the file's sites. */
  readonly site?: readonly string[];
  readonly messagesPerHour?: number;
  readonly contacts?: number;
  readonly headroom?: number;
  readonly fdLimit?: number;
  readonly fromRun?: readonly string[];
  readonly routerProfile?: string;
}

export class PlanInputError extends Error {}

export type PlanSiteInput = z.input<typeof PlanSite>;

/**
 * `name=users@kbps[,costly][,internet][,local=F]`: e.g. `branch=50@128,costly`,
 * `hq=70000@100000,internet`, `sales=900@256,costly,local=60%`.
 */
export function parseSiteFlag(text: string): PlanSiteInput {
  const [head = '', ...attributes] = text.trim().split(',');
  const match = /^([^=]+)=(\d+)@(\d+(?:\.\d+)?)$/.exec(head.trim());
  if (!match) throw new PlanInputError(`--site ${text}: expected name=users@kbps[,costly][,internet][,local=F], e.g. branch-a=100@56,costly`);
  const site: { name: string; users: number; linkKbps: number; costly?: boolean; internet?: boolean; contactsInSite?: number } = {
    name: match[1]!,
    users: Number(match[2]),
    linkKbps: Number(match[3]),
  };
  for (const raw of attributes) {
    const attribute = raw.trim();
    const local = /^local=(\d+(?:\.\d+)?)(%?)$/.exec(attribute);
    if (attribute === 'costly') site.costly = true;
    else if (attribute === 'internet') site.internet = true;
    else if (local) {
      const value = Number(local[1]) / (local[2] ? 100 : 1);
      if (!(value >= 0 && value <= 1)) throw new PlanInputError(`--site ${text}: local= must be a fraction 0..1 or a percentage`);
      site.contactsInSite = value;
    } else throw new PlanInputError(`--site ${text}: unknown attribute "${attribute}" (costly, internet, local=F)`);
  }
  return site;
}

/** Reads a plan file (YAML or JSON; JSON is YAML) and lays the flags over it. */
export function resolvePlanInput(file: string | undefined, flags: PlanFlags): PlanFile {
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new PlanInputError(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message}`);
    }
    const parsed: unknown = parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new PlanInputError(`${file}: expected a mapping (users:, sites:, ...)`);
    raw = parsed as Record<string, unknown>;
  }
  const workload = { ...(raw.workload as Record<string, unknown> | undefined) };
  if (flags.messagesPerHour !== undefined) workload.messagesPerHour = flags.messagesPerHour;
  if (flags.contacts !== undefined) workload.contacts = flags.contacts;
  const roles = { ...(raw.roles as Record<string, unknown> | undefined) };
  if (flags.routerProfile !== undefined) roles.router = flags.routerProfile;
  const merged: Record<string, unknown> = { ...raw, workload, roles };
  if (flags.users !== undefined) merged.users = flags.users;
  if (flags.peakOnline !== undefined) merged.peakOnlineFraction = flags.peakOnline;
  if (flags.site && flags.site.length > 0) merged.sites = flags.site.map(parseSiteFlag);
  if (flags.headroom !== undefined) merged.headroom = flags.headroom;
  if (flags.fdLimit !== undefined) merged.serverFdLimit = flags.fdLimit;
  if (flags.fromRun && flags.fromRun.length > 0) merged.fromRun = [...flags.fromRun];
  if (merged.users === undefined) throw new PlanInputError('how many users? give --users N or users: in a plan file');
  const result = PlanFile.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(plan)'}: ${i.message}`);
    throw new PlanInputError(`${file ?? 'plan'}: ${problems.join('; ')}`);
  }
  const names = result.data.sites.map((s) => s.name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw new PlanInputError(`site "${repeated}" is given twice`);
  if (result.data.sites.filter((s) => s.internet).length > 1) throw new PlanInputError('more than one site has the Internet connection (internet); name one');
  const siteUsers = result.data.sites.reduce((n, s) => n + s.users, 0);
  if (siteUsers > result.data.users) throw new PlanInputError(`the sites hold ${siteUsers} users, more than the ${result.data.users} in the plan`);
  return result.data;
}
