/**
 * imload's side of bench/sip-vs-sipp.bench.ts, in a process of its own so its CPU can be read
 * from /proc/<pid>/stat exactly as SIPp's is. It runs one step at a fixed offered rate with the
 * agent's own SIP stack (codec, transactions, shared UDP sockets): REGISTER transactions
 * (Registration on a UserAgent, as a logon starts), or pager-mode MESSAGEs between logged-on
 * users (sender and recipient both imload, as SIPp's UAC and UAS are both SIPp).
 * Started by the bench with an IPC channel; never run by hand. It runs the steps it is sent, one
 * after another, until told to exit: one step per process measures a cold start (the JIT
 * compiling the hot path inside the measured span), several per process a warm one, as in a run's
 * long-lived workers.
 *
 * `register-floor` is not imload: the least a Node program can do per REGISTER over `node:dgram`
 * — the same request text filled into a template, sent on one connected socket, each answer's
 * status line looked at and nothing else (no transactions, timers, parsing or objects per
 * request). It is the floor under any SIP stack written on Node's UDP, measured the same way.
 */
import { createSocket, type Socket } from 'node:dgram';
import { sipProtocol } from '../src/protocols/sip/index.js';
import { Registration } from '../src/protocols/sip/registration.js';
import { readSettings } from '../src/protocols/sip/settings.js';
import { UdpHub } from '../src/protocols/sip/udp.js';
import { UserAgent } from '../src/protocols/sip/ua.js';
import { connectedUdpBackend, type ConnectedUdpBackend } from '../src/protocols/connected-udp.js';
import type { AgentTarget, VirtualUser } from '../src/protocols/types.js';
import { countingEvents } from './counting-events.js';
import { groupCpuSeconds, processCpuSeconds } from './sip-probes.js';

export interface DriverStep {
  readonly kind: 'register' | 'register-floor' | 'message';
  readonly host: string;
  readonly port: number;
  readonly domain: string;
  /** Transactions started per second, and for how long. */
  readonly rate: number;
  readonly seconds: number;
  /** Kamailio's process group: its CPU is read over the measured part only (not the logons). */
  readonly serverPgid: number;
  /** REGISTER: user names are `<prefix>000001` on (default prefix i). */
  readonly userPrefix?: string;
  /** The agent's `udpSockets` option (default: the agent's default). */
  readonly udpSockets?: number;
}

/** Ends the driver process. */
export interface DriverExit {
  readonly kind: 'exit';
}

export interface DriverResult {
  readonly ok: number;
  readonly failed: number;
  readonly retransmissions: number;
  /** First send to last final response, seconds. */
  readonly elapsedSeconds: number;
  readonly cpuSeconds: number;
  /** Kamailio's CPU over the same span, when the generator measured it itself. */
  readonly serverCpuSeconds?: number;
  /** imload's steps: the UDP implementation its sockets used (src/protocols/connected-udp.ts). */
  readonly udpBackend?: ConnectedUdpBackend;
}

/** A step never runs longer than this, whatever Kamailio does (Timer F is 32 s). */
const STEP_CAP_MS = 60_000;
const TICK_MS = 5;
const MESSAGE_RECIPIENTS = 1000;
const MESSAGE_SENDERS = 50;
const FILLER = 'x'.repeat(40);

const { events, counts } = countingEvents();

/** Starts `total` operations at `rate` per second; resolves with the counts once all settled. */
async function pacedRun(rate: number, total: number, start: (n: number) => Promise<boolean>): Promise<Pick<DriverResult, 'ok' | 'failed' | 'elapsedSeconds'>> {
  let started = 0;
  let ok = 0;
  let failed = 0;
  let lastDone = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const settle = (success: boolean): void => {
      if (success) ok++;
      else failed++;
      lastDone = performance.now();
      if (ok + failed === total) resolve();
    };
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((rate * (performance.now() - t0)) / 1000) + 1);
      for (; started < due; started++) start(started).then(settle, () => settle(false));
      if (started === total) clearInterval(timer);
    }, TICK_MS);
    setTimeout(() => {
      clearInterval(timer);
      resolve();
    }, STEP_CAP_MS).unref();
  });
  return { ok, failed: failed + (total - ok - failed), elapsedSeconds: (lastDone - t0) / 1000 };
}

/**
 * The REGISTER steps' sockets, opened by the first and kept for the process's life, as a run's
 * worker keeps its agent's: a user registered again by a later step then sends the same Contact,
 * which refreshes its binding. A hub per step gave every step new local ports, so Kamailio added a
 * binding per step and listed them all, oldest first, in each 200 (four for some users by the
 * ladder's last step), which imload reads (§ 10.2.4) and SIPp does not.
 */
let registerHub: Promise<UdpHub> | undefined;

async function registerStep(step: DriverStep): Promise<DriverResult> {
  const target = targetOf(step);
  const settings = readSettings(target);
  registerHub ??= UdpHub.open(step.host, step.port, settings.udpSockets, { malformed: () => undefined, socketError: () => undefined, late: () => undefined });
  const hub = await registerHub;
  const cpuBefore = processCpuSeconds(process.pid)!;
  const serverBefore = groupCpuSeconds(step.serverPgid);
  const prefix = step.userPrefix ?? 'i';
  counts.retransmissions = 0;
  const paced = await pacedRun(step.rate, step.rate * step.seconds, async (n) => {
    const name = `${prefix}${String(n + 1).padStart(6, '0')}`;
    const ua = new UserAgent({ index: n, user: name, domain: step.domain, timers: settings.timers, instanceTag: settings.instanceTag }, events);
    ua.attach(hub.attach(n, name, ua));
    const registration = new Registration(ua, step.domain, 3600, events);
    try {
      return (await registration.register()).status < 300;
    } finally {
      registration.cancel();
      ua.close('done');
    }
  });
  const cpuSeconds = processCpuSeconds(process.pid)! - cpuBefore;
  const serverCpuSeconds = groupCpuSeconds(step.serverPgid) - serverBefore;
  return { ...paced, retransmissions: counts.retransmissions, cpuSeconds, serverCpuSeconds, udpBackend: connectedUdpBackend().backend };
}

let floorSocket: Promise<Socket> | undefined;

/** REGISTERs from a template on one connected socket; answers only counted (see the header). */
async function registerFloorStep(step: DriverStep): Promise<DriverResult> {
  // Kept for the process's life, as registerHub is: a later step refreshes the same bindings.
  floorSocket ??= new Promise<Socket>((resolve) => {
    const socket = createSocket('udp4');
    socket.connect(step.port, step.host, () => resolve(socket));
  });
  const socket = await floorSocket;
  const local = socket.address();
  const prefix = step.userPrefix ?? 'f';
  const total = step.rate * step.seconds;
  let ok = 0;
  let failed = 0;
  let lastDone = 0;
  // "SIP/2.0 2xx": the status class is the 9th byte; 1xx are not final.
  const answered = (data: Buffer): void => {
    const klass = data[8];
    if (klass === 0x31) return;
    if (klass === 0x32) ok++;
    else failed++;
    lastDone = performance.now();
  };
  socket.on('message', answered);
  const cpuBefore = processCpuSeconds(process.pid)!;
  const serverBefore = groupCpuSeconds(step.serverPgid);
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const cap = setTimeout(() => finish(), STEP_CAP_MS);
    const finish = (): void => {
      clearInterval(timer);
      clearInterval(wait);
      clearTimeout(cap);
      resolve();
    };
    let wait: NodeJS.Timeout | undefined;
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((step.rate * (performance.now() - t0)) / 1000) + 1);
      for (; sent < due; sent++) {
        const n = sent + 1;
        const user = `${prefix}${String(n).padStart(6, '0')}`;
        socket.send(
          `REGISTER sip:${step.domain} SIP/2.0\r\nVia: SIP/2.0/UDP ${local.address}:${local.port};branch=z9hG4bK${prefix}${n}.${t0};rport\r\nMax-Forwards: 70\r\n` +
            `From: <sip:${user}@${step.domain}>;tag=${n}\r\nTo: <sip:${user}@${step.domain}>\r\nCall-ID: ${n}.${t0}@floor\r\nCSeq: 1 REGISTER\r\n` +
            `Contact: <sip:${user}@${local.address}:${local.port};transport=udp>\r\nExpires: 3600\r\nUser-Agent: imload-floor\r\nContent-Length: 0\r\n\r\n`,
        );
      }
      if (sent === total) {
        clearInterval(timer);
        wait ??= setInterval(() => ok + failed >= total && finish(), TICK_MS);
      }
    }, TICK_MS);
  });
  const cpuSeconds = processCpuSeconds(process.pid)! - cpuBefore;
  const serverCpuSeconds = groupCpuSeconds(step.serverPgid) - serverBefore;
  socket.off('message', answered);
  return { ok, failed: total - ok, retransmissions: 0, elapsedSeconds: (lastDone - t0) / 1000, cpuSeconds, serverCpuSeconds };
}

async function messageStep(step: DriverStep): Promise<DriverResult> {
  const agent = await sipProtocol.createAgent(targetOf(step));
  const user = (index: number, contacts: string[] = []): VirtualUser =>
    agent.createUser({ index, name: `m${String(index + 1).padStart(6, '0')}`, contacts, channels: [] }, events);
  // Recipients and senders log on before the measured part: REGISTER + PUBLISH, no contacts.
  const recipients = Array.from({ length: MESSAGE_RECIPIENTS }, (_, i) => user(i));
  const senders = Array.from({ length: MESSAGE_SENDERS }, (_, i) => user(MESSAGE_RECIPIENTS + i));
  for (let i = 0; i < recipients.length + senders.length; i += 100) {
    await Promise.all([...recipients, ...senders].slice(i, i + 100).map((u) => u.logon()));
  }
  counts.retransmissions = 0;
  const cpuBefore = processCpuSeconds(process.pid)!;
  const serverBefore = groupCpuSeconds(step.serverPgid);
  const paced = await pacedRun(step.rate, step.rate * step.seconds, async (n) => {
    const outcome = await senders[n % MESSAGE_SENDERS]!.message(`m${String((n % MESSAGE_RECIPIENTS) + 1).padStart(6, '0')}`, `[imload ${n} 1 ${Date.now()}.000 ${n % MESSAGE_RECIPIENTS}] ${FILLER}`);
    return outcome.ok;
  });
  const cpuSeconds = processCpuSeconds(process.pid)! - cpuBefore;
  const serverCpuSeconds = groupCpuSeconds(step.serverPgid) - serverBefore;
  for (const u of [...recipients, ...senders]) u.destroy();
  await agent.close();
  return { ...paced, retransmissions: counts.retransmissions, cpuSeconds, serverCpuSeconds, udpBackend: connectedUdpBackend().backend };
}

function targetOf(step: DriverStep): AgentTarget {
  return { name: 'bench', protocol: 'sip', host: step.host, port: step.port, transport: 'udp', domain: step.domain, options: step.udpSockets === undefined ? {} : { udpSockets: step.udpSockets } };
}

let queue: Promise<unknown> = Promise.resolve();
process.on('message', (message: DriverStep | DriverExit) => {
  if (message.kind === 'exit') {
    void queue.then(() => process.exit(0));
    return;
  }
  queue = queue.then(() =>
    (message.kind === 'register' ? registerStep(message) : message.kind === 'register-floor' ? registerFloorStep(message) : messageStep(message)).then(
      (result) => new Promise<void>((resolve) => process.send!(result, () => resolve())),
      (error: unknown) => process.send!({ error: String(error) }, () => process.exit(1)),
    ),
  );
});
