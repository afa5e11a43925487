/**
 * Starts a real Kamailio 5.6 on free loopback ports with a generated configuration
 * (kamailio-config.ts): UDP and TCP always, TLS with a CA made for the run when asked. The
 * server runs in the foreground (`-DD -E`), is ready once it answers an OPTIONS ping, and is
 * stopped by PID.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labTcpChildren, renderKamailioConfig, type KamailioPeers } from './lab-config.js';
import { freePort } from '../../lab/ports.js';
import { keepRunning, startForeground, which, type ForegroundProcess } from '../../lab/process.js';
import { createLabPki } from '../../lab/tls.js';
import { LabError, type LabContext, type LabDeploymentRole, type LabServer, type LabTarget } from '../../lab/types.js';
import { labBaseDir } from '../../lab/dirs.js';
import { distinctPids } from '../../lab/targets.js';

export interface KamailioLabOptions {
  /** UDP+TCP port (default: one free for both); TLS gets its own free port. */
  readonly port?: number;
  /** Parent of the run folder (config, log, ctl socket, certificates); default <tmp>/imload-lab. */
  readonly baseDir?: string;
  /** Let Kamailio outlive this process (`imload lab up`); it is then stopped by PID. */
  readonly keepAfterExit?: boolean;
  readonly host?: string;
  /** IM domain (default `lab.test`). */
  readonly domain?: string;
  /** Digest on: every user's password is this one (it reaches Kamailio through its environment only). */
  readonly password?: string;
  /** Also listen on TLS with a certificate made for this run. */
  readonly tls?: boolean;
  /** Shared memory MB (-m, default 1024 plus 40 KB per `users`: tm keeps every transaction for wait_timer, ~12 KB each, so a burst of 10k SUBSCRIBE+NOTIFY needs well over 128, and back-to-back bursts of 150 users × 20 contacts left a 512 MB Kamailio below the TLS module's free-memory threshold) and private memory per process MB (-M, default 16). */
  readonly shmMb?: number;
  readonly pkgMb?: number;
  /** UDP workers and TCP/TLS readers (default 2 each: the lab box has two cores). */
  readonly children?: number;
  readonly minExpires?: number;
  readonly maxExpires?: number;
  /** How long to wait for the OPTIONS answer (default 15 s). */
  readonly readyTimeoutMs?: number;
  /** Short name prefix for the LabServer objects (default `kamailio`). */
  readonly name?: string;
  /**
   * Users the run will register (each with ~20 subscriptions): sizes the default shared memory
   * and the hash tables, so a 100k pool neither runs out of shm nor walks 500-long bucket chains.
   */
  readonly users?: number;
  /** One of several federated pools: the others, and which users each holds. */
  readonly peers?: KamailioPeers;
}

/** Shared memory per user (binding, presentity, ~20 subscription dialogs and their tm traffic). */
const SHM_KB_PER_USER = 40;
const BASE_SHM_MB = 1024;

/** log2 of a hash table for `entries`, about `perBucket` to a bucket, within Kamailio's 2^12..2^16. */
function tablePower(entries: number, perBucket: number): number {
  return Math.min(16, Math.max(12, Math.ceil(Math.log2(Math.max(1, entries / perBucket)))));
}

/** Default -m: the 1024 MB base plus SHM_KB_PER_USER for each user the run asks for. */
export function kamailioShmMb(users = 0): number {
  return BASE_SHM_MB + Math.ceil((users * SHM_KB_PER_USER) / 1024);
}

export interface KamailioLab {
  readonly udp: LabServer;
  readonly tcp: LabServer;
  readonly tls?: LabServer;
  readonly domain: string;
  /** kamcmd -s address of the ctl socket: give it to the SIP target as options.ctl. */
  readonly ctl: string;
  /** CA the TLS certificate chains to (AgentTarget.tls.ca). */
  readonly caFile?: string;
  readonly dir: string;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

const PASSWORD_ENV = 'IMLOAD_SIP_PASSWORD';
const KIND = 'kamailio';

export async function startKamailio(options: KamailioLabOptions = {}): Promise<KamailioLab> {
  const binary = which('kamailio');
  if (binary === undefined) {
    throw new LabError('kamailio is not installed', KIND, "install the Debian packages 'kamailio kamailio-presence-modules kamailio-tls-modules' (imload lab install)");
  }
  const host = options.host ?? '127.0.0.1';
  const domain = options.domain ?? 'lab.test';
  const udpPort = options.port ?? (await freeUdpAndTcpPort(host));
  const baseDir = options.baseDir ?? labBaseDir();
  const dir = mkdtempSync(join(baseDir, `kamailio-${udpPort}-`));
  const ctl = `unixs:${join(dir, 'kamailio_ctl')}`;
  const tlsPort = options.tls ? await freePort(host) : undefined;
  const pki = options.tls ? await createLabPki({ dir, commonName: domain, ips: [host] }) : undefined;
  const children = options.children ?? 2;

  const configFile = join(dir, 'kamailio.cfg');
  writeFileSync(
    configFile,
    renderKamailioConfig({
      host,
      udpPort,
      tcpPort: udpPort,
      tls: pki && tlsPort !== undefined ? { port: tlsPort, certificateFile: pki.certificateFile, privateKeyFile: pki.privateKeyFile } : undefined,
      domain,
      ctl,
      passwordEnv: options.password !== undefined ? PASSWORD_ENV : undefined,
      authSecret: randomBytes(16).toString('hex'),
      children,
      tcpChildren: labTcpChildren(children, options.tls === true),
      // One connection per TCP/TLS user, within the 20,000 files the process may open.
      tcpMaxConnections: Math.min(19_000, Math.max(4096, (options.users ?? 0) + 100)),
      minExpires: options.minExpires ?? 10,
      maxExpires: options.maxExpires ?? 3600,
      tablePower: tablePower(options.users ?? 0, 4),
      subscriptionTablePower: tablePower((options.users ?? 0) * 20, 32),
      ...(options.peers ? { peers: options.peers } : {}),
    }),
    { mode: 0o600 },
  );

  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.password !== undefined) env[PASSWORD_ENV] = options.password;
  // -x tlsf: shared memory through TLSF (constant-time malloc and free) rather than the default qm.
  // With qm, a 100,000-user pool's ramp-down spent a third of a worker in qm_free once millions
  // of subscriptions had been freed, and Kamailio fell behind about 18,000 logoffs in; with TLSF
  // the same ramp-down ran at half a core (bench/RESULTS.md, "SIP pool ramp-down").
  const args = ['-DD', '-E', '-x', 'tlsf', '-m', String(options.shmMb ?? kamailioShmMb(options.users)), '-M', String(options.pkgMb ?? 16),
    '-f', configFile, '-w', dir, '-Y', dir, '--atexit=no'];
  const logFile = join(dir, 'kamailio.log');
  const server = startForeground(KIND, binary, args, logFile, { cwd: dir, env });
  try {
    await waitUntilReady(server, host, udpPort, options.readyTimeoutMs ?? 15_000);
  } catch (error) {
    await stopGroup(server);
    throw error;
  }

  const version = kamailioVersion(binary);
  if (options.keepAfterExit) keepRunning(server);
  else runningGroups.add(server.pid);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= stopGroup(server));
  const labServer = (transport: 'udp' | 'tcp' | 'tls', port: number): LabServer => ({
    kind: KIND,
    name: `${options.name ?? 'kamailio'}-${transport}`,
    host,
    port,
    url: `sip://${host}:${port};transport=${transport}`,
    pid: server.pid,
    dir,
    version,
    stop,
  });
  return {
    udp: labServer('udp', udpPort),
    tcp: labServer('tcp', udpPort),
    tls: tlsPort !== undefined ? labServer('tls', tlsPort) : undefined,
    domain,
    ctl,
    caFile: pki?.caFile,
    dir,
    pid: server.pid,
    logFile,
    stop,
  };
}

/**
 * Kamailio is a process tree: the main process forks the workers, all in the process group the
 * lab started (detached → pgid = main pid). Stopping only the main PID, or SIGKILLing it when
 * imload exits, leaves the workers orphaned and holding the ports, so the whole group is
 * signalled, by that group id only.
 */
const runningGroups = new Set<number>();
process.once('exit', () => {
  for (const group of runningGroups) signalGroup(group, 'SIGKILL');
});

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // ESRCH: the whole group is already gone.
  }
}

/** TERM to the main process (it stops its workers), then KILL to whatever is left of the group. */
async function stopGroup(server: ForegroundProcess): Promise<void> {
  // The process helper unrefs the child and its grace timer; this interval keeps imload alive
  // until Kamailio has really exited, or the caller's last `await stop()` would end the process.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    await server.stop(5000);
  } finally {
    clearInterval(keepAlive);
    signalGroup(server.pid, 'SIGKILL');
    runningGroups.delete(server.pid);
  }
}

/** One Kamailio process of a multi-process lab (kamailio-pool): started, ready, stoppable by its group. */
export interface KamailioProcess {
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
  /** SIGKILL to the whole process group (a crashed front end), without waiting. */
  kill(): void;
  readonly exited: Promise<number | string>;
}

/** Runs `kamailio` on a written configuration and waits for the OPTIONS answer on host:port (UDP). */
export async function runKamailioConfig(options: {
  readonly kind: string;
  readonly dir: string;
  readonly configFile: string;
  readonly host: string;
  readonly port: number;
  readonly shmMb: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly keepAfterExit?: boolean;
  readonly readyTimeoutMs?: number;
  readonly logName?: string;
}): Promise<KamailioProcess> {
  const binary = which('kamailio');
  if (binary === undefined) {
    throw new LabError('kamailio is not installed', options.kind, "install the Debian packages 'kamailio kamailio-presence-modules' (imload lab install)");
  }
  const args = ['-DD', '-E', '-x', 'tlsf', '-m', String(options.shmMb), '-M', '16', '-f', options.configFile, '-w', options.dir, '-Y', options.dir, '--atexit=no'];
  const logFile = join(options.dir, options.logName ?? 'kamailio.log');
  const server = startForeground(options.kind, binary, args, logFile, { cwd: options.dir, env: options.env ?? process.env });
  try {
    await waitUntilReady(server, options.host, options.port, options.readyTimeoutMs ?? 15_000);
  } catch (error) {
    await stopGroup(server);
    throw error;
  }
  if (options.keepAfterExit) keepRunning(server);
  else runningGroups.add(server.pid);
  let stopping: Promise<void> | undefined;
  return {
    pid: server.pid,
    logFile,
    exited: server.exited,
    stop: () => (stopping ??= stopGroup(server)),
    kill: () => signalGroup(server.pid, 'SIGKILL'),
  };
}

/** The installed Kamailio's version (`kamailio -v`). */
export function installedKamailioVersion(): string | undefined {
  const binary = which('kamailio');
  return binary === undefined ? undefined : kamailioVersion(binary);
}

/** A port free for both TCP and UDP, since Kamailio listens on both with one number. */
export async function freeUdpAndTcpPort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(host);
    if (await udpPortFree(host, port)) return port;
  }
  throw new LabError('no port free for both UDP and TCP after 20 tries', KIND);
}

function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/** Sends OPTIONS pings (every 200 ms, bounded by the timeout) until one is answered with 200. */
async function waitUntilReady(server: ForegroundProcess, host: string, port: number, timeoutMs: number): Promise<void> {
  const socket = createSocket('udp4');
  const deadline = Date.now() + timeoutMs;
  let answered = false;
  socket.on('message', (data) => {
    if (data.toString('latin1', 0, 12) === 'SIP/2.0 200 ') answered = true;
  });
  socket.on('error', () => undefined); // ICMP port unreachable while Kamailio is still starting
  let exited: number | string | undefined;
  void server.exited.then((code) => (exited = code));
  try {
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    const local = socket.address().port;
    for (let n = 1; Date.now() < deadline; n++) {
      if (answered) return;
      if (exited !== undefined) {
        throw new LabError(`kamailio exited (${exited}) during start-up:\n${server.tail()}`, KIND);
      }
      const ping =
        `OPTIONS sip:${host}:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${host}:${local};branch=z9hG4bKlabready${n}\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:lab@${host}>;tag=lab${n}\r\nTo: <sip:${host}:${port}>\r\n` +
        `Call-ID: labready${n}@${host}\r\nCSeq: ${n} OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      socket.send(ping, port, host);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (answered) return;
    throw new LabError(`kamailio did not answer OPTIONS within ${timeoutMs} ms:\n${server.tail()}`, KIND);
  } finally {
    socket.close();
  }
}

function kamailioVersion(binary: string): string | undefined {
  try {
    const output = execFileSync(binary, ['-v'], { encoding: 'utf8', timeout: 5000 });
    return /version:\s*kamailio\s+(\S+)/.exec(output)?.[1];
  } catch {
    return undefined;
  }
}

/** `lab: kamailio`: UDP, TCP and (when asked for) TLS; the target uses the transport it asked for (UDP by default). */
/** The scenarios' default user names (src/scenarios/schema.ts). */
const DEFAULT_NAME_PATTERN = 'u{index:6}';

/**
 * A pool of a deployment spread over sites (`imload plan --lab`), as Kamailio's peer routes: the
 * deployment's other servers (its `homes`, by the residues of the users they hold) and where a
 * user's number starts in its name.
 */
function federatedPeers(deployment: LabDeploymentRole, namePattern: string): KamailioPeers {
  const prefixLength = namePattern.indexOf('{index');
  if (prefixLength < 0) throw new LabError(`a federated pool needs numbered user names ({index} in the name pattern, got "${namePattern}")`, KIND);
  return {
    modulus: deployment.modulus,
    prefixLength,
    others: deployment.homes.filter((home) => home.url !== deployment.self).map((home) => {
      const url = new URL(home.url);
      return { address: `${url.hostname}:${url.port || 5060}`, residues: home.residues };
    }),
  };
}

export async function startKamailioLab(context: LabContext): Promise<LabTarget> {
  const transport = context.transport ?? 'udp';
  const lab = await startKamailio({
    domain: context.domain,
    password: context.password,
    tls: transport === 'tls',
    users: context.users,
    keepAfterExit: context.keep,
    // A network namespace's own address and port (`imload plan --lab`).
    ...(context.host !== undefined ? { host: context.host } : {}),
    ...(context.port !== undefined ? { port: context.port } : {}),
    ...(context.deployment ? { peers: federatedPeers(context.deployment, context.namePattern ?? DEFAULT_NAME_PATTERN) } : {}),
  });
  const server = transport === 'tls' ? lab.tls! : transport === 'tcp' ? lab.tcp : lab.udp;
  return {
    primary: { ...server, fdLimit: undefined },
    servers: [lab.udp, lab.tcp, ...(lab.tls ? [lab.tls] : [])],
    url: `${transport === 'tls' ? 'sips' : 'sip'}://${server.host}:${server.port}`,
    transport,
    domain: lab.domain,
    options: { ctl: lab.ctl },
    ca: lab.caFile,
    stop: () => lab.stop(),
    serverPids: () => distinctPids([lab.udp, lab.tcp]),
  };
}
