/**
 * The live outputs' POST, fetch against node:http with a keep-alive agent (src/outputs/post-queue.ts):
 * CPU per request of a 6 KB body to a receiver in the same process (client and server both
 * counted), after a warm-up, in alternating rounds of 1,000.
 *
 *   node --import tsx bench/output-post.bench.ts [--rounds 4] [--requests 1000]
 */
import { Agent, createServer, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, requests: { type: 'string' } } });
const rounds = Number(values.rounds ?? 4);
const requests = Number(values.requests ?? 1000);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(204).end());
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/write`;
const body = new Uint8Array(6000).fill(7);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function viaHttp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length };
    const req = request(url, { method: 'POST', agent, headers, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function viaFetch(): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body, signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
}

/** CPU µs per request, this process (client and server). */
async function measure(post: () => Promise<unknown>, n: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await post();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

for (let i = 0; i < 200; i++) {
  await viaFetch();
  await viaHttp();
}
for (let round = 0; round < rounds; round++) {
  const fetchUs = await measure(viaFetch, requests);
  const httpUs = await measure(viaHttp, requests);
  console.log(`round ${round}: fetch ${fetchUs.toFixed(0)} µs CPU/request (client+server), node:http keep-alive ${httpUs.toFixed(0)} µs; ratio ${(httpUs / fetchUs).toFixed(2)}`);
}
server.close();
agent.destroy();
