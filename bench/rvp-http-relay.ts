/**
 * The baseline for bench/rvp-notify-relay.ts: the smallest node:http relay doing the hop an RVP
 * home server does for an IM — take a request, send its body on to a callback listener as a
 * NOTIFY over a keep-alive pool, answer with the listener's status. No parsing, no lookup, no
 * authentication: the ceiling a Node relay can reach on this machine.
 *
 *   node --import tsx bench/rvp-http-relay.ts <listener-port>    # prints "relay listening on PORT"
 */
import { Agent, createServer, request } from 'node:http';

const listenerPort = Number(process.argv[2]);
if (!Number.isInteger(listenerPort) || listenerPort <= 0) {
  process.stderr.write('usage: rvp-http-relay.ts <listener-port>\n');
  process.exit(2);
}
// As many connections to the listener as the RVP server keeps per callback origin (relayConnections).
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

// Bodiless answers with an explicit length, as the RVP server writes them (Node would chunk).
const EMPTY = { 'Content-Length': 0 };

const server = createServer((incoming, answer) => {
  const chunks: Buffer[] = [];
  incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
  incoming.on('end', () => {
    const body = Buffer.concat(chunks);
    const forward = request(
      {
        host: '127.0.0.1',
        port: listenerPort,
        method: 'NOTIFY',
        path: incoming.url,
        agent,
        headers: { 'Content-Type': 'text/xml', 'Content-Length': body.length, 'RVP-Notifications-Version': '0.2' },
      },
      (result) => {
        result.resume();
        result.on('end', () => answer.writeHead(result.statusCode ?? 502, EMPTY).end());
      },
    );
    forward.on('error', () => answer.writeHead(502, EMPTY).end());
    forward.end(body);
  });
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`relay listening on ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
process.once('SIGINT', () => server.close(() => process.exit(0)));
