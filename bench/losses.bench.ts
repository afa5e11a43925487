/**
 * How long the lost-delivery analysis takes on a big run: a synthetic events.ndjson.gz of about
 * 2,000,000 records (20,000 users in 200 channels of ~100, logons, joins, IMs and channel
 * messages with their outcomes and receipts, a few hundred losses). Target: under 30 s.
 * Run: node --import tsx bench/losses.bench.ts
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { analyseDeliveries } from '../src/analysis/deliveries.js';

const USERS = 20_000;
const CHANNELS = 200;
const TARGET_RECORDS = 2_000_000;
const TARGET_MS = 30_000;

async function writeEvents(path: string): Promise<number> {
  const gzip = createGzip();
  const done = new Promise<void>((resolve) => gzip.pipe(createWriteStream(path)).on('finish', () => resolve()));
  let records = 0;
  let chunk: string[] = [];
  const put = async (e: object) => {
    chunk.push(JSON.stringify(e));
    records++;
    if (chunk.length >= 10_000) {
      if (!gzip.write(`${chunk.join('\n')}\n`)) await new Promise<void>((r) => gzip.once('drain', () => r()));
      chunk = [];
    }
  };
  const channelOf = (u: number) => `#room-${String(u % CHANNELS).padStart(3, '0')}`;
  for (let u = 0; u < USERS; u++) {
    await put({ u, t: u % 1000, k: 'logon' });
    await put({ u, t: 1000 + (u % 1000), k: 'join', ch: channelOf(u) });
  }
  const members = USERS / CHANNELS;
  const seqs = new Int32Array(USERS);
  for (let m = 0; records < TARGET_RECORDS; m++) {
    const u = (m * 7919) % USERS;
    const t = 3000 + m;
    const seq = ++seqs[u]!;
    if (m % 10 === 0) {
      // A channel message to the other 99 members; one in 500 misses one recipient.
      await put({ u, t, k: 'say', ch: channelOf(u), seq });
      await put({ u, t: t + 1, k: 'sent', seq, n: members - 1 });
      for (let k = 1; k < members; k++) {
        if (m % 5000 === 0 && k === 1) continue;
        await put({ u: (u + k * CHANNELS) % USERS, t: t + 3, k: 'recv', from: u, seq, ch: channelOf(u) });
      }
    } else {
      const to = (u + 1) % USERS;
      await put({ u, t, k: 'message', to: `u${to + 1}`, toIndex: to, seq });
      await put({ u, t: t + 1, k: 'sent', seq, n: 1 });
      if (m % 3001 !== 0) await put({ u: to, t: t + 2, k: 'recv', from: u, seq });
    }
  }
  await put({ u: -1, t: 10_000_000, k: 'stop' });
  gzip.end(`${chunk.join('\n')}\n`);
  await done;
  return records;
}

const dir = mkdtempSync(join(tmpdir(), 'imload-losses-bench-'));
try {
  const path = join(dir, 'events.ndjson.gz');
  const records = await writeEvents(path);
  const started = performance.now();
  const result = await analyseDeliveries(path, { lossesPath: join(dir, 'losses.ndjson'), duplicates: 0, misrouted: 0 });
  const ms = performance.now() - started;
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  console.log(`${records} records (${(statSync(path).size / 2 ** 20).toFixed(1)} MiB gzip): analysed in ${(ms / 1000).toFixed(2)} s, RSS ${rssMiB.toFixed(0)} MiB`);
  console.log(`expected ${result!.expected}, delivered ${result!.delivered}, lost ${result!.lost} ${JSON.stringify(result!.lostByReason)}`);
  if (ms > TARGET_MS) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
