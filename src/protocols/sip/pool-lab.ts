/**
 * `lab: kamailio-pool`: a director, a dispatcher, N front ends sharing registrations over DMQ and
 * one presence server behind them, each its own Kamailio process on free loopback UDP ports
 * (pool-config.ts has the configurations and why). UDP only.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderKamailioConfig } from './lab-config.js';
import { freeUdpAndTcpPort, installedKamailioVersion, kamailioShmMb, runKamailioConfig, type KamailioProcess } from './lab.js';
import { renderDirectorConfig, renderDispatcherConfig, renderDispatcherList, renderFrontEndConfig } from './pool-config.js';
import { labBaseDir } from '../../lab/dirs.js';
import { LabError, type LabContext, type LabServer, type LabTarget } from '../../lab/types.js';

const KIND = 'kamailio-pool';
const PASSWORD_ENV = 'IMLOAD_SIP_PASSWORD';

export interface KamailioPoolOptions {
  /** Front ends in the pool (default 2). */
  readonly frontEnds?: number;
  readonly domain?: string;
  /** Digest at the director; every user's password. */
  readonly password?: string;
  readonly users?: number;
  readonly keepAfterExit?: boolean;
  readonly baseDir?: string;
  /** Dispatcher OPTIONS probe interval in seconds (default 1). */
  readonly pingIntervalS?: number;
  readonly minExpires?: number;
  readonly maxExpires?: number;
}

export interface PoolElement {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** kamcmd -s address. */
  readonly ctl: string;
  readonly dir: string;
  /** The process now (a restarted front end has a new one). */
  pid(): number;
  stop(): Promise<void>;
}

export interface PoolFrontEnd extends PoolElement {
  /** SIGKILL the front end's whole process group (a crash), and wait until it has gone. */
  kill(): Promise<void>;
  /** Start it again on the same port with the same configuration (DMQ resynchronises its location table). */
  restart(): Promise<void>;
  running(): boolean;
}

export interface KamailioPoolLab {
  readonly director: PoolElement;
  readonly dispatcher: PoolElement;
  readonly frontEnds: readonly PoolFrontEnd[];
  readonly presence: PoolElement;
  readonly domain: string;
  readonly dir: string;
  readonly version?: string;
  stop(): Promise<void>;
}

const tablePower = (entries: number, perBucket: number): number =>
  Math.min(16, Math.max(12, Math.ceil(Math.log2(Math.max(1, entries / perBucket)))));

export async function startKamailioPool(options: KamailioPoolOptions = {}): Promise<KamailioPoolLab> {
  const count = options.frontEnds ?? 2;
  if (count < 1) throw new LabError('a pool needs at least one front end', KIND);
  const host = '127.0.0.1';
  const domain = options.domain ?? 'lab.test';
  const users = options.users ?? 0;
  const dir = mkdtempSync(join(options.baseDir ?? labBaseDir(), 'kamailio-pool-'));
  // Shared memory: the presence server holds what the single-server lab does (every user's
  // presentity and ~20 subscription dialogs); the others hold bindings (front ends) and, all of
  // them, transactions for tm's wait timer — ~500 MiB at the director in a 100 logons/s ramp
  // (10,000 users in 256 + 40 KB each ran the presence server out of it: bench/RESULTS.md).
  const shmMbFor = (name: string): number => (name === 'presence' ? kamailioShmMb(users) : 1024 + Math.ceil((users * 10) / 1024));
  const children = 2;
  const minExpires = options.minExpires ?? 10;
  const maxExpires = options.maxExpires ?? 3600;

  // Every port first: the front ends name each other (DMQ), the director names all of them.
  const ports: number[] = [];
  while (ports.length < count + 3) {
    const port = await freeUdpAndTcpPort(host);
    if (!ports.includes(port)) ports.push(port);
  }
  const [directorPort, dispatcherPort, presencePort, ...frontEndPorts] = ports as [number, number, number, ...number[]];
  const element = (name: string): { dir: string; ctl: string; configFile: string } => {
    const elementDir = join(dir, name);
    mkdirSync(elementDir, { recursive: true });
    return { dir: elementDir, ctl: `unixs:${join(elementDir, 'kamailio_ctl')}`, configFile: join(elementDir, 'kamailio.cfg') };
  };

  const started: KamailioProcess[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.map((process) => process.stop()));
  };
  const run = async (name: string, port: number, configFile: string, elementDir: string, env?: NodeJS.ProcessEnv): Promise<KamailioProcess> => {
    const process = await runKamailioConfig({ kind: KIND, dir: elementDir, configFile, host, port, shmMb: shmMbFor(name), env, keepAfterExit: options.keepAfterExit });
    started.push(process);
    return process;
  };

  try {
    // The presence server: the single-server configuration, no Digest.
    const presence = element('presence');
    writeFileSync(
      presence.configFile,
      renderKamailioConfig({
        host, udpPort: presencePort, tcpPort: presencePort, domain, ctl: presence.ctl, authSecret: randomBytes(16).toString('hex'),
        children, tcpChildren: 1, tcpMaxConnections: 4096, minExpires, maxExpires,
        tablePower: tablePower(users, 4), subscriptionTablePower: tablePower(users * 20, 32),
      }),
      { mode: 0o600 },
    );
    const presenceProcess = await run('presence', presencePort, presence.configFile, presence.dir);

    const frontEnds: PoolFrontEnd[] = [];
    const frontEndStarts = frontEndPorts.map(async (port, i) => {
      const name = `fe${i + 1}`;
      const fe = element(name);
      writeFileSync(
        fe.configFile,
        renderFrontEndConfig({
          host, port, domain, ctl: fe.ctl, children, name,
          presence: { host, port: presencePort },
          peers: frontEndPorts.filter((other) => other !== port).map((other) => ({ host, port: other })),
          minExpires, maxExpires, tablePower: tablePower(users, 4),
        }),
        { mode: 0o600 },
      );
      let process = await run(name, port, fe.configFile, fe.dir);
      let up = true;
      frontEnds[i] = {
        name, host, port, ctl: fe.ctl, dir: fe.dir,
        pid: () => process.pid,
        running: () => up,
        stop: () => process.stop(),
        kill: async () => {
          up = false;
          process.kill();
          await process.exited;
        },
        restart: async () => {
          await process.stop();
          process = await run(name, port, fe.configFile, fe.dir);
          up = true;
        },
      };
    });
    await Promise.all(frontEndStarts);

    const dispatcher = element('dispatcher');
    const listFile = join(dispatcher.dir, 'dispatcher.list');
    writeFileSync(listFile, renderDispatcherList(frontEnds.map((fe) => ({ host, port: fe.port, name: fe.name }))));
    writeFileSync(
      dispatcher.configFile,
      renderDispatcherConfig({ host, port: dispatcherPort, domain, ctl: dispatcher.ctl, children, listFile, pingIntervalS: options.pingIntervalS ?? 1 }),
      { mode: 0o600 },
    );
    const dispatcherProcess = await run('dispatcher', dispatcherPort, dispatcher.configFile, dispatcher.dir);

    const director = element('director');
    writeFileSync(
      director.configFile,
      renderDirectorConfig({
        host, port: directorPort, domain, ctl: director.ctl, children,
        dispatcher: { host, port: dispatcherPort },
        poolPorts: [...frontEndPorts, presencePort],
        passwordEnv: options.password !== undefined ? PASSWORD_ENV : undefined,
        authSecret: randomBytes(16).toString('hex'),
      }),
      { mode: 0o600 },
    );
    const env = options.password !== undefined ? { ...process.env, [PASSWORD_ENV]: options.password } : undefined;
    const directorProcess = await run('director', directorPort, director.configFile, director.dir, env);

    const fixed = (name: string, port: number, paths: { dir: string; ctl: string }, process: KamailioProcess): PoolElement => ({
      name, host, port, ctl: paths.ctl, dir: paths.dir, pid: () => process.pid, stop: () => process.stop(),
    });
    let stopping: Promise<void> | undefined;
    return {
      director: fixed('director', directorPort, director, directorProcess),
      dispatcher: fixed('dispatcher', dispatcherPort, dispatcher, dispatcherProcess),
      presence: fixed('presence', presencePort, presence, presenceProcess),
      frontEnds,
      domain,
      dir,
      version: installedKamailioVersion(),
      // Front ends restarted since the start are in `started` too; stopping a stopped one is a no-op.
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** `lab: kamailio-pool`: the target reaches the director over UDP; the cross-check reads the front ends' location tables. */
export async function startKamailioPoolLab(context: LabContext): Promise<LabTarget> {
  if (context.transport !== undefined && context.transport !== 'udp') {
    throw new LabError(`the kamailio-pool lab is UDP only (asked for ${context.transport})`, KIND);
  }
  const pool = await startKamailioPool({ domain: context.domain, password: context.password, users: context.users, keepAfterExit: context.keep });
  const server = (element: PoolElement): LabServer => ({
    kind: KIND,
    name: `pool-${element.name}`,
    host: element.host,
    port: element.port,
    url: `sip://${element.host}:${element.port};transport=udp`,
    pid: element.pid(),
    dir: element.dir,
    version: pool.version,
    stop: () => element.stop(),
  });
  const director = server(pool.director);
  return {
    primary: director,
    servers: [director, server(pool.dispatcher), ...pool.frontEnds.map(server), server(pool.presence)],
    url: `sip://${director.host}:${director.port}`,
    transport: 'udp',
    domain: pool.domain,
    options: { ctl: pool.frontEnds[0]!.ctl, poolCtl: pool.frontEnds.map((fe) => fe.ctl) },
    stop: () => pool.stop(),
    // `faults: [{ kill: <target> }]` kills the first front end (SIGKILL, a crash) and restarts it:
    // its users' bindings live on in the other front ends (dmq_usrloc), the dispatcher fails over.
    outage: { down: () => pool.frontEnds[0]!.kill(), up: () => pool.frontEnds[0]!.restart() },
    serverPids: () => [pool.director, pool.dispatcher, ...pool.frontEnds, pool.presence].map((element) => element.pid()),
  };
}
