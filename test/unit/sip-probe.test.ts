/**
 * The start-up probe of a SIP target over UDP: an OPTIONS any SIP element must answer. A closed
 * port fails at once (ICMP port unreachable), a silent one after the probe's time, and any
 * response (whatever its status, after a lost first datagram too) counts as an answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { parseSipMessage } from '../../src/protocols/sip/codec.js';
import { probeSipUdp } from '../../src/protocols/sip/probe.js';
import { buildResponse } from '../../src/protocols/sip/responses.js';
import type { AgentTarget } from '../../src/protocols/types.js';

const target = (port: number): AgentTarget => ({ name: 'sip', protocol: 'sip', host: '127.0.0.1', port, transport: 'udp', options: { t1Ms: 50 } });

function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

/** A UDP port with nothing bound: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const socket = await bound();
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

test('a UDP port where nothing listens fails the probe as port unreachable', async () => {
  const problem = await probeSipUdp(target(await closedPort()), 10_000);
  assert.match(problem ?? '', /nothing listens on this UDP port \(ICMP port unreachable/);
});

test('a bound port that never answers fails the probe once its time is up', async () => {
  const silent = await bound();
  let received = 0;
  silent.on('message', () => received++);
  try {
    const problem = await probeSipUdp(target(silent.address().port), 600);
    assert.equal(problem, 'no SIP response to OPTIONS over UDP within 600 ms');
    assert.ok(received >= 2, `the OPTIONS was retransmitted (${received} received)`);
  } finally {
    silent.close();
  }
});

test('any SIP response to the OPTIONS passes, after a lost first datagram too', async () => {
  const server = await bound();
  const seen: string[] = [];
  server.on('message', (data, from) => {
    const request = parseSipMessage(data);
    assert.ok('kind' in request && request.kind === 'request');
    seen.push(request.method);
    // Drop the first as a lossy path would; answer the retransmission with a status that is no success.
    if (seen.length === 1) return;
    server.send(buildResponse(request, 404, 'Not Found', 'probe-test'), from.port, from.address);
  });
  try {
    assert.equal(await probeSipUdp(target(server.address().port), 10_000), undefined);
    assert.deepEqual(seen.slice(0, 2), ['OPTIONS', 'OPTIONS']);
  } finally {
    server.close();
  }
});

test('a datagram that is not a response to the probe does not pass it', async () => {
  const server = await bound();
  server.on('message', (_data, from) => server.send(Buffer.from('hello, not SIP'), from.port, from.address));
  try {
    assert.match((await probeSipUdp(target(server.address().port), 400)) ?? '', /no SIP response/);
  } finally {
    server.close();
  }
});
