import { spawnSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectedUdpBackend, openConnectedUdp, UDP_READ_BATCH, type ConnectedUdpBackend, type ConnectedUdpSocket } from '../../src/protocols/connected-udp.js';
import { freePort } from '../../src/lab/ports.js';
import { sipProtocol } from '../../src/protocols/sip/index.js';

/**
 * The addon is built by `imload lab install` (scripts/build-native.mjs), which CI runs. In CI a missing addon fails here:
 * without it every SIP figure would quietly be node:dgram's. Locally the native half is skipped,
 * saying why.
 */
const available = connectedUdpBackend();
const nativeSkip = available.backend === 'native' ? false : `the UDP addon is not built here (${available.reason})`;

test('the UDP addon is built where the tests run in CI', (t) => {
  if (!process.env.CI && nativeSkip) return t.skip(nativeSkip);
  assert.equal(available.backend, 'native', available.reason);
});

/** A server on loopback that answers each datagram with its own bytes and the sender's port. */
async function echoServer(): Promise<{ socket: Socket; port: number; senders: RemoteInfo[]; texts: string[] }> {
  const socket = createSocket('udp4');
  const senders: RemoteInfo[] = [];
  const texts: string[] = [];
  socket.on('message', (data, from) => {
    senders.push(from);
    texts.push(data.toString());
    // `burst N`: answer with N numbered datagrams at once (more than one read batch).
    const burst = /^burst (\d+)$/.exec(data.toString());
    if (burst !== null) {
      for (let i = 0; i < Number(burst[1]); i++) socket.send(`reply ${i} ${'x'.repeat(i % 7)}`, from.port, from.address);
      return;
    }
    socket.send(Buffer.concat([Buffer.from('echo '), data]), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, senders, texts };
}

for (const backend of ['native', 'node:dgram'] as ConnectedUdpBackend[]) {
  describe(`connected UDP over ${backend}`, { skip: backend === 'native' && nativeSkip }, () => {
    let server: Awaited<ReturnType<typeof echoServer>>;
    before(async () => {
      server = await echoServer();
    });
    after(() => server.socket.close());

    /** Opens a socket to the echo server whose datagrams and errors land in arrays; `until` waits for a count. */
    async function open(port = server.port, host = '127.0.0.1'): Promise<{ socket: ConnectedUdpSocket; received: Buffer[]; errors: NodeJS.ErrnoException[]; until(n: number): Promise<void>; untilError(): Promise<void> }> {
      const received: Buffer[] = [];
      const errors: NodeJS.ErrnoException[] = [];
      let wake = (): void => undefined;
      const socket = await openConnectedUdp(host, port, { recvBufferSize: 1 << 20, backend }, {
        datagram: (data) => {
          received.push(data);
          wake();
        },
        error: (error) => {
          errors.push(error);
          wake();
        },
      });
      const waitFor = (done: () => boolean): Promise<void> =>
        new Promise((resolve, reject) => {
          const bound = setTimeout(() => reject(new Error(`timed out with ${received.length} datagrams and ${errors.length} errors`)), 5000);
          const check = (): void => {
            if (!done()) return;
            clearTimeout(bound);
            wake = () => undefined;
            resolve();
          };
          wake = check;
          check();
        });
      return { socket, received, errors, until: (n) => waitFor(() => received.length >= n), untilError: () => waitFor(() => errors.length > 0) };
    }

    test('says which implementation it is, and its local address is where the server sees it from', async () => {
      const { socket, until } = await open();
      try {
        assert.equal(socket.backend, backend);
        socket.send(Buffer.from('hello'));
        await until(1);
        const from = server.senders.at(-1)!;
        assert.equal(socket.localHost, from.address);
        assert.equal(socket.localPort, from.port);
      } finally {
        socket.close();
      }
    });

    test('over IPv6 loopback too: a datagram out and its answer back, from a local ::1', async () => {
      const server = createSocket('udp6');
      server.on('message', (data, from) => server.send(Buffer.concat([Buffer.from('v6 '), data]), from.port, from.address));
      await new Promise<void>((resolve) => server.bind(0, '::1', resolve));
      const { socket, received, errors, until } = await open(server.address().port, '::1');
      try {
        assert.equal(socket.localHost, '::1');
        socket.send(Buffer.from('hello'));
        await until(1);
        assert.equal(received[0]!.toString(), 'v6 hello');
        assert.deepEqual(errors, []);
      } finally {
        socket.close();
        server.close();
      }
    });

    test('each datagram arrives whole, in a Buffer the caller keeps', async () => {
      const { socket, received, until } = await open();
      try {
        const big = Buffer.alloc(60_000, 0x61);
        socket.send(Buffer.from('first'));
        socket.send(big);
        socket.send(Buffer.from('third'));
        await until(3);
        // The first is unchanged though later datagrams were read after it (the addon reads into
        // buffers it reuses: what it hands out must be a copy).
        assert.equal(received[0]!.toString(), 'echo first');
        assert.equal(received[1]!.length, 5 + big.length);
        assert.ok(received[1]!.subarray(5).equals(big));
        assert.equal(received[2]!.toString(), 'echo third');
      } finally {
        socket.close();
      }
    });

    test('a burst larger than one read batch arrives complete and in order, and the batch is reported full', async () => {
      const { socket, received, until } = await open();
      try {
        const count = UDP_READ_BATCH * 3 + 5;
        socket.takeReads();
        socket.send(Buffer.from(`burst ${count}`));
        await until(count);
        assert.deepEqual(
          received.map((data) => data.toString()),
          Array.from({ length: count }, (_, i) => `reply ${i} ${'x'.repeat(i % 7)}`),
        );
        assert.equal(socket.takeReads(), count);
        assert.equal(socket.takeReads(), 0);
      } finally {
        socket.close();
      }
    });

    test('an ICMP port-unreachable comes back as ECONNREFUSED, and the socket goes on receiving after it', async () => {
      const port = await freePort('127.0.0.1');
      const { socket, errors, received, untilError, until } = await open(port);
      const late = createSocket('udp4');
      try {
        socket.send(Buffer.from('anyone?'));
        // Linux reports the ICMP error on the socket's next read or send.
        const nudge = setInterval(() => socket.send(Buffer.from('anyone?')), 20);
        await untilError().finally(() => clearInterval(nudge));
        assert.equal(errors[0]!.code, 'ECONNREFUSED', errors[0]!.message);
        // A server now on that port answers: the error did not stop the socket reading (libuv
        // stops a poll handle on EPOLLERR; the addon must start it again).
        late.on('message', (data, from) => late.send(Buffer.concat([Buffer.from('late '), data]), from.port, from.address));
        await new Promise<void>((resolve) => late.bind(port, '127.0.0.1', resolve));
        socket.send(Buffer.from('again'));
        await until(1);
        assert.equal(received[0]!.toString(), 'late again');
      } finally {
        socket.close();
        late.close();
      }
    });

    test('after close nothing more is delivered and a send does nothing', async () => {
      const { socket, received, until } = await open();
      // More than one read batch: some are still in the kernel when the socket closes, or the
      // check below would hold whatever close did.
      const burst = UDP_READ_BATCH * 6;
      socket.send(Buffer.from(`burst ${burst}`));
      await until(1);
      socket.close();
      const count = received.length;
      assert.ok(count < burst, `all ${burst} were delivered before the close: nothing was left to hold back`);
      socket.send(Buffer.from('after close'));
      // Another socket's round trip through the same server: by its answer, anything the closed
      // socket would have got has been sent.
      const other = await open();
      try {
        other.socket.send(Buffer.from('marker'));
        await other.until(1);
      } finally {
        other.socket.close();
      }
      assert.equal(received.length, count, 'datagrams were delivered after close');
      assert.ok(!server.texts.includes('after close'), 'a send after close reached the server');
      socket.close();
    });
  });
}

test('a process whose sockets are closed exits on its own (the addon leaves no handle open)', (t) => {
  if (nativeSkip) return t.skip(nativeSkip);
  const program = `
    import { openConnectedUdp } from ${JSON.stringify(new URL('../../src/protocols/connected-udp.ts', import.meta.url).href)};
    import { createSocket } from 'node:dgram';
    const server = createSocket('udp4');
    server.on('message', (d, from) => server.send(d, from.port, from.address));
    server.bind(0, '127.0.0.1', async () => {
      const socket = await openConnectedUdp('127.0.0.1', server.address().port, { recvBufferSize: 65536, backend: 'native' }, {
        datagram: () => { socket.close(); server.close(); console.log('closed'); },
        error: (e) => { throw e; },
      });
      socket.send(Buffer.from('x'));
    });`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { encoding: 'utf8', timeout: 15_000 });
  assert.equal(child.error, undefined, 'the process did not exit on its own within 15 s');
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'closed');
});

test('a SIP agent over UDP says in the run\'s notes when it uses node:dgram, and not when it uses the addon', async (t) => {
  const notesOf = async (): Promise<string[]> => {
    const notes: string[] = [];
    const agent = await sipProtocol.createAgent(
      { name: 't', protocol: 'sip', host: '127.0.0.1', port: await freePort('127.0.0.1'), transport: 'udp', domain: 'im.test', options: {} },
      { bytes: () => undefined, metric: () => undefined, error: () => undefined, note: (key, text) => notes.push(`${key}: ${text}`) },
    );
    await agent.close();
    return notes;
  };
  const saved = process.env.IMLOAD_UDP;
  process.env.IMLOAD_UDP = 'node';
  try {
    const notes = await notesOf();
    assert.equal(notes.length, 1, notes.join('\n'));
    assert.match(notes[0]!, /^sip-udp-node-dgram: SIP over UDP used node:dgram, not imload's UDP addon \(IMLOAD_UDP=node\)/);
  } finally {
    if (saved === undefined) delete process.env.IMLOAD_UDP;
    else process.env.IMLOAD_UDP = saved;
  }
  if (nativeSkip) return t.skip(nativeSkip);
  assert.deepEqual(await notesOf(), []);
});
