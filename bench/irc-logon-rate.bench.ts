/**
 * IRC logon rate: imload's IRC agent against a minimal raw-socket client, same lab InspIRCd,
 * same run, alternating rounds. Prints registrations/s for each and the ratio (target ≥ 0.8).
 *
 *   node --import tsx bench/irc-logon-rate.bench.ts [users-per-round=4000] [rounds=3]
 */
import { connect, type Socket } from 'node:net';
import { startInspircd } from '../src/protocols/irc/lab.js';
import { ircProtocol } from '../src/protocols/irc/index.js';
import { countingEvents } from './counting-events.js';

const users = Number(process.argv[2] ?? 4000);
const rounds = Number(process.argv[3] ?? 3);
const sourceOf = (i: number) => `127.0.0.${2 + (i % 250)}`;

/** The least a client can do: NICK/USER and wait for 001. */
async function rawRound(port: number, prefix: string): Promise<{ seconds: number; sockets: Socket[] }> {
  const started = performance.now();
  const sockets: Socket[] = [];
  await Promise.all(
    Array.from({ length: users }, (_, i) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, localAddress: sourceOf(i) });
        sockets.push(socket);
        let buffer = '';
        socket.setEncoding('utf8');
        socket.on('error', reject);
        socket.on('connect', () => socket.write(`NICK ${prefix}${i}\r\nUSER ${prefix}${i} 0 * :raw\r\n`));
        socket.on('data', (chunk: string) => {
          buffer += chunk;
          if (buffer.includes(' 001 ')) {
            socket.removeAllListeners('data');
            resolve();
          }
          if (buffer.includes('PING')) socket.write(`PONG :${/PING :?(\S+)/.exec(buffer)?.[1]}\r\n`);
        });
      }),
    ),
  );
  return { seconds: (performance.now() - started) / 1000, sockets };
}

const silentEvents = countingEvents().events;

async function imloadRound(port: number, prefix: string) {
  const agent = await ircProtocol.createAgent({ name: 'bench', protocol: 'irc', host: '127.0.0.1', port, transport: 'tcp', options: {} });
  const vus = Array.from({ length: users }, (_, i) =>
    agent.createUser({ index: i, name: `${prefix}${i}`, contacts: [], channels: [], sourceAddress: sourceOf(i) }, silentEvents),
  );
  const started = performance.now();
  await Promise.all(vus.map((vu) => vu.logon()));
  return { seconds: (performance.now() - started) / 1000, vus };
}

const server = await startInspircd();
console.log(`InspIRCd ${server.version} on ${server.url}; ${users} users per round, ${rounds} rounds each`);
const rawRates: number[] = [];
const imloadRates: number[] = [];
try {
  for (let round = 0; round < rounds; round++) {
    const raw = await rawRound(server.port, `r${round}x`);
    rawRates.push(users / raw.seconds);
    for (const socket of raw.sockets) socket.end('QUIT\r\n');
    await new Promise((resolve) => setTimeout(resolve, 2000)); // let the server reap the last round

    const ours = await imloadRound(server.port, `i${round}x`);
    imloadRates.push(users / ours.seconds);
    await Promise.all(ours.vus.map((vu) => vu.logoff()));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    console.log(`round ${round + 1}: raw ${rawRates.at(-1)!.toFixed(0)} reg/s, imload ${imloadRates.at(-1)!.toFixed(0)} reg/s`);
  }
} finally {
  await server.stop();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rawMedian = median(rawRates);
const oursMedian = median(imloadRates);
console.log(`median registrations/s: raw client ${rawMedian.toFixed(0)}, imload ${oursMedian.toFixed(0)}, ratio ${(oursMedian / rawMedian).toFixed(2)} (target ≥ 0.80)`);
