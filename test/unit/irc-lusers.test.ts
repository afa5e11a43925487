/**
 * The one LUSERS probe (lusers.ts) against a scripted server: what 251 and 266 say, the kept
 * observer asking again on one connection, and a silent server named in the error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { LusersObserver, queryLusers, readUsersLine, type LusersReply } from '../../src/protocols/irc/lusers.js';

/** A scripted IRC server: 001 after USER; LUSERS answered with `answer()`'s lines; PING with PONG. */
async function scripted(answer: () => string[], silent = false): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket: Socket) => {
    connections++;
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      if (silent) return;
      for (const line of chunk.split('\r\n')) {
        const [command, ...rest] = line.split(' ');
        if (command === 'USER') socket.write(':s 001 me :Welcome\r\n');
        else if (command === 'LUSERS') socket.write(answer().map((l) => `${l}\r\n`).join(''));
        else if (command === 'PING') socket.write(`:s PONG s ${rest.join(' ')}\r\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, connections: () => connections };
}

test('251 and 266: servers, visible + invisible users, global users (each including the asker)', async () => {
  const { server, port } = await scripted(() => [':s 251 me :There are 5 users and 7 invisible on 3 servers', ':s 266 me 12 40 :Current global users: 12  Max: 40']);
  try {
    assert.deepEqual(await queryLusers({ host: '127.0.0.1', port }), { users: 12, servers: 3, globalUsers: 12 } satisfies LusersReply);
  } finally {
    server.close();
  }
});

test("ngIRCd's 251 counts services apart: they are not users", () => {
  const reply: LusersReply = {};
  readUsersLine('There are 4 users and 2 services on 1 servers', reply);
  assert.deepEqual(reply, { users: 4, servers: 1 });
});

test('a kept observer asks again on the same connection and sees the counts change', async () => {
  let servers = 2;
  const { server, port, connections } = await scripted(() => [`:s 251 me :There are 1 users and 0 invisible on ${servers} servers`]);
  const observer = await LusersObserver.open({ host: '127.0.0.1', port });
  try {
    assert.equal((await observer.ask()).servers, 2);
    servers = 3;
    assert.equal((await observer.ask()).servers, 3);
    assert.equal(connections(), 1);
  } finally {
    observer.close();
    server.close();
  }
});

test('a server that never registers the observer: an error naming it and the wait', async () => {
  const { server, port } = await scripted(() => [], true);
  try {
    await assert.rejects(queryLusers({ host: '127.0.0.1', port }, 300), new RegExp(`no registration from 127\\.0\\.0\\.1:${port} in 300 ms`));
  } finally {
    server.close();
  }
});
