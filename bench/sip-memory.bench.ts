/**
 * Heap per SIP user once logged on, in one process: N users over UDP against the lab Kamailio,
 * each with 20 contacts among the others, logged on in batches; then 64·T1 (35 s) of quiet and
 * one presence change, so every per-agent cache has had a chance to prune; then a full GC and
 * process.memoryUsage().heapUsed / N. What a 100,000-user pool's workers pay per user, and what
 * their garbage collector has to mark.
 *
 * With `--pool`, the users register through the kamailio-pool lab's director (Digest, and the
 * director's Record-Route in every subscription) as bench/sip-pool.bench.ts --topology pool does.
 *
 *   node --expose-gc --import tsx bench/sip-memory.bench.ts [--users 2000] [--pool] [--snapshot FILE]
 */
import { writeHeapSnapshot } from 'node:v8';
import { parseArgs } from 'node:util';
import { sipProtocol } from '../src/protocols/sip/index.js';
import { startKamailio } from '../src/protocols/sip/lab.js';
import { startKamailioPool } from '../src/protocols/sip/pool-lab.js';
import { countingEvents } from './counting-events.js';

const { values: args } = parseArgs({ options: { users: { type: 'string', default: '2000' }, pool: { type: 'boolean', default: false }, snapshot: { type: 'string' } } });
const users = Number(args.users);
const CONTACTS = 20;
const QUIET_MS = 35_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const { events, counts } = countingEvents();

const PASSWORD = 'memory-bench';
const lab = args.pool
  ? await startKamailioPool({ domain: 'lab.test', users, password: PASSWORD }).then((pool) => ({ host: pool.director.host, port: pool.director.port, stop: () => pool.stop() }))
  : await startKamailio({ domain: 'lab.test', users }).then((single) => ({ host: single.udp.host, port: single.udp.port, stop: () => single.stop() }));
try {
  gc();
  const baseline = process.memoryUsage().heapUsed;
  const agent = await sipProtocol.createAgent({ name: 'memory', protocol: 'sip', host: lab.host, port: lab.port, transport: 'udp', domain: 'lab.test', options: {} });
  const name = (i: number): string => `u${String(i + 1).padStart(6, '0')}`;
  const vus = Array.from({ length: users }, (_, i) =>
    agent.createUser({ index: i, name: name(i), contacts: Array.from({ length: CONTACTS }, (_, k) => name((i + 1 + k * 7) % users)), channels: [], password: args.pool ? PASSWORD : undefined }, events),
  );
  for (let i = 0; i < users; i += 50) await Promise.all(vus.slice(i, i + 50).map((vu) => vu.logon()));
  await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
  await vus[0]!.setPresence('away', 'memory bench');
  await new Promise((resolve) => setTimeout(resolve, 2000));
  gc();
  const used = process.memoryUsage().heapUsed - baseline;
  process.stdout.write(`sip-memory: ${users} users online, ${CONTACTS} subscriptions each, errors ${counts.errors}\n`);
  process.stdout.write(`  heap used by the agent and its users: ${(used / 2 ** 20).toFixed(1)} MiB = ${(used / users / 1024).toFixed(1)} KiB per user\n`);
  if (args.snapshot) process.stdout.write(`  heap snapshot: ${writeHeapSnapshot(args.snapshot)}\n`);
  for (const vu of vus) vu.destroy();
  await agent.close();
} finally {
  await lab.stop();
}
