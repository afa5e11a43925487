/**
 * `lab: kamailio-pool`: a director, a dispatcher, N front ends sharing registrations over DMQ and
 * one presence server behind them, each its own Kamailio process on a free loopback port, UDP and
 * TCP (pool-config.ts has the configurations and why), and the director on TLS too when asked.
 * Users reach the director over any of them; the pool's own hops are UDP. Any of the processes
 * can be killed and restarted (`faults:`).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labTcpChildren, renderKamailioConfig } from './lab-config.js';
import { freeUdpAndTcpPort, installedKamailioVersion, kamailioShmMb, runKamailioConfig, type KamailioProcess } from './lab.js';
import { DEFAULT_FRONT_ENDS, poolServerNames, renderDirectorConfig, renderDispatcherConfig, renderDispatcherList, renderFrontEndConfig } from './pool-config.js';
import { labBaseDir } from '../../lab/dirs.js';
import { createLabPki } from '../../lab/tls.js';
import { freePort } from '../../lab/ports.js';
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
  /** A TLS listener on the director, with a throw-away CA (KamailioPoolLab.tls). */
  readonly tls?: boolean;
}

/** One Kamailio process of the pool, on one port for UDP and TCP. */
export interface PoolElement {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** kamcmd -s address. */
  readonly ctl: string;
  readonly dir: string;
  /** The process now (a restarted element has a new one). */
  pid(): number;
  stop(): Promise<void>;
  /** SIGKILL the element's whole process group (a crash), and wait until it has gone. */
  kill(): Promise<void>;
  /**
   * Start it again on the same port with the same configuration (a front end: DMQ resynchronises
   * its location table; the presence server comes back empty).
   */
  restart(): Promise<void>;
  running(): boolean;
}

export interface KamailioPoolLab {
  readonly director: PoolElement;
  readonly dispatcher: PoolElement;
  readonly frontEnds: readonly PoolElement[];
  readonly presence: PoolElement;
  /** Every element by its name (poolServerNames). */
  readonly elements: ReadonlyMap<string, PoolElement>;
  readonly domain: string;
  readonly dir: string;
  readonly version?: string;
  /** The director's TLS port and the CA its certificate chains to, when asked for. */
  readonly tls?: { readonly port: number; readonly caFile: string };
  stop(): Promise<void>;
}

const tablePower = (entries: number, perBucket: number): number =>
  Math.min(16, Math.max(12, Math.ceil(Math.log2(Math.max(1, entries / perBucket)))));

export async function startKamailioPool(options: KamailioPoolOptions = {}): Promise<KamailioPoolLab> {
  const count = options.frontEnds ?? DEFAULT_FRONT_ENDS;
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
  let tlsPort: number | undefined;
  while (options.tls && (tlsPort === undefined || ports.includes(tlsPort))) tlsPort = await freePort(host);
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
  /** Starts an element's written configuration; a kill and a restart run the same again. */
  const startElement = async (name: string, port: number, paths: { dir: string; ctl: string; configFile: string }, env?: NodeJS.ProcessEnv): Promise<PoolElement> => {
    let process = await run(name, port, paths.configFile, paths.dir, env);
    let up = true;
    return {
      name, host, port, ctl: paths.ctl, dir: paths.dir,
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
        process = await run(name, port, paths.configFile, paths.dir, env);
        up = true;
      },
    };
  };
  // The director holds a TCP connection per TCP user; the others only the pool's few.
  const tcp = { users: { children: labTcpChildren(2, tlsPort !== undefined), maxConnections: Math.max(4096, users + 1024) }, pool: { children: 1, maxConnections: 4096 } };

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
    const presenceServer = await startElement('presence', presencePort, presence);

    const frontEnds = await Promise.all(
      frontEndPorts.map(async (port, i) => {
        const name = `fe${i + 1}`;
        const fe = element(name);
        writeFileSync(
          fe.configFile,
          renderFrontEndConfig({
            host, port, domain, ctl: fe.ctl, children, tcp: tcp.pool, name,
            presence: { host, port: presencePort },
            peers: frontEndPorts.filter((other) => other !== port).map((other) => ({ host, port: other })),
            minExpires, maxExpires, tablePower: tablePower(users, 4),
          }),
          { mode: 0o600 },
        );
        return startElement(name, port, fe);
      }),
    );

    const dispatcher = element('dispatcher');
    const listFile = join(dispatcher.dir, 'dispatcher.list');
    writeFileSync(listFile, renderDispatcherList(frontEnds.map((fe) => ({ host, port: fe.port, name: fe.name }))));
    writeFileSync(
      dispatcher.configFile,
      renderDispatcherConfig({ host, port: dispatcherPort, domain, ctl: dispatcher.ctl, children, tcp: tcp.pool, listFile, pingIntervalS: options.pingIntervalS ?? 1 }),
      { mode: 0o600 },
    );
    const dispatcherServer = await startElement('dispatcher', dispatcherPort, dispatcher);

    const director = element('director');
    const pki = tlsPort !== undefined ? await createLabPki({ dir: director.dir, commonName: domain, ips: [host] }) : undefined;
    writeFileSync(
      director.configFile,
      renderDirectorConfig({
        host, port: directorPort, domain, ctl: director.ctl, children, tcp: tcp.users,
        dispatcher: { host, port: dispatcherPort },
        poolPorts: [...frontEndPorts, presencePort],
        passwordEnv: options.password !== undefined ? PASSWORD_ENV : undefined,
        authSecret: randomBytes(16).toString('hex'),
        tls: pki && tlsPort !== undefined ? { port: tlsPort, certificateFile: pki.certificateFile, privateKeyFile: pki.privateKeyFile } : undefined,
      }),
      { mode: 0o600 },
    );
    const env = options.password !== undefined ? { ...process.env, [PASSWORD_ENV]: options.password } : undefined;
    const directorServer = await startElement('director', directorPort, director, env);

    const all = [...frontEnds, presenceServer, dispatcherServer, directorServer];
    const elements = new Map(poolServerNames(count).map((name) => [name, all.find((e) => e.name === name)!]));
    let stopping: Promise<void> | undefined;
    return {
      director: directorServer,
      dispatcher: dispatcherServer,
      presence: presenceServer,
      frontEnds,
      elements,
      domain,
      dir,
      version: installedKamailioVersion(),
      ...(pki && tlsPort !== undefined ? { tls: { port: tlsPort, caFile: pki.caFile } } : {}),
      // Elements restarted since the start are in `started` too; stopping a stopped one is a no-op.
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** `lab: kamailio-pool`: the target reaches the director over UDP, TCP or TLS; the cross-check reads the front ends' location tables. */
export async function startKamailioPoolLab(context: LabContext): Promise<LabTarget> {
  const transport = context.transport ?? 'udp';
  const pool = await startKamailioPool({ domain: context.domain, password: context.password, users: context.users, keepAfterExit: context.keep, tls: transport === 'tls' });
  // The pool's own elements listen on UDP and TCP only: over TLS, only the director is reached so.
  const over = transport === 'tls' ? 'udp' : transport;
  const server = (element: PoolElement): LabServer => ({
    kind: KIND,
    name: `pool-${element.name}`,
    host: element.host,
    port: element.port,
    url: `sip://${element.host}:${element.port};transport=${over}`,
    pid: element.pid(),
    dir: element.dir,
    version: pool.version,
    stop: () => element.stop(),
  });
  const director: LabServer = pool.tls
    ? { ...server(pool.director), port: pool.tls.port, url: `sips://${pool.director.host}:${pool.tls.port}` }
    : server(pool.director);
  const named = (name: string | undefined): PoolElement => {
    const element = pool.elements.get(name ?? pool.frontEnds[0]!.name);
    if (element === undefined) throw new LabError(`the pool has no server "${name}" (servers: ${[...pool.elements.keys()].join(', ')})`, KIND);
    return element;
  };
  return {
    primary: director,
    servers: [director, server(pool.dispatcher), ...pool.frontEnds.map(server), server(pool.presence)],
    url: `${pool.tls ? 'sips' : 'sip'}://${director.host}:${director.port}`,
    transport,
    domain: pool.domain,
    ...(pool.tls ? { ca: pool.tls.caFile } : {}),
    options: { ctl: pool.frontEnds[0]!.ctl, poolCtl: pool.frontEnds.map((fe) => fe.ctl) },
    stop: () => pool.stop(),
    // `faults: [{ kill: <target>, server: fe2 }]` kills that element (SIGKILL, a crash) and
    // restarts it; without `server:` the first front end. A front end's users' bindings live on
    // in the others (dmq_usrloc), and the dispatcher fails over.
    outage: { servers: [...pool.elements.keys()], down: (name) => named(name).kill(), up: (name) => named(name).restart() },
    serverPids: () => [...pool.elements.values()].map((element) => element.pid()),
  };
}
