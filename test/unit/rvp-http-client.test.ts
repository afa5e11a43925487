/**
 * The RVP agent's and server's keep-alive pool (src/protocols/rvp/wire/http-client.ts) at the
 * edge of its own idle close: a request due in the same turn of the event loop as a pooled
 * connection's idle timer is never written into the connection that timer destroyed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { HttpClientPool } from '../../src/protocols/rvp/wire/http-client.js';

const IDLE_MS = 50;

test('a request due as a pooled connection idles out goes on a new connection, not into the closed one', async () => {
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    accepted.push(socket);
    socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const pool = new HttpClientPool({ maxConnectionsPerOrigin: 4, connectTimeoutMs: 2000, requestTimeoutMs: 2000, idleTimeoutMs: IDLE_MS });
  const request = () => pool.request('127.0.0.1', port, { method: 'NOTIFY', target: '/instmsg/u1', headers: [['Host', `127.0.0.1:${port}`]] });
  try {
    assert.equal((await request()).response.status, 200);
    // A timer of the idle timeout's length, set after it (as a user's next send is), then the
    // event loop held past both: they fire in one turn, the pool's idle close first.
    const second = new Promise<number>((resolve, reject) => setTimeout(() => request().then((r) => resolve(r.response.status), reject), IDLE_MS));
    const until = performance.now() + 3 * IDLE_MS;
    while (performance.now() < until);
    assert.equal(await second, 200, 'the request due with the idle close was answered');
    assert.equal(accepted.length, 2, 'it went on a connection of its own');
  } finally {
    pool.close();
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
