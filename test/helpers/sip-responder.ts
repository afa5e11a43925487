/**
 * A SIP responder in a process of its own (forked by tests): answers every request it receives
 * on a UDP port with 200 OK at once, and reports the port and how many requests it answered.
 * Its own process, so it keeps answering while the test's event loop is blocked; the
 * answers sent are also counted in the file named by its first argument, which a blocked test
 * can still read.
 */
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { parseSipMessage } from '../../src/protocols/sip/codec.js';
import { buildResponse } from '../../src/protocols/sip/responses.js';

const progressFile = process.argv[2];
const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
let answered = 0;
let sent = 0;
socket.on('message', (data, from) => {
  const message = parseSipMessage(data);
  if (!('kind' in message) || message.kind !== 'request') return;
  answered++;
  // Counted in the file once sent: on loopback the answer is then in the caller's socket buffer.
  socket.send(buildResponse(message, 200, 'OK', 'responder'), from.port, from.address, () => {
    sent++;
    if (progressFile !== undefined) writeFileSync(progressFile, String(sent));
  });
});
socket.bind(0, '127.0.0.1', () => process.send!({ port: socket.address().port }));
process.on('message', (message: { report?: boolean }) => {
  if (message.report) process.send!({ answered });
});
process.on('disconnect', () => process.exit(0));
