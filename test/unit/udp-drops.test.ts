/**
 * Datagrams dropped on the generator's own UDP sockets are the generator's loss: the health
 * sample counts the kernel's drops on this process's sockets and on no other's, and a run with
 * any cannot book a figure it broke as missed (a figure met stands: a lost answer lightens no load).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { UdpSocketDrops } from '../../src/metrics/udp-drops.js';
import { RunAggregate } from '../../src/metrics/aggregate.js';
import type { JournalSecond } from '../../src/metrics/journal.js';
import { generatorVerdict } from '../../src/analysis/generator.js';
import { judgeLimits } from '../../src/analysis/verdicts.js';
import { createHistogram, summarize } from '../../src/metrics/histogram.js';

const DATAGRAMS = 400;
const linux = process.platform === 'linux';

/** Sends `count` datagrams of 1,000 bytes to a loopback port from a separate process, synchronously: this process's event loop reads nothing meanwhile. */
function floodFromChild(port: number, count: number): void {
  const script = `const s=require('node:dgram').createSocket('udp4');const b=Buffer.alloc(1000,120);let n=0;const next=()=>{if(n++<${count})s.send(b,${port},'127.0.0.1',next);else s.close();};next();`;
  const result = spawnSync(process.execPath, ['-e', script], { timeout: 20_000 });
  assert.equal(result.status, 0, `the sender failed: ${String(result.stderr)}`);
}

/** The kernel's drop count for the UDP socket bound to this loopback port (any process's), from the table. */
function kernelDrops(port: number): number | undefined {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/self/net/udp', 'latin1').split('\n').slice(1)) {
    const columns = line.trim().split(/\s+/);
    if (columns[1]?.endsWith(suffix)) return Number(columns[12]);
  }
  return undefined;
}

async function bound(recvBufferSize: number): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', recvBufferSize });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

/** Resolves once `done()` holds, checking each turn of the event loop; rejects after `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('drops on this process\'s own UDP socket are counted, each once: received + dropped = sent', { skip: !linux && 'reads /proc (Linux only)', timeout: 30_000 }, async () => {
  const drops = UdpSocketDrops.ofThisProcess();
  assert.equal(drops.sample(), 0, 'nothing dropped before the flood');
  // The smallest receive buffer the kernel allows holds a few datagrams: the rest of a burst
  // sent while this process cannot read is dropped.
  const socket = await bound(2048);
  let received = 0;
  socket.on('message', () => received++);
  try {
    floodFromChild(socket.address().port, DATAGRAMS);
    const dropped = drops.sample();
    assert.ok(dropped > 0 && dropped < DATAGRAMS, `dropped ${dropped} of ${DATAGRAMS}`);
    assert.equal(dropped, kernelDrops(socket.address().port), 'the kernel\'s own count for the socket');
    await until(() => received >= DATAGRAMS - dropped, 10_000, `${DATAGRAMS - dropped} datagrams read`);
    assert.equal(received + dropped, DATAGRAMS);
    assert.equal(drops.sample(), 0, 'the same drops are not counted again');
  } finally {
    socket.close();
  }
});

test('drops on another process\'s UDP socket are not the generator\'s, and are that process\'s', { skip: !linux && 'reads /proc (Linux only)', timeout: 30_000 }, async () => {
  const drops = UdpSocketDrops.ofThisProcess();
  // A process that binds a small-buffered socket, says its port and never reads it.
  const stuck = spawn(process.execPath, ['-e', `const s=require('node:dgram').createSocket({type:'udp4',recvBufferSize:2048});s.bind(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port)+'\\n');Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,20000);});`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [chunk] = (await once(stuck.stdout!, 'data')) as [Buffer];
    const port = Number(String(chunk).trim());
    const sender = await bound(2048);
    try {
      for (let i = 0; i < DATAGRAMS; i++) sender.send(Buffer.alloc(1000, 120), port, '127.0.0.1');
      await until(() => (kernelDrops(port) ?? 0) > 0, 10_000, 'the stuck socket to drop');
    } finally {
      sender.close();
    }
    assert.equal(drops.sample(), 0, `the kernel dropped ${kernelDrops(port)} on another process's socket`);
    // Read as that process's (a lab server's), they are all counted, once.
    const theirs = UdpSocketDrops.ofProcesses(() => [stuck.pid!]);
    assert.equal(theirs.sample(), kernelDrops(port));
    assert.equal(theirs.sample(), 0);
  } finally {
    stuck.kill();
  }
});

test('a run whose own sockets dropped answers: a figure it broke is not booked as missed, a figure met stands', () => {
  const aggregate = new RunAggregate();
  for (let t = 1; t <= 60; t++) {
    const second: JournalSecond = {
      type: 'second', t, at: t * 1000, phase: t <= 10 ? 'rampUp' : t <= 50 ? 'hold' : 'rampDown', online: 100, counters: {}, errors: {}, histograms: {},
      health: [0, 1].map((worker) => ({ worker, eventLoopP99: 5, eventLoopMax: 8, cpuPercent: 30, rssBytes: 1e8, heapUsedBytes: 5e7, openFds: 20, vus: 50, ...(t >= 52 && t <= 54 && worker === 1 ? { udpReceiveDrops: 7 } : {}) })),
    };
    aggregate.add(second);
  }
  const generator = generatorVerdict(aggregate, summarize(createHistogram()));
  assert.deepEqual(generator.udpReceiveDrops, { datagrams: 21, seconds: 3, workers: [1] });
  // A drop does not lighten the server's load: the generator did not shape it.
  assert.equal(generator.bottleneck, false);
  assert.match(generator.lostOnHost!.join('\n'), /dropped 21 datagrams on the generator's own UDP sockets in 3 seconds \(worker 1: receive buffers full\)/);

  const profile = {
    name: 'test', title: 'test', version: '1',
    figures: [{ id: 'users', metric: 'users.peakOnline', kind: 'atLeast' as const, value: 100, unit: 'users', source: 'test', wording: 'test' }],
  };
  const inputs = { requested: 100, peakOnline: 100, kbpsPerUser: 1, timeScale: 1, lookup: () => null, logonFailures: 0, errorsByKind: { 'logoff-timeout': 3 }, generator };
  const broken = [{ name: 'errors.rate', expression: 'errors.rate < 0.1%', metric: 'errors.rate', actual: 0.03, ok: false, abortOnFail: false }];
  const [judged] = judgeLimits(profile, { ...inputs, thresholds: broken }).verdicts;
  assert.equal(judged!.verdict, 'not-reached');
  assert.match(judged!.reason, /^the load generator lost what the server sent \(the kernel dropped 21 datagrams/);
  assert.match(judged!.reason, /on the figures alone it would read “missed at 100” \(100 users online, but SLOs broke: errors.rate\)/);
  // Every SLO held despite the drops: met stands.
  const [met] = judgeLimits(profile, { ...inputs, thresholds: [{ ...broken[0]!, ok: true, actual: 0 }] }).verdicts;
  assert.equal(met!.verdict, 'met');
  // Without the drops the same failure is the server's.
  const [unbound] = judgeLimits(profile, { ...inputs, thresholds: broken, generator: { ...generator, lostOnHost: [] } }).verdicts;
  assert.equal(unbound!.verdict, 'missed');
});
