/**
 * Where each per-server capacity and the per-user bandwidth come from: a figure of a limit
 * profile (with its id and wording) or a measured run (its folder and metric). Every number the
 * plan prints carries one of these, so a reader can check it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProfile } from '../scenarios/limits.js';
import type { LimitProfile } from '../scenarios/schema.js';
import type { Summary } from '../analysis/summary.js';
import { measuredFigures } from '../analysis/measured.js';
import { PlanInputError, RoleProfiles, type PlanFile } from './plan-input.js';
import { descriptorOf } from '../protocols/registry.js';

export type Provenance =
  | { readonly kind: 'profile'; readonly profile: string; readonly figure: string; readonly source: string; readonly wording: string }
  | { readonly kind: 'run'; readonly runDir: string; readonly metric: string; readonly note: string }
  | { readonly kind: 'input'; readonly name: string }
  | { readonly kind: 'rule'; readonly text: string; readonly source: string };

export interface Sourced {
  readonly value: number;
  readonly from: Provenance;
}

export type ServerRole = Exclude<keyof RoleProfiles, 'bandwidth'>;

export interface PlanCapacities {
  readonly perServer: Readonly<Record<ServerRole, Sourced>>;
  readonly kbpsPerUser: Sourced;
  /** Why a run given with --from-run was not used, or what to bear in mind about it. */
  readonly notes: readonly string[];
}

/** The server role a run of this protocol sizes, as its descriptor says (`planRole`). */
function roleOfProtocol(protocol: string): ServerRole | undefined {
  const role = descriptorOf(protocol)?.planRole;
  return role !== undefined && role !== 'bandwidth' && role in RoleProfiles.shape ? (role as ServerRole) : undefined;
}

function figureOf(profileName: string, metric: string, custom: PlanFile['profiles']): Sourced {
  const profile: LimitProfile | undefined = findProfile(profileName, custom);
  if (!profile) throw new PlanInputError(`no limit profile named "${profileName}"`);
  const figure = profile.figures.find((f) => f.metric === metric);
  if (!figure) throw new PlanInputError(`limit profile "${profileName}" has no ${metric} figure`);
  return { value: figure.value, from: { kind: 'profile', profile: profileName, figure: figure.id, source: figure.source, wording: figure.wording } };
}

export function resolveCapacities(plan: PlanFile): PlanCapacities {
  const roles = plan.roles;
  const perServer: Record<ServerRole, Sourced> = {
    homeServer: figureOf(roles.homeServer, 'users.peakOnline', plan.profiles),
    router: figureOf(roles.router, 'users.peakOnline', plan.profiles),
    routerSp2: figureOf(roles.routerSp2, 'users.peakOnline', plan.profiles),
    chatServer: figureOf(roles.chatServer, 'users.peakOnline', plan.profiles),
    frontEndPool: figureOf(roles.frontEndPool, 'users.peakOnline', plan.profiles),
  };
  let kbpsPerUser = figureOf(roles.bandwidth, 'bandwidth.kbpsPerUser', plan.profiles);
  const notes: string[] = [];
  for (const runDir of plan.fromRun) {
    const measured = measuredCapacity(runDir);
    notes.push(...measured.notes);
    if (measured.capacity) perServer[measured.capacity.role] = measured.capacity.sourced;
    if (measured.kbpsPerUser) kbpsPerUser = measured.kbpsPerUser;
  }
  return { perServer, kbpsPerUser, notes };
}

interface MeasuredCapacity {
  readonly capacity?: { readonly role: ServerRole; readonly sourced: Sourced };
  readonly kbpsPerUser?: Sourced;
  readonly notes: string[];
}

/**
 * A run given with --from-run must have measured a capacity (src/analysis/measured.ts: a step
 * search's knee, a "missed at N", or "met" at the documented figure); one that did not is
 * refused, since planning on a demo's peak would size a deployment on a load the run chose.
 * Its bandwidth is used only as a real-time figure (normalised when timeScale ≠ 1).
 */
export function measuredCapacity(runDir: string): MeasuredCapacity {
  const summaryPath = join(runDir, 'summary.json');
  if (!existsSync(summaryPath)) throw new PlanInputError(`${runDir}: no summary.json here (is it a run folder?)`);
  let summary: Summary;
  try {
    summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as Summary;
  } catch (error) {
    throw new PlanInputError(`${summaryPath}: not a summary (${(error as Error).message})`);
  }
  const role = roleOfProtocol(summary.target.protocol);
  const notes: string[] = [];
  const measured = measuredFigures(summary);
  let capacity: MeasuredCapacity['capacity'];
  if (!role) notes.push(`${runDir}: protocol ${summary.target.protocol} sizes no server role`);
  else if (!measured.capacity) {
    throw new PlanInputError(
      `${runDir} measured no server capacity: ${measured.capacityWhyNot}. A capacity comes only from a step search's knee, a "missed at N" with a healthy generator and host, or "met" at the documented figure (docs/capacity.md); plan without --from-run to use the documented figure`,
    );
  } else {
    capacity = { role, sourced: { value: measured.capacity.perServer, from: { kind: 'run', runDir, metric: measured.capacity.metric, note: measured.capacity.note } } };
  }
  let kbpsPerUser: Sourced | undefined;
  if (measured.bandwidth) {
    kbpsPerUser = { value: measured.bandwidth.kbpsPerUser, from: { kind: 'run', runDir, metric: measured.bandwidth.metric, note: measured.bandwidth.note } };
  } else notes.push(`${runDir}: bandwidth not used (${measured.bandwidthWhyNot}); the documented figure is used`);
  return { capacity, kbpsPerUser, notes };
}

/** One line naming where a number came from, for the table, the JSON and the HTML alike. */
export function describeProvenance(from: Provenance): string {
  switch (from.kind) {
    case 'profile':
      return `${from.profile} / ${from.figure}: “${from.wording}”`;
    case 'run':
      return `measured in ${from.runDir}: ${from.metric} (${from.note})`;
    case 'input':
      return `plan input ${from.name}`;
    case 'rule':
      return `${from.text} [${from.source}]`;
  }
}
