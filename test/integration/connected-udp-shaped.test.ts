/**
 * A connected UDP socket behind a slow link (network namespaces, tbf: src/lab/netns.ts): a burst
 * of datagrams larger than the kernel's send buffer. While the link's queue holds them, the
 * socket's buffer is full and the kernel refuses more (EAGAIN); the addon keeps the rest, in
 * order, until the socket is writable again, as node:dgram's libuv queue does. Both
 * implementations: every datagram arrives, in order, and the queue was used and emptied. (The
 * lab's shaped links — plan --lab's pools over UDP — are where a run meets this.)
 *
 * Needs root; skipped only when neither root nor CI (CI runs as root and must run it).
 */
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectedUdpBackend, type ConnectedUdpBackend } from '../../src/protocols/connected-udp.js';
import { createTopology, shapeLink } from '../../src/lab/netns.js';

const DATAGRAMS = 400;
const BYTES = 1000;
/** 400 kB through 2 Mbit/s: ~1.6 s, with tbf's queue long enough to hold the whole burst (no drops). */
const LINK_BPS = 2_000_000;
const QUEUE_LATENCY_MS = 5000;
const PORT = 5099;
const CONNECTED_UDP = new URL('../../src/protocols/connected-udp.ts', import.meta.url).href;

/** Runs a Node program in a namespace; resolves with its stdout once it exits 0. */
function nodeIn(ns: string, program: string, env: NodeJS.ProcessEnv = {}): { done: Promise<string>; started: Promise<void> } {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', '--input-type=module', '-e', program], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let markStarted = (): void => undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('listening\n')) markStarted();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const bound = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<string>((resolve, reject) =>
    child.once('exit', (code) => {
      clearTimeout(bound);
      if (code === 0) resolve(stdout);
      else reject(new Error(`node in ${ns} exited ${code}: ${stderr}`));
    }),
  );
  return { done, started };
}

for (const backend of ['native', 'node:dgram'] as ConnectedUdpBackend[]) {
  test(`over ${backend}: a burst larger than the send buffer waits for the slow link and arrives whole and in order`, { timeout: 120_000 }, async (t) => {
    if (process.getuid?.() !== 0 && !process.env.CI) return t.skip('needs root to create network namespaces and shape links (CI runs it as root)');
    if (backend === 'native' && connectedUdpBackend().backend !== 'native' && !process.env.CI) return t.skip(`the UDP addon is not built here (${connectedUdpBackend().reason})`);
    const topology = createTopology({ generators: 1, tag: `cu${process.pid.toString(36)}${backend === 'native' ? 'n' : 'd'}` });
    try {
      const generator = topology.generators[0]!;
      shapeLink(topology, generator, LINK_BPS, QUEUE_LATENCY_MS);
      // The sink counts datagrams and checks their sequence numbers; it ends once all came.
      const sink = nodeIn(
        topology.server.ns,
        `import { createSocket } from 'node:dgram';
        const socket = createSocket('udp4');
        let next = 0, outOfOrder = 0, received = 0;
        const finish = () => { console.log(JSON.stringify({ received, outOfOrder })); socket.close(); };
        // Ends with all of them, or after 5 s with none (the rest lost): a failure says how many came.
        let idle = setTimeout(finish, 5000);
        socket.on('message', (data) => {
          received++;
          if (data.readUInt32BE(0) !== next) outOfOrder++;
          next = data.readUInt32BE(0) + 1;
          clearTimeout(idle);
          if (received === ${DATAGRAMS}) finish();
          else idle = setTimeout(finish, 5000);
        });
        socket.bind(${PORT}, '${topology.server.address}', () => console.log('listening'));`,
      );
      await sink.started;
      const sender = nodeIn(
        generator.ns,
        `import { openConnectedUdp } from ${JSON.stringify(CONNECTED_UDP)};
        const errors = [];
        const socket = await openConnectedUdp('${topology.server.address}', ${PORT}, { recvBufferSize: 65536, backend: '${backend}' }, { datagram: () => undefined, error: (e) => errors.push(e.code) });
        for (let i = 0; i < ${DATAGRAMS}; i++) {
          const data = Buffer.alloc(${BYTES}, 0x61);
          data.writeUInt32BE(i, 0);
          socket.send(data);
        }
        const queuedAfterBurst = socket.queuedSends();
        const started = Date.now();
        while (socket.queuedSends() > 0 && Date.now() - started < 30000) await new Promise((resolve) => setTimeout(resolve, 20));
        console.log(JSON.stringify({ backend: socket.backend, queuedAfterBurst, queuedAtEnd: socket.queuedSends(), errors }));
        socket.close();`,
      );
      const sent = JSON.parse(await sender.done) as { backend: string; queuedAfterBurst: number; queuedAtEnd: number; errors: string[] };
      const received = JSON.parse((await sink.done).replace("listening\n", "")) as { received: number; outOfOrder: number };
      t.diagnostic(`${DATAGRAMS} datagrams of ${BYTES} B: ${sent.queuedAfterBurst} waited for the send buffer after the burst`);
      assert.equal(sent.backend, backend);
      assert.deepEqual(sent.errors, []);
      assert.ok(sent.queuedAfterBurst > 0, `the kernel took the whole burst at once (${DATAGRAMS} × ${BYTES} B): the send buffer was never full, so this test proves nothing`);
      assert.equal(sent.queuedAtEnd, 0, 'datagrams still waited 30 s after the burst');
      assert.deepEqual(received, { received: DATAGRAMS, outOfOrder: 0 });
    } finally {
      topology.teardown();
    }
  });
}
