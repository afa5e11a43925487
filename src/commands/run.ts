/** `imload run`: load a scenario, apply overrides, (optionally) start lab servers, run, write outputs. */
import { mkdirSync, statSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { runScenario, RunStartError, type RunOptions, type RunResult } from '../engine/coordinator.js';
import { eachInstanceServers, serverIndexOf } from '../protocols/network.js';
import type { AgentTarget } from '../protocols/types.js';
import { createOutput, OutputSpecError, type Output, type OutputContext } from '../outputs/index.js';
import { EXIT, UserFacingError } from '../exit-codes.js';
import { loadScenario } from '../scenarios/module.js';
import { findProfile } from '../scenarios/limits.js';
import { shortContactLists } from '../scenarios/measures.js';
import { applyOverrides, type Overrides } from '../scenarios/overrides.js';
import { isLoopback, parseTargetUrl, resolveSecret, toAgentTarget } from '../scenarios/target.js';
import type { Scenario, Target } from '../scenarios/schema.js';
import { formatProgress, formatSummaryText } from '../report/text.js';
import { writeRunOutputs } from '../report/outputs.js';
import { loadRunJournal } from '../report/report-model.js';
import { startLabFor, type LabTarget } from '../lab/index.js';
import { IMLOAD_VERSION } from '../version.js';
import { probeTarget } from './probe.js';
import { claimRunFolder } from './run-folder.js';
import { loadProtocol } from '../protocols/registry.js';
import { summarizeRunFolder } from '../analysis/run-summary.js';
import { brokenInvariants, formatBrokenInvariants } from '../analysis/invariants.js';
import { buildTimeline } from '../scenarios/schedule.js';
import { LiveDashboard } from '../live/dashboard.js';
import { DashboardAddressError, parseDashboardAddress } from '../live/server.js';

export interface RunCommandOptions extends Overrides {
  readonly file: string;
  readonly scenario: string;
  readonly out?: string;
  /** Empty `out` first when it holds an earlier run (otherwise a non-empty folder is refused). */
  readonly overwrite?: boolean;
  /** Start the lab server named by the target's `lab:` and point the target at it. */
  readonly lab?: boolean;
  readonly allowRemote?: boolean;
  /** `i/N`: run only the i-th of N deterministic parts of the population (1-based). */
  readonly segment?: string;
  /** Start the run's clock at this epoch time (ms), e.g. the same for every segment. */
  readonly startAt?: number;
  /** A start gate's directory (engine/start-gate.ts): start once every run sharing it is ready. */
  readonly startGate?: string;
  /** Write events.ndjson.gz (default true). */
  readonly record?: boolean;
  /** Replay: this scenario (as recorded) instead of the file's, and the recording to re-issue. */
  readonly replay?: { readonly scenario: Scenario; readonly path: string; readonly speed: number };
  readonly quiet?: boolean;
  /** Live outputs, `kind=target` each (`--out prometheus=URL`, docs/outputs.md). */
  readonly outputs?: readonly string[];
  /** This run among the runs of one command (`--repeat`): the outputs' extra labels, a json file continued. */
  readonly outputContext?: OutputContext;
  /** For callers that stop the run themselves (tests); signals are handled when absent. */
  readonly signal?: AbortSignal;
  /** `--dashboard [host:port]`: serve the live page (true: loopback, a free port). */
  readonly dashboard?: string | boolean;
  /** Called with the live page's URL once it listens (tests); it is printed on stderr as well. */
  readonly onDashboard?: (url: string) => void;
}

export interface RunCommandResult {
  readonly exitCode: number;
  readonly runDir: string;
  readonly result: RunResult;
}

/** `--out kind=target` values as outputs; a bad one is the user's error (exit 2). */
export function createRunOutputs(specs: readonly string[] = [], context?: OutputContext): Output[] {
  try {
    return specs.map((spec) => createOutput(spec, context));
  } catch (error) {
    if (error instanceof OutputSpecError) throw new UserFacingError(error.message, EXIT.badInput);
    throw error;
  }
}

export async function runCommand(options: RunCommandOptions): Promise<RunCommandResult> {
  if (options.startAt !== undefined && options.startGate !== undefined) {
    throw new UserFacingError('--start-at and --start-gate both say when the clock starts: give one', EXIT.badInput);
  }
  if (options.startGate !== undefined && !statSync(options.startGate, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UserFacingError(`--start-gate ${options.startGate}: no such directory (the runs started together share one)`, EXIT.badInput);
  }
  const liveOutputs = createRunOutputs(options.outputs, options.outputContext);
  const loaded = await loadScenario(options.file);
  const base = loaded.config.scenarios[options.scenario];
  if (!base) {
    throw new UserFacingError(
      `${options.file}: no scenario named "${options.scenario}" (scenarios: ${Object.keys(loaded.config.scenarios).join(', ')})`,
      EXIT.badInput,
    );
  }
  const { scenario, targets } = applyOverrides(options.replay?.scenario ?? base, loaded.config.targets, options);
  const targetName = scenario.target;
  let target: Target = targets[targetName]!;
  const profile = scenario.limits ? findProfile(scenario.limits, loaded.config.profiles) : undefined;

  const segment = parseSegment(options.segment);
  const runId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}-${options.scenario}${segment.count > 1 ? `-seg${segment.index + 1}of${segment.count}` : ''}`;
  const runDir = resolve(options.out ?? join('reports', runId));
  // Before any server starts: a folder that already holds a run is refused at once.
  claimRunFolder(runDir, options.overwrite ?? false);
  const dashboardAddress = dashboardListen(options);

  let lab: LabTarget | undefined;
  let dashboard: LiveDashboard | undefined;
  try {
    if (options.lab && target.lab) {
      lab = await startLabFor(target.lab, {
        users: scenario.population.users,
        namePattern: scenario.population.namePattern,
        domain: target.domain,
        password: resolveSecret(target.password),
        // ircs://, sips:// and rvps:// ask for TLS as much as `transport: tls` does.
        transport: target.transport ?? (parseTargetUrl(target.url).tls ? 'tls' : undefined),
        servers: target.network?.servers ?? target.network?.urls?.length,
      });
      target = {
        ...target,
        url: lab.url,
        network: lab.urls ? { spread: 'range', channels: 'linked', ...target.network, urls: [...lab.urls] } : target.network,
        transport: lab.transport ?? target.transport,
        domain: lab.domain ?? target.domain,
        options: { ...lab.options, ...target.options },
        tls: lab.ca ? { ...target.tls, ca: lab.ca, insecure: target.tls?.insecure ?? false } : target.tls,
      };
    }
    const agentTarget = toAgentTarget(targetName, target, scenario.population.users);
    if (![agentTarget, ...(agentTarget.network?.endpoints ?? [])].every((e) => isLoopback(e.host)) && !options.allowRemote) {
      throw new UserFacingError(
        `target ${targetName} (${target.url}) is not on loopback: pass --allow-remote to send load to another host`,
        EXIT.badInput,
      );
    }
    // Secrets are checked here so a missing variable fails fast; workers resolve them again themselves.
    resolveSecret(target.password);
    if (scenario.population.password) resolveSecret(scenario.population.password, 'u1');
    const protocol = await loadProtocol(agentTarget.protocol);
    const problem = await probeTarget(agentTarget, protocol);
    if (problem) {
      throw new UserFacingError(`cannot reach target ${targetName} at ${agentTarget.host}:${agentTarget.port}: ${problem}`, EXIT.couldNotStart);
    }

    mkdirSync(runDir, { recursive: true });
    // Each-instance channels: a connection per server per user, so a worker holds 1/N as many users.
    const instances = eachInstanceServers(agentTarget.network);
    const perWorker = Math.max(1, Math.floor((protocol.usersPerWorker?.(agentTarget) ?? 10_000) / (instances ?? 1)));
    const segmentUsers = Math.ceil(scenario.population.users / segment.count);
    const workers = options.workers ?? scenario.workers ?? Math.max(1, Math.ceil(segmentUsers / perWorker));
    const server = lab?.primary;
    const shortContacts = shortContactLists(scenario);

    const controller = new AbortController();
    const signal = options.signal ?? controller.signal;
    let interrupts = 0;
    const onSignal = () => {
      interrupts++;
      if (interrupts === 1) {
        process.stderr.write('\nstopping: logging users off and writing outputs (press Ctrl-C again to quit at once)\n');
        controller.abort();
      } else {
        process.stderr.write('quitting at once; the journal keeps everything measured so far\n');
        process.exit(EXIT.interrupted);
      }
    };
    if (!options.signal) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    if (dashboardAddress) {
      dashboard = new LiveDashboard();
      const url = await dashboard.listen(dashboardAddress).catch((error: Error) => {
        throw new UserFacingError(`--dashboard: cannot listen on ${dashboardAddress.host}:${dashboardAddress.port}: ${error.message}`, EXIT.couldNotStart);
      });
      process.stderr.write(`imload: live page at ${url}\n`);
      options.onDashboard?.(url);
    }
    const progress = progressPrinter(options.quiet, buildTimeline(scenario).end / 1000);
    let result: RunResult;
    try {
      result = await runScenario({
        header: {
          runId,
          scenarioName: options.scenario,
          scenarioFile: resolve(options.file),
          scenarioText: loaded.text,
          scenario,
          seed: scenario.seed,
          target: { name: targetName, url: target.url, protocol: parseTargetUrl(target.url).protocol, ...(instances ? { eachInstance: { servers: instances } } : {}) },
          limits: profile ? { name: scenario.limits, ...profile } : undefined,
          segment,
          imloadVersion: IMLOAD_VERSION,
          command: reproduceCommand(options, scenario),
          host: { hostname: hostname(), cpus: cpus().length, memoryBytes: totalmem(), node: process.version },
          server: server ? { kind: server.kind, version: server.version, fdLimit: server.fdLimit } : undefined,
        },
        scenario,
        target: agentTarget,
        passwords: { target: target.password, population: scenario.population.password },
        workers,
        journalPath: join(runDir, 'journal.ndjson'),
        spreadSourceAddresses: isLoopback(agentTarget.host) && agentTarget.host.startsWith('127.'),
        onProgress: progress.print,
        signal,
        faults: options.replay ? [] : faultActions(scenario, targetName, lab, agentTarget.network),
        finalNotes: lab?.links ? () => linkTrafficNotes(lab!) : undefined,
        serverPids: lab?.serverPids,
        eventsPath: options.record === false ? undefined : join(runDir, 'events.ndjson.gz'),
        replay: options.replay ? { path: options.replay.path, speed: options.replay.speed } : undefined,
        scriptPath: loaded.scriptPath,
        // Judged on the scenario as run (after --users): the report shows it as a note.
        notes: shortContacts ? [{ key: 'scenario-contacts', text: shortContacts }] : [],
        startAt: options.startAt,
        startGate: options.startGate,
        outputs: [...liveOutputs, ...(dashboard ? [dashboard] : [])],
      });
    } catch (error) {
      if (error instanceof RunStartError) throw new UserFacingError(`the run could not start: ${error.message}`, EXIT.couldNotStart);
      throw error;
    } finally {
      progress.done();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    for (const o of result.outputs ?? []) {
      if (o.failed > 0) process.stderr.write(`imload: --out ${o.description}: ${o.failed} second(s) not delivered (${o.sent} delivered): ${o.error ?? 'unknown error'}\n`);
    }
    // The journal again, with every lost delivery explained from the events file.
    const journal = loadRunJournal(runDir);
    const summary = await summarizeRunFolder(runDir, journal?.entries);
    const model = await writeRunOutputs(runDir, summary, journal);
    // The live page shows the final report, then closes (its pages keep what they show).
    await dashboard?.finish(model);
    if (!options.quiet) process.stdout.write(`${formatSummaryText(summary, runDir)}\n`);
    const broken = brokenInvariants(summary.invariants);
    if (broken.length > 0) process.stderr.write(`imload: ${formatBrokenInvariants(broken)}\n`);
    const thresholdsOk = summary.thresholds.every((t) => t.ok);
    const exitCode =
      broken.length > 0 ? EXIT.internalError
      : result.reason === 'interrupted' ? EXIT.interrupted
      // Failures before the start are RunStartErrors; one during the run is imload's own.
      : result.reason === 'failed' ? EXIT.internalError
      : thresholdsOk ? EXIT.ok
      : EXIT.thresholdsFailed;
    return { exitCode, runDir, result: { ...result, summary } };
  } finally {
    await dashboard?.close();
    await lab?.stop();
  }
}

type FaultAction = NonNullable<RunOptions['faults']>[number];

/** How long a healed link may take to relink the network before the heal is journaled as failed. */
const HEAL_TIMEOUT_MS = 60_000;

/**
 * A netsplit: the link's proxy refuses and drops its connection for `for`; then the servers
 * relink by themselves. Journaled: the cut (the servers and users split off), and the heal (how
 * long after the link's return every server saw the whole network again).
 */
function netsplitActions(
  fault: Extract<Scenario['faults'][number], { netsplit: string }>,
  targetName: string,
  lab: LabTarget | undefined,
  network: AgentTarget['network'],
): FaultAction[] {
  const link = lab?.links?.find((l) => l.name === fault.link);
  if (fault.netsplit !== targetName || !lab?.links || !lab.waitWhole) {
    throw new UserFacingError(`faults: netsplit "${fault.netsplit}" must be the scenario's target, a network started by the lab (--lab, a lab network kind)`, EXIT.badInput);
  }
  if (!link) {
    throw new UserFacingError(`faults: the lab network has no link "${fault.link}" (links: ${lab.links.map((l) => l.name).join(', ') || 'none'})`, EXIT.badInput);
  }
  const waitWhole = lab.waitWhole.bind(lab);
  // The servers behind the cut link: the child and every server below it.
  const split = new Set([link.child]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const l of lab.links) if (split.has(l.parent) && !split.has(l.child)) grew = split.add(l.child) !== undefined;
  }
  let users = 0;
  const shape = network ? { spread: network.spread, users: network.users, servers: network.endpoints.length } : undefined;
  if (shape) for (let i = 0; i < shape.users; i++) if (split.has(serverIndexOf(i, shape))) users++;
  const servers = [...split].sort((a, b) => a - b);
  const serverNames = servers.map((i) => lab.servers[i]?.name ?? `#${i}`);
  const names = serverNames.join(', ');
  return [
    {
      atMs: fault.at,
      action: 'netsplit',
      target: `${fault.netsplit}/${fault.link}`,
      run: async () => {
        const dropped = link.proxy.cut(fault.for);
        const detail = `link ${fault.link} cut for ${fault.for} ms (${dropped} server connection${dropped === 1 ? '' : 's'} dropped): split off ${names} with ${users} user${users === 1 ? '' : 's'} of ${network?.users ?? '?'}`;
        // Without the network's shape (a target of one URL) nobody's side can be told: words only.
        return shape ? { detail, split: { link: fault.link, servers, serverNames, network: shape, users } } : detail;
      },
    },
    {
      atMs: fault.at + fault.for,
      action: 'heal',
      target: `${fault.netsplit}/${fault.link}`,
      run: async () => {
        const back = performance.now();
        await waitWhole(HEAL_TIMEOUT_MS);
        const relinkMs = Math.round(performance.now() - back);
        return { detail: `link ${fault.link} back; every server saw the whole network again ${relinkMs} ms later (the servers' own reconnect, every 2 s)`, relinkMs };
      },
    },
  ];
}

/** A lab network's server-to-server traffic, read from the counting proxy on each link. */
function linkTrafficNotes(lab: LabTarget): { key: string; text: string }[] {
  const links = lab.links ?? [];
  if (links.length === 0) return [];
  const parts = links.map((link) => {
    const s = link.proxy.stats();
    const parent = lab.servers[link.parent]?.name ?? `#${link.parent}`;
    const child = lab.servers[link.child]?.name ?? `#${link.child}`;
    return `${link.name}: ${child}→${parent} ${s.upstreamBytes} B, ${parent}→${child} ${s.downstreamBytes} B (${s.accepted} connection${s.accepted === 1 ? '' : 's'}, ${s.dropped} dropped)`;
  });
  return [
    {
      key: 'network-links',
      text: `server-to-server traffic on each link of the lab network, counted by a proxy on the link from the lab's start to the run's end (the servers' initial burst included): ${parts.join('; ')}`,
    },
  ];
}

function dashboardListen(options: RunCommandOptions) {
  if (options.dashboard === undefined || options.dashboard === false) return undefined;
  try {
    return parseDashboardAddress(options.dashboard, options.allowRemote);
  } catch (error) {
    if (error instanceof DashboardAddressError) throw new UserFacingError(error.message, EXIT.badInput);
    throw error;
  }
}

/** The scenario's `faults:` as actions on the lab server that provides the target. */
function faultActions(scenario: Scenario, targetName: string, lab: LabTarget | undefined, network?: AgentTarget['network']) {
  return scenario.faults.flatMap((fault): FaultAction[] => {
    if ('netsplit' in fault) return netsplitActions(fault, targetName, lab, network);
    if (fault.kill !== targetName || !lab?.outage) {
      throw new UserFacingError(
        `faults: "${fault.kill}" must be the scenario's target, started by the lab (--lab) with a server that can be restarted (InspIRCd without TLS, ngIRCd, a kamailio-pool's front end)`,
        EXIT.badInput,
      );
    }
    const outage = lab.outage;
    // A lab of several servers: the one named (validate checked the name against the lab kind), else its first.
    const server = fault.server ?? outage.servers?.[0];
    if (server !== undefined && !outage.servers?.includes(server)) {
      throw new UserFacingError(`faults: the lab for "${fault.kill}" has no server "${server}" to kill (servers: ${outage.servers?.join(', ') ?? 'only its one'})`, EXIT.badInput);
    }
    const target = server === undefined ? fault.kill : `${fault.kill}/${server}`;
    const kill = { atMs: fault.at, action: 'kill' as const, target, run: () => outage.down(server) };
    if (fault.restartAfter === undefined) return [kill];
    return [kill, { atMs: fault.at + fault.restartAfter, action: 'restart' as const, target, run: () => outage.up(server) }];
  });
}

function reproduceCommand(options: RunCommandOptions, scenario: Scenario): string {
  const parts = ['imload run', options.file, '-s', options.scenario, '--seed', String(scenario.seed)];
  if (options.users !== undefined) parts.push('--users', String(options.users));
  if (options.duration !== undefined) parts.push('--duration', String(options.duration));
  if (options.timeScale !== undefined) parts.push('--time-scale', String(options.timeScale));
  for (const t of options.targets ?? []) parts.push('--target', t);
  if (options.lab) parts.push('--lab');
  if (options.segment) parts.push('--segment', options.segment);
  return parts.join(' ');
}

/** `i/N` (1-based) → { index: i-1, count: N }; every user belongs to exactly one segment. */
export function parseSegment(text: string | undefined): { index: number; count: number } {
  if (text === undefined) return { index: 0, count: 1 };
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) {
    throw new UserFacingError(`--segment: expected i/N with 1 ≤ i ≤ N, like 2/3 (got "${text}")`, EXIT.badInput);
  }
  return { index: index - 1, count };
}

function progressPrinter(quiet: boolean | undefined, plannedSeconds: number) {
  const tty = process.stderr.isTTY;
  let lastPlain = 0;
  return {
    print: quiet
      ? undefined
      : (p: Parameters<typeof formatProgress>[0]) => {
          if (tty) process.stderr.write(`\r\x1b[2K${formatProgress(p, plannedSeconds)}`);
          else if (p.t - lastPlain >= 10 || p.t === 1) {
            lastPlain = p.t;
            process.stderr.write(`${formatProgress(p, plannedSeconds)}\n`);
          }
        },
    done: () => {
      if (tty && !quiet) process.stderr.write('\n');
    },
  };
}
