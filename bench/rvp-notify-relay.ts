/**
 * NOTIFY relay throughput at saturation: C closed-loop senders send IMs (NOTIFY, DeepOr) through
 * the RVP home server to recipients whose login callbacks are one listener, against the same
 * senders sending the same body through a minimal node:http relay (bench/rvp-http-relay.ts) to
 * the same listener. Both servers run as their own process; sender and listener run here and
 * are the same code for both, so the ratio compares the relays. Rounds alternate so drift in
 * the shared machine's load hits both. Prints msgs/s for each round and the ratio (target >= 0.5).
 *
 *   node --import tsx bench/rvp-notify-relay.ts [concurrency] [seconds-per-round] [rounds]   # 64 10 2
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { instantMessage, newSessionId, presencePatch } from '../src/protocols/rvp/bodies.js';
import { CallbackListener } from '../src/protocols/rvp/callback-listener.js';
import { startRvpLab } from '../src/protocols/rvp/lab.js';
import { HttpClientPool } from '../src/protocols/rvp/wire/http-client.js';
import { sampleProcess } from './rvp-capacity.js';

const concurrency = Number(process.argv[2] ?? 64);
const roundSeconds = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 2);
const WARMUP_MS = 2000;
const DOMAIN = 'im.example.com';
/** Recipients: one login callback each; senders are as many again, each with its own recipient. */
const RECIPIENTS = concurrency;

const alias = (i: number) => `u${String(i).padStart(6, '0')}`;
const logical = (i: number) => `http://${DOMAIN}/instmsg/aliases/${alias(i)}`;

interface Hop {
  readonly name: string;
  readonly port: number;
  /** The relay's process, whose CPU time per round is sampled. */
  readonly pid: number;
  /** Request target and headers for sender k. */
  request(k: number): { target: string; method: string; headers: [string, string][] };
}

/** C loops, each sending and awaiting one request at a time, for `ms`; counts 2xx and others. */
async function closedLoop(pool: HttpClientPool, hop: Hop, bodies: readonly string[], ms: number): Promise<{ ok: number; failed: number }> {
  const until = Date.now() + ms;
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, k) => {
      const { target, method, headers } = hop.request(k);
      const body = bodies[k]!;
      while (Date.now() < until) {
        try {
          const { response } = await pool.request('127.0.0.1', hop.port, { method, target, headers, body });
          if (response.status >= 200 && response.status < 300) ok++;
          else failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  return { ok, failed };
}

function startBaselineRelay(listenerPort: number): Promise<{ child: ChildProcess; port: number }> {
  const entry = fileURLToPath(new URL('./rvp-http-relay.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', entry, String(listenerPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('baseline relay not ready after 20 s')), 20_000);
    child.once('exit', (code) => reject(new Error(`baseline relay exited (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const port = /relay listening on (\d+)/.exec(line)?.[1];
      if (port === undefined) return;
      clearTimeout(timer);
      resolve({ child, port: Number(port) });
    });
  });
}

const listener = new CallbackListener();
await listener.start('127.0.0.1', 0);
let delivered = 0;
for (let i = 0; i < RECIPIENTS; i++) listener.register(i, { handle: () => (delivered++, 200), bytes: () => {} });

const lab = await startRvpLab({ topology: 'combined', userCount: RECIPIENTS * 2, domain: DOMAIN, extraArgs: ['--quiet'] });
const baseline = await startBaselineRelay(Number(new URL(listener.urlFor(0)).port));
const pool = new HttpClientPool({ maxConnectionsPerOrigin: concurrency, connectTimeoutMs: 5000, requestTimeoutMs: 30_000, idleTimeoutMs: 60_000 });
try {
  // Recipients log on: login SUBSCRIBE with their callback, then show online (NOTIFY to an offline user is 412).
  for (let i = 0; i < RECIPIENTS; i++) {
    const path = `/instmsg/aliases/${alias(i)}`;
    const common: [string, string][] = [['Host', DOMAIN], ['RVP-From-Principal', logical(i)], ['RVP-Notifications-Version', '0.2']];
    const login = await pool.request('127.0.0.1', lab.entry.port, {
      method: 'SUBSCRIBE', target: path,
      headers: [...common, ['Notification-Type', 'pragma/notify'], ['Call-Back', listener.urlFor(i)], ['Subscription-Lifetime', '14400']],
    });
    const patch = await pool.request('127.0.0.1', lab.entry.port, {
      method: 'PROPPATCH', target: path, headers: [...common, ['Content-Type', 'text/xml']], body: presencePatch('online', 1200, undefined, ''),
    });
    if (login.response.status !== 200 || patch.response.status !== 207) throw new Error(`logon of ${alias(i)}: ${login.response.status}/${patch.response.status}`);
  }
  // Sender k = user RECIPIENTS + k writes to recipient k; the same body goes through both hops.
  const bodies = Array.from({ length: concurrency }, (_, k) =>
    instantMessage(logical(RECIPIENTS + k), logical(k % RECIPIENTS), `benchmark message from sender ${k} ${'x'.repeat(40)}`, newSessionId()),
  );
  const rvpHop: Hop = {
    name: 'rvp home server',
    port: lab.entry.port,
    pid: lab.entry.pid,
    request: (k) => ({
      method: 'NOTIFY',
      target: `/instmsg/aliases/${alias(k % RECIPIENTS)}`,
      headers: [
        ['Host', DOMAIN], ['RVP-From-Principal', logical(RECIPIENTS + k)], ['RVP-Notifications-Version', '0.2'],
        ['RVP-Ack-Type', 'DeepOr'], ['RVP-Hop-Count', '1'], ['Content-Type', 'text/xml'],
      ],
    }),
  };
  const httpHop: Hop = {
    name: 'node:http relay',
    port: baseline.port,
    pid: baseline.child.pid!,
    request: (k) => ({ method: 'POST', target: `/vu/${k % RECIPIENTS}`, headers: [['Host', '127.0.0.1'], ['Content-Type', 'text/xml']] }),
  };
  console.log(`concurrency ${concurrency}, ${roundSeconds} s per round after ${WARMUP_MS / 1000} s warm-up, ${rounds} round(s) each`);
  const totals = new Map<string, { ok: number; seconds: number; cpu: number }>();
  for (let round = 1; round <= rounds; round++) {
    for (const hop of [rvpHop, httpHop]) {
      await closedLoop(pool, hop, bodies, WARMUP_MS);
      const before = delivered;
      const cpuBefore = sampleProcess(hop.pid)?.cpuSeconds ?? NaN;
      const { ok, failed } = await closedLoop(pool, hop, bodies, roundSeconds * 1000);
      const cpu = (sampleProcess(hop.pid)?.cpuSeconds ?? NaN) - cpuBefore;
      const rate = ok / roundSeconds;
      // CPU per message tells the relays apart even when the shared sender/listener is the limit.
      console.log(
        `round ${round} ${hop.name}: ${rate.toFixed(0)} msgs/s (${ok} acknowledged, ${failed} failed, ${delivered - before} reached the listener); ` +
          `relay CPU ${((cpu / roundSeconds) * 100).toFixed(0)} % of a core, ${((cpu * 1e6) / Math.max(1, ok)).toFixed(0)} µs per message`,
      );
      const total = totals.get(hop.name) ?? { ok: 0, seconds: 0, cpu: 0 };
      totals.set(hop.name, { ok: total.ok + ok, seconds: total.seconds + roundSeconds, cpu: total.cpu + cpu });
    }
  }
  const rate = (name: string) => totals.get(name)!.ok / totals.get(name)!.seconds;
  const rvp = rate(rvpHop.name);
  const http = rate(httpHop.name);
  const perMessage = (name: string) => (totals.get(name)!.cpu * 1e6) / Math.max(1, totals.get(name)!.ok);
  console.log(`mean: rvp home server ${rvp.toFixed(0)} msgs/s, node:http relay ${http.toFixed(0)} msgs/s, ratio ${(rvp / http).toFixed(2)} (target >= 0.5)`);
  console.log(
    `relay CPU per message: rvp home server ${perMessage(rvpHop.name).toFixed(0)} µs, node:http relay ${perMessage(httpHop.name).toFixed(0)} µs, ` +
      `throughput per CPU-second ratio ${(perMessage(httpHop.name) / perMessage(rvpHop.name)).toFixed(2)}`,
  );
} finally {
  pool.close();
  baseline.child.kill('SIGTERM');
  await lab.stop();
  await listener.close();
}
