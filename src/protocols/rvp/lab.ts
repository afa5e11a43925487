/**
 * Starts our reference RVP server (src/protocols/rvp/server) as separate OS processes on loopback: one
 * `combined` server, or one router plus N home servers splitting the users into index ranges.
 * Each is ready once it printed `rvp-server listening on http(s)://HOST:PORT`; each stops by PID.
 * The password reaches the servers through an environment variable, never argv. With `tls` the
 * entry server (combined, or the router) serves HTTPS with a certificate from a CA made for the
 * run; home servers behind a router stay on HTTP inside the lab.
 */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryPoint } from '../../runtime.js';
import { freePort } from '../../lab/ports.js';
import { createLabPki } from '../../lab/tls.js';
import { startForeground, type ForegroundProcess, keepRunning } from '../../lab/process.js';
import { LabError, type LabContext, type LabDeploymentRole, type LabServer, type LabTarget } from '../../lab/types.js';
import { distinctPids } from '../../lab/targets.js';

const MAIN = entryPoint(new URL('./server/main.js', import.meta.url));
const PASSWORD_ENV = 'IMLOAD_RVP_LAB_PASSWORD';
const READY = /rvp-server listening on (https?:\/\/\S+)/;
/** The documented home-server size (exchange2000-im), used to size a routed lab. */
const USERS_PER_HOME = 10_000;

export interface RvpLabOptions {
  /** `combined` (one box) or `routed` (a router plus `homes` home servers). Default combined. */
  readonly topology?: 'combined' | 'routed';
  /**
   * Home servers behind the router (routed only). Default: one per 10,000 users, at least 2 —
   * "Deploy one Instant Messaging home server per 10,000 concurrent users" (limits.md).
   */
  readonly homes?: number;
  readonly domain?: string;
  /** User-name pattern (default `u{index:6}`) and count (default 1000). */
  readonly userPattern?: string;
  readonly userCount?: number;
  /**
   * The number the first user's name carries (default 0: u000000). Scenarios number users
   * from 1 (u000001 is user 0), so labs started for a scenario pass 1.
   */
  readonly firstNumber?: number;
  /** Shared password; authentication is off when undefined. */
  readonly password?: string;
  readonly host?: string;
  /** Extra server flags, e.g. `['--max-inbound', '64']`. */
  readonly extraArgs?: readonly string[];
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  /** Serve rvps:// (HTTPS) at the entry server. */
  readonly tls?: boolean;
}

export interface RvpLab {
  /** Where clients connect: the router, or the combined server. */
  readonly entry: LabServer;
  readonly router?: LabServer;
  readonly homes: readonly LabServer[];
  readonly all: readonly LabServer[];
  readonly dir: string;
  /** With `tls`: the CA the entry server's certificate chains to (AgentTarget.tls.ca). */
  readonly caFile?: string;
  stop(): Promise<void>;
}

export async function startRvpLab(options: RvpLabOptions = {}): Promise<RvpLab> {
  const host = options.host ?? '127.0.0.1';
  const domain = options.domain ?? 'im.example.com';
  const userCount = options.userCount ?? 1000;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'imload-rvp-'));
  const common = [
    '--domain', domain, '--host', host,
    '--users', options.userPattern ?? 'u{index:6}', '--user-count', String(userCount),
    '--first-number', String(options.firstNumber ?? 0),
    ...(options.password === undefined ? ['--no-auth'] : ['--password-env', PASSWORD_ENV]),
    ...(options.extraArgs ?? []),
  ];
  const env = { ...process.env, [PASSWORD_ENV]: options.password ?? '' };
  const timeout = options.readyTimeoutMs ?? 20_000;
  const started: LabServer[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((server) => server.stop()));
  };
  try {
    const pki = options.tls ? await createLabPki({ dir, commonName: 'rvp.imload.lab', ips: [host] }) : undefined;
    const tlsArgs = pki ? ['--tls-cert', pki.certificateFile, '--tls-key', pki.privateKeyFile] : [];
    if ((options.topology ?? 'combined') === 'combined') {
      const port = await freePort(host);
      const server = await startOne('rvp-combined', 'rvp', dir, ['--role', 'combined', '--port', String(port), ...tlsArgs, ...common], env, timeout);
      started.push(server);
      return { entry: server, homes: [server], all: started, dir, caFile: pki?.caFile, stop: stopAll };
    }
    const homeCount = options.homes ?? Math.max(2, Math.ceil(userCount / USERS_PER_HOME));
    if (!Number.isInteger(homeCount) || homeCount < 1 || homeCount > 16) throw new LabError(`homes must be 1..16, got ${homeCount}`, 'rvp-router');
    const ports: number[] = [];
    for (let i = 0; i < homeCount; i++) ports.push(await freePort(host));
    const per = Math.ceil(userCount / homeCount);
    const homeArgs = ports.map((port, i) => `--home=${i * per}-${Math.min(userCount, (i + 1) * per) - 1}=http://${host}:${port}`);
    const homes = await Promise.all(
      ports.map((port, i) =>
        startOne('rvp-home', `rvp-home${i + 1}`, dir, ['--role', 'home', '--port', String(port), '--self-url', `http://${host}:${port}`, ...homeArgs, ...common], env, timeout),
      ),
    );
    started.push(...homes);
    const router = await startOne('rvp-router', 'rvp-router', dir, ['--role', 'router', '--port', String(await freePort(host)), ...tlsArgs, ...homeArgs, ...common], env, timeout);
    started.push(router);
    return { entry: router, router, homes, all: started, dir, caFile: pki?.caFile, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function startOne(kind: string, name: string, dir: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<LabServer> {
  const logFile = join(dir, `${name}.log`);
  const child = startForeground(kind, process.execPath, [...MAIN.execArgv, MAIN.file, ...args], logFile, { env });
  const url = await waitForReady(child, logFile, kind, timeoutMs);
  const parsed = new URL(url);
  return {
    kind,
    name,
    host: parsed.hostname,
    port: Number(parsed.port),
    url: `${parsed.protocol === 'https:' ? 'rvps' : 'rvp'}://${parsed.host}`,
    pid: child.pid,
    dir,
    version: 'imload-rvp',
    stop: () => {
      // startForeground unrefs the child and its grace timer; hold the event loop until the
      // exit is reaped, or a caller awaiting stop() can be left with an empty loop.
      child.child.ref();
      return child.stop();
    },
    keep: () => keepRunning(child),
  };
}

/** Watches the log for the ready line; bounded by `timeoutMs` and by the process exiting. */
async function waitForReady(server: ForegroundProcess, logFile: string, kind: string, timeoutMs: number): Promise<string> {
  let exited: number | string | undefined;
  void server.exited.then((code) => {
    exited = code;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = existsSync(logFile) ? READY.exec(readFileSync(logFile, 'utf8')) : null;
    if (match) return match[1]!;
    if (exited !== undefined) throw new LabError(`${kind} exited (${exited}) before it was ready:\n${server.tail()}`, kind);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await server.stop();
  throw new LabError(`${kind} not ready after ${timeoutMs} ms:\n${server.tail()}`, kind, 'see the log in the lab folder');
}

/** `lab: rvp` (one combined server) and `lab: rvp-cluster` (a router and home servers), provisioned with the scenario's users. */
export async function startRvpLabFor(topology: 'combined' | 'routed', context: LabContext): Promise<LabTarget> {
  if (context.deployment) return startDeploymentServer(context, context.deployment);
  const lab = await startRvpLab({
    topology,
    homes: context.homes,
    domain: context.domain,
    userPattern: context.namePattern,
    // The scenario's names: user 0 is u000001 (src/scenarios/schedule.ts userName).
    firstNumber: 1,
    userCount: context.users,
    password: context.password,
    tls: context.transport === 'tls',
  });
  if (context.keep) for (const server of lab.all) server.keep?.();
  return {
    primary: lab.entry,
    servers: lab.all,
    url: lab.entry.url,
    transport: lab.caFile ? 'tls' : undefined,
    ca: lab.caFile,
    domain: context.domain ?? 'im.example.com',
    stop: () => lab.stop(),
    serverPids: () => distinctPids(lab.all),
  };
}

/**
 * One server of a deployment spread over network namespaces (imload plan --lab): a home server
 * for the users of some segments, the router referring every user to its home, or one combined
 * server. It listens on the namespace's address; its peers are trusted by the home map.
 */
async function startDeploymentServer(context: LabContext, deployment: LabDeploymentRole): Promise<LabTarget> {
  const host = context.host ?? '127.0.0.1';
  const port = context.port ?? (await freePort(host));
  const dir = mkdtempSync(join(tmpdir(), 'imload-rvp-'));
  const homeArgs = deployment.homes.map((home) => `--home=mod=${deployment.modulus}:${home.residues.join('+')}=${home.url}`);
  const args = [
    '--role', deployment.role, '--host', host, '--port', String(port),
    '--domain', context.domain ?? 'im.example.com',
    '--users', context.namePattern ?? 'u{index:6}', '--user-count', String(context.users ?? 1000), '--first-number', '1',
    ...(context.password === undefined ? ['--no-auth'] : ['--password-env', PASSWORD_ENV]),
    ...(deployment.role === 'combined' ? [] : homeArgs),
    ...(deployment.self === undefined ? [] : ['--self-url', deployment.self]),
  ];
  const server = await startOne(`rvp-${deployment.role}`, `rvp-${deployment.role}`, dir, args, { ...process.env, [PASSWORD_ENV]: context.password ?? '' }, 20_000);
  return {
    primary: server,
    servers: [server],
    url: server.url,
    domain: context.domain ?? 'im.example.com',
    stop: () => server.stop(),
    serverPids: () => [server.pid],
  };
}
