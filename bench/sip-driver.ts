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
 */
import { sipProtocol } from '../src/protocols/sip/index.js';
import { Registration } from '../src/protocols/sip/registration.js';
import { readSettings } from '../src/protocols/sip/settings.js';
import { UdpHub } from '../src/protocols/sip/udp.js';
import { UserAgent } from '../src/protocols/sip/ua.js';
import type { AgentTarget, VirtualUser } from '../src/protocols/types.js';
import { countingEvents } from './counting-events.js';
import { groupCpuSeconds, processCpuSeconds } from './sip-probes.js';

export interface DriverStep {
  readonly kind: 'register' | 'message';
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

async function registerStep(step: DriverStep): Promise<DriverResult> {
  const target = targetOf(step);
  const settings = readSettings(target);
  const hub = await UdpHub.open(step.host, step.port, settings.udpSockets, { unrouted: () => undefined, late: () => undefined });
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
  hub.close();
  return { ...paced, retransmissions: counts.retransmissions, cpuSeconds, serverCpuSeconds };
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
  return { ...paced, retransmissions: counts.retransmissions, cpuSeconds, serverCpuSeconds };
}

function targetOf(step: DriverStep): AgentTarget {
  return { name: 'bench', protocol: 'sip', host: step.host, port: step.port, transport: 'udp', domain: step.domain, options: {} };
}

let queue: Promise<unknown> = Promise.resolve();
process.on('message', (message: DriverStep | DriverExit) => {
  if (message.kind === 'exit') {
    void queue.then(() => process.exit(0));
    return;
  }
  queue = queue.then(() =>
    (message.kind === 'register' ? registerStep(message) : messageStep(message)).then(
      (result) => new Promise<void>((resolve) => process.send!(result, () => resolve())),
      (error: unknown) => process.send!({ error: String(error) }, () => process.exit(1)),
    ),
  );
});
