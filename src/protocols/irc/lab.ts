/** Starts InspIRCd and ngIRCd on a free loopback port with a generated load-test config. */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LineBuffer, parseLine } from './codec.js';
import { freePort } from '../../lab/ports.js';
import { keepRunning, readFdLimit, startForeground, waitUntilReady, which, type ForegroundProcess } from '../../lab/process.js';
import { LusersObserver } from './lusers.js';
import { inspircdConfig, ngircdConfig, type ConnectThrottle, type SpanningTreeConfig } from './lab-config.js';
import { startLinkProxy, type LinkProxy } from '../../faults/link-proxy.js';
import { randomBytes } from 'node:crypto';
import { createLabPki } from '../../lab/tls.js';
import { LabError, type LabContext, type LabServer, type LabTarget } from '../../lab/types.js';
import { labBaseDir } from '../../lab/dirs.js';
import { restartable } from '../../lab/targets.js';

export interface IrcLabOptions {
  readonly port?: number;
  readonly maxClients?: number;
  /** How long to wait for the server to accept a registration. */
  readonly readyTimeoutMs?: number;
  readonly baseDir?: string;
  /** InspIRCd only: listen address (default 127.0.0.1), a namespace's own when it runs in one (netns.ts). */
  readonly host?: string;
  /** InspIRCd only: the client addresses admitted (CIDR), default 127.0.0.0/8. */
  readonly allow?: string;
}

export interface InspircdLabOptions extends IrcLabOptions {
  /** Also listen for TLS clients, with a CA and certificate made for this run. */
  readonly tls?: boolean;
  /** Require this connect password (PASS) from every client. */
  readonly password?: string;
  /** Pace registrations with a server-wide connect throttle (for tests of adaptive logon). */
  readonly throttle?: ConnectThrottle;
  /** One server of a linked network (startInspircdNetwork). */
  readonly link?: SpanningTreeConfig;
  /** Short name (`imload lab status`), default `insp`. */
  readonly name?: string;
}

/** An InspIRCd lab server; `tls` is set when it was started with a TLS listener. */
export interface InspircdLabServer extends LabServer {
  readonly tls?: { readonly port: number; readonly url: string; readonly caFile: string };
}

/** `lab: inspircd`: TLS and a connect password only when asked for (plain IRC without PASS stays the default). */
export async function startInspircdLab(context: LabContext): Promise<LabTarget> {
  const tls = context.transport === 'tls';
  const where = { host: context.host, allow: context.allow };
  const server = await startInspircd({ tls, password: context.password, port: context.port, ...where });
  if (context.keep) server.keep?.();
  const primary = server.tls ? { ...server, port: server.tls.port, url: server.tls.url } : server;
  return {
    primary,
    servers: [server],
    url: primary.url,
    transport: tls ? 'tls' : undefined,
    ca: server.tls?.caFile,
    // A TLS listener gets a fresh port and certificate on each start, so only plain IRC restarts.
    ...(tls ? { stop: () => server.stop(), serverPids: () => [server.pid] } : restartable(server, (port) => startInspircd({ password: context.password, port, ...where }))),
  };
}

/**
 * `lab: inspircd-network`: `context.servers` InspIRCd servers (default 3) linked in a tree over
 * loopback, each with its own client port; the target's users are spread over `urls`.
 */
export async function startInspircdNetworkLab(context: LabContext): Promise<LabTarget> {
  if (context.transport === 'tls') throw new LabError('the InspIRCd network lab has no TLS listeners yet: use irc://', 'inspircd-network');
  if (context.host !== undefined) throw new LabError('the InspIRCd network lab runs on loopback only (no network namespaces)', 'inspircd-network');
  if (context.keep) {
    // The links run through proxies in this process: the network cannot outlive it.
    throw new LabError('the InspIRCd network lab lives only as long as its run (its links go through proxies inside imload): use imload run --lab', 'inspircd-network');
  }
  const network = await startInspircdNetwork({ servers: context.servers ?? 3, password: context.password });
  const primary = network.servers[0]!;
  return {
    primary,
    servers: network.servers,
    url: primary.url,
    urls: network.servers.map((s) => s.url),
    links: network.links,
    waitWhole: (timeoutMs) => waitForNetwork(network.servers, network.servers.length, timeoutMs, context.password),
    stop: () => network.stop(),
    serverPids: () => network.servers.map((s) => s.pid),
  };
}

/** A server-to-server link of a lab network, carried by a counting proxy imload owns. */
export interface NetworkLink {
  /** e.g. `s1-s2`: the parent's and the child's short names. */
  readonly name: string;
  /** Index of the parent (the server dialled) and of the child (the dialler) in `servers`. */
  readonly parent: number;
  readonly child: number;
  readonly proxy: LinkProxy;
}

export interface InspircdNetwork {
  readonly servers: readonly InspircdLabServer[];
  readonly links: readonly NetworkLink[];
  stop(): Promise<void>;
}

/** The tree's shape: server i (from 1) links to server ⌊(i−1)/2⌋ (a binary tree rooted at 0). */
export function parentOf(index: number): number {
  return Math.floor((index - 1) / 2);
}

/**
 * Starts `servers` InspIRCd processes linked in a tree (module spanningtree). Each child dials its
 * parent through a LinkProxy, so every link's bytes are counted and a link can be cut (netsplit).
 * Ready when the root's LUSERS says the network has `servers` servers.
 */
export async function startInspircdNetwork(options: { servers: number; password?: string; readyTimeoutMs?: number; baseDir?: string }): Promise<InspircdNetwork> {
  const count = options.servers;
  if (!Number.isInteger(count) || count < 1 || count > 50) throw new LabError(`inspircd-network: servers must be 1..50 (got ${count})`, 'inspircd-network');
  const host = '127.0.0.1';
  const linkPassword = randomBytes(12).toString('hex');
  const linkPorts: number[] = [];
  for (let i = 0; i < count; i++) linkPorts.push(await freePort());
  const names = Array.from({ length: count }, (_, i) => `s${i + 1}.imload.lab`);
  const started: InspircdLabServer[] = [];
  const links: NetworkLink[] = [];
  const stop = async () => {
    await Promise.all(links.map((l) => l.proxy.close()));
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    // Parents first: a child's proxy needs its parent's link port, and its autoconnect then finds it listening.
    for (let i = 0; i < count; i++) {
      const peers: SpanningTreeConfig['peers'][number][] = [];
      if (i > 0) {
        const parent = parentOf(i);
        const proxy = await startLinkProxy({ targetHost: host, targetPort: linkPorts[parent]! });
        links.push({ name: `s${parent + 1}-s${i + 1}`, parent, child: i, proxy });
        peers.push({ name: names[parent]!, host, port: proxy.port, autoconnect: true });
      }
      for (let c = 2 * i + 1; c <= 2 * i + 2 && c < count; c++) peers.push({ name: names[c]!, host, port: linkPorts[c]!, autoconnect: false });
      const sid = `${i % 10}${String.fromCharCode(65 + Math.floor(i / 10))}X`;
      started.push(
        await startInspircd({
          name: `s${i + 1}`,
          password: options.password,
          readyTimeoutMs: options.readyTimeoutMs,
          baseDir: options.baseDir,
          link: { name: names[i]!, sid, linkPort: linkPorts[i]!, password: linkPassword, peers },
        }),
      );
    }
    await waitForNetwork(started, count, options.readyTimeoutMs ?? 30_000, options.password);
  } catch (error) {
    await stop();
    throw error;
  }
  return { servers: started, links, stop };
}

/** Between two LUSERS questions to one server while waiting for the network: the relink figure's resolution. */
const NETWORK_POLL_MS = 100;

/**
 * Waits until every server's LUSERS counts `count` servers in the network. All servers are asked
 * at once, each through one kept observer (a fresh client costs InspIRCd's ~1 s registration
 * tick per question, which made a netsplit's relink read ~3 s late on three servers); so the
 * wait ends within NETWORK_POLL_MS and a round trip of the last server seeing the whole network,
 * or — when the network is whole sooner — at the observers' registration, about 1 s after the start.
 */
export async function waitForNetwork(servers: readonly LabServer[], count: number, timeoutMs: number, password?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const observers: LusersObserver[] = [];
  // Set once the wait is over (whole, or one server failed): the other servers' loops stop.
  let over = false;
  const whole = async (server: LabServer): Promise<void> => {
    let observer: LusersObserver | undefined;
    let seen: number | undefined;
    while (seen !== count && !over) {
      if (Date.now() > deadline) {
        throw new LabError(`the InspIRCd network did not link: ${server.name} sees ${seen ?? 'no'} servers of ${count}`, 'inspircd-network');
      }
      try {
        if (!observer) observers.push((observer = await LusersObserver.open({ host: server.host, port: server.port, password }, 5000)));
        if (over) observer.close();
        seen = (await observer.ask(5000)).servers;
      } catch {
        // The server refused or dropped the observer (starting up, busy): a fresh one next round.
        observer = undefined;
        seen = undefined;
      }
      if (seen !== count) await new Promise((resolve) => setTimeout(resolve, NETWORK_POLL_MS));
    }
  };
  try {
    await Promise.all(servers.map(whole));
  } finally {
    over = true;
    for (const observer of observers) observer.close();
  }
}

/** `lab: ngircd`: plain IRC only. */
export async function startNgircdLab(context: LabContext): Promise<LabTarget> {
  if (context.transport === 'tls') throw new LabError('the ngIRCd lab has no TLS listener: use lab: inspircd for ircs://', 'ngircd');
  const server = await startNgircd();
  if (context.keep) server.keep?.();
  return { primary: server, servers: [server], url: server.url, ...restartable(server, (port) => startNgircd({ port })) };
}

export async function startInspircd(options: InspircdLabOptions = {}): Promise<InspircdLabServer> {
  const binary = requireBinary('inspircd', 'inspircd');
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(options.baseDir ?? labBaseDir(), `inspircd-${port}-`));
  const pki = options.tls ? await createLabPki({ dir, commonName: 'insp.imload.lab' }) : undefined;
  const tls = pki ? { port: await freePort(), certificateFile: pki.certificateFile, privateKeyFile: pki.privateKeyFile } : undefined;
  const config = join(dir, 'inspircd.conf');
  // 0600: with a connect password the config holds a secret (docs/reliability.md).
  writeFileSync(
    config,
    inspircdConfig({ port, dir, maxClients: options.maxClients, tls, password: options.password, throttle: options.throttle, link: options.link, host: options.host, allow: options.allow }),
    { mode: 0o600 },
  );
  // --runasroot: as root, InspIRCd otherwise refuses to start (exit 8) when stdout is not a TTY.
  const args = ['--config', config, '--nofork'];
  if (process.getuid?.() === 0) args.push('--runasroot');
  // cwd: with ssl_gnutls loaded, InspIRCd 3.15 dumps core while unloading modules at SIGTERM;
  // the core file then lands in the lab folder, not in the caller's working directory.
  const proc = startForeground('inspircd', binary, args, join(dir, 'stdout.log'), { cwd: dir });
  const server = await finish('inspircd', options.name ?? 'insp', port, dir, proc, version(binary, ['--version']), options.readyTimeoutMs, options.password, options.host);
  if (!tls || !pki) return server;
  return { ...server, tls: { port: tls.port, url: `ircs://${server.host}:${tls.port}`, caFile: pki.caFile } };
}

export async function startNgircd(options: IrcLabOptions = {}): Promise<LabServer> {
  const binary = requireBinary('ngircd', 'ngircd');
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(options.baseDir ?? labBaseDir(), `ngircd-${port}-`));
  // As root ngIRCd switches to "nobody", which must be able to write its pid file and read the config.
  chmodSync(dir, 0o777);
  mkdirSync(join(dir, 'conf.d'));
  const config = join(dir, 'ngircd.conf');
  writeFileSync(config, ngircdConfig({ port, dir, maxClients: options.maxClients }), { mode: 0o644 });
  const proc = startForeground('ngircd', binary, ['--nodaemon', '--config', config], join(dir, 'stdout.log'));
  return finish('ngircd', 'ng', port, dir, proc, version(binary, ['--version']), options.readyTimeoutMs);
}

function requireBinary(command: string, debianPackage: string): string {
  const path = which(command);
  if (!path) {
    throw new LabError(`${command} is not installed`, command, `install the Debian package '${debianPackage}' (imload lab install)`);
  }
  return path;
}

function version(binary: string, args: string[]): string | undefined {
  try {
    return execFileSync(binary, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch {
    return undefined;
  }
}

async function finish(
  kind: string,
  name: string,
  port: number,
  dir: string,
  proc: ForegroundProcess,
  serverVersion: string | undefined,
  readyTimeoutMs = 20_000,
  password?: string,
  host = '127.0.0.1',
): Promise<LabServer> {
  try {
    await waitUntilReady(proc, (ms) => registerOnce(host, port, ms, password), { timeoutMs: readyTimeoutMs });
  } catch (error) {
    await proc.stop();
    throw new LabError(`${kind} did not become ready on ${host}:${port}: ${(error as Error).message}\n${proc.tail()}`, kind);
  }
  return {
    kind,
    name,
    host,
    port,
    url: `irc://${host}:${port}`,
    pid: proc.pid,
    dir,
    version: serverVersion,
    fdLimit: readFdLimit(proc.pid),
    stop: () => proc.stop(),
    keep: () => keepRunning(proc),
  };
}



function registerOnce(host: string, port: number, timeoutMs: number, password?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const lines = new LineBuffer();
    const timer = setTimeout(() => done(new Error('no 001 in time')), timeoutMs);
    function done(error?: Error) {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    }
    socket.setEncoding('utf8');
    socket.on('error', (error) => done(error));
    socket.on('close', () => done(new Error('closed before 001')));
    socket.on('connect', () =>
      socket.write(`${password !== undefined ? `PASS ${password}\r\n` : ''}NICK imlready\r\nUSER imlready 0 * :imload lab readiness\r\n`),
    );
    socket.on('data', (chunk: string) =>
      lines.push(chunk, (line) => {
        const message = parseLine(line);
        if (message?.command === 'PING') socket.write(`PONG :${message.params[0] ?? ''}\r\n`);
        if (message?.command === '001') {
          socket.write('QUIT\r\n');
          done();
        }
      }),
    );
  });
}
