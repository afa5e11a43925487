/**
 * Where each per-server capacity and the per-user bandwidth come from: a figure of a limit
 * profile (with its id and wording) or a measured run (its folder and metric). Every number the
 * plan prints carries one of these, so a reader can check it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal } from '../metrics/journal.js';
import { findProfile } from '../scenarios/limits.js';
import type { LimitProfile } from '../scenarios/schema.js';
import type { Summary } from '../report/summary.js';
import { normaliseBandwidth } from './normalise.js';
import { PlanInputError, type PlanFile, type RoleProfiles } from './plan-input.js';

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

const ROLE_OF_PROTOCOL: Record<string, ServerRole> = { irc: 'chatServer', rvp: 'homeServer', sip: 'sipPool' };

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
    sipPool: figureOf(roles.sipPool, 'users.peakOnline', plan.profiles),
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
 * A run's peak online users is a capacity to plan with only if it held every SLO, the generator
 * was not the bottleneck and the run completed; even then it is a lower bound (the run asked for
 * no more). Its bandwidth is used as measured at timeScale 1, normalised otherwise.
 */
export function measuredCapacity(runDir: string): MeasuredCapacity {
  const summaryPath = join(runDir, 'summary.json');
  if (!existsSync(summaryPath)) throw new PlanInputError(`${runDir}: no summary.json here (is it a run folder?)`);
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as Summary;
  const role = ROLE_OF_PROTOCOL[summary.target.protocol];
  const notes: string[] = [];
  const failed = summary.thresholds.filter((t) => !t.ok).map((t) => t.name);
  const problems = [
    ...(failed.length > 0 ? [`SLOs broke (${failed.join('; ')})`] : []),
    ...(summary.generator.bottleneck ? ['the load generator was the bottleneck'] : []),
    ...(summary.end.reason !== 'completed' ? [`the run ended ${summary.end.reason}`] : []),
    ...(summary.users.peakOnline === 0 ? ['nobody was online'] : []),
  ];
  let capacity: MeasuredCapacity['capacity'];
  if (!role) notes.push(`${runDir}: protocol ${summary.target.protocol} sizes no server role`);
  else if (problems.length > 0) notes.push(`${runDir}: not used as a capacity: ${problems.join('; ')}`);
  else {
    capacity = {
      role,
      sourced: {
        value: summary.users.peakOnline,
        from: { kind: 'run', runDir, metric: 'users.peakOnline', note: 'peak online held within every SLO: a lower bound of one server’s capacity, not its ceiling' },
      },
    };
  }
  let kbpsPerUser: Sourced | undefined;
  if (summary.users.peakOnline > 0) {
    if (summary.timeScale === 1) {
      kbpsPerUser = { value: summary.bandwidth.kbpsPerUser, from: { kind: 'run', runDir, metric: 'bandwidth.kbpsPerUser', note: `wall-clock at timeScale 1 (${summary.bandwidth.window})` } };
    } else if (existsSync(join(runDir, 'journal.ndjson'))) {
      const normalised = normaliseBandwidth(readJournal(join(runDir, 'journal.ndjson')));
      kbpsPerUser = {
        value: normalised.normalisedKbpsPerUser,
        from: { kind: 'run', runDir, metric: 'bandwidth.normalisedKbpsPerUser', note: `normalised from timeScale ${summary.timeScale} (${normalised.method})` },
      };
    } else notes.push(`${runDir}: bandwidth at timeScale ${summary.timeScale} cannot be normalised without journal.ndjson; the documented figure is used`);
  }
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
