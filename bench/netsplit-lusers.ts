/**
 * Diagnostic for the cross-check after a netsplit (docs/topologies.md § The cross-check after a
 * netsplit): the global LUSERS count of each server of a 3-server lab network, and which of
 * imload's users each server sees (ISON), polled through an imload run with a netsplit of s1-s3;
 * after the link's return the lab's own heal wait (waitForNetwork) runs as in a lab run. One
 * persistent observer per server, counted in its 266. Prints a line whenever a reading changes.
 *
 *   flock /tmp/imload-integration.lock node --import tsx bench/netsplit-lusers.ts
 *   env: USERS (60), HOLD (16s), CUT_AT (5000 ms), CUT_FOR (3000 ms), POLL_MS (300)
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startInspircdNetwork, waitForNetwork } from '../src/protocols/irc/lab.js';
import { runCommand } from '../src/commands/run.js';
import { LineBuffer, parseLine } from '../src/protocols/irc/codec.js';

const USERS = Number(process.env.USERS ?? 60);
const NICKS = Array.from({ length: USERS }, (_, i) => `u${String(i + 1).padStart(6, '0')}`);

class Probe {
  private socket!: Socket;
  private lines = new LineBuffer();
  private waiting: ((r: { global?: number; servers?: number; seen: Set<string> }) => void) | undefined;
  private current = { global: undefined as number | undefined, servers: undefined as number | undefined, seen: new Set<string>() };
  constructor(readonly name: string, readonly host: string, readonly port: number) {}
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.socket = connect({ host: this.host, port: this.port });
      this.socket.setEncoding('utf8');
      const nick = `probe${this.name}`;
      this.socket.on('connect', () => this.socket.write(`NICK ${nick}\r\nUSER ${nick} 0 * :probe\r\n`));
      this.socket.on('data', (chunk: string) =>
        this.lines.push(chunk, (line) => {
          const m = parseLine(line);
          if (!m) return;
          const text = m.params[m.params.length - 1] ?? '';
          if (m.command === 'PING') this.socket.write(`PONG :${text}\r\n`);
          else if (m.command === '001') resolve();
          else if (m.command === '251') this.current.servers = Number(/on (\d+) server/.exec(text)?.[1]);
          else if (m.command === '266') this.current.global = Number(/global users:?\s*(\d+)/i.exec(text)?.[1]);
          else if (m.command === '303') {
            for (const n of text.split(' ')) if (n) this.current.seen.add(n);
          }
          else if (m.command === 'PONG' && text === 'probe-done') {
            const r = this.current;
            this.current = { global: undefined, servers: undefined, seen: new Set() };
            this.waiting?.(r);
          }
        }),
      );
    });
  }
  query(): Promise<{ global?: number; servers?: number; seen: Set<string> }> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      const half = Math.ceil(NICKS.length / 2);
      this.socket.write(`LUSERS\r\nISON ${NICKS.slice(0, half).join(' ')}\r\nISON ${NICKS.slice(half).join(' ')}\r\nPING :probe-done\r\n`);
    });
  }
  close() {
    this.socket.destroy();
  }
}

const network = await startInspircdNetwork({ servers: 3 });
const probes = network.servers.map((s, i) => new Probe(`s${i + 1}`, s.host, s.port));
for (const p of probes) await p.start();
const dir = mkdtempSync(join(tmpdir(), 'lusers-probe-'));
const file = join(dir, 'scenario.yaml');
writeFileSync(
  file,
  `version: 1
targets:
  net: { url: ${network.servers[0]!.url}, network: { urls: [${network.servers.map((s) => s.url).join(', ')}], spread: range } }
scenarios:
  it:
    target: net
    seed: 19
    timeScale: 240
    population:
      users: ${USERS}
      channels: { count: 3, perUser: { min: 1, max: 2 } }
    phases:
      - { phase: rampUp, rate: 100 }
      - { phase: hold, duration: ${process.env.HOLD ?? '16s'} }
      - { phase: rampDown, rate: 200 }
    behaviour:
      messagesPerHour: 6
      channelMessagesPerHour: 30
      activityStart: rampUpEnd
      activityDelay: 4s
`,
);
const t0 = Date.now();
const t = () => ((Date.now() - t0) / 1000).toFixed(2);
const link = network.links[1]!;
const cutAt = Number(process.env.CUT_AT ?? 5000);
const cutFor = Number(process.env.CUT_FOR ?? 3000);
setTimeout(() => console.log(`${t()} CUT s1-s3: dropped ${link.proxy.cut(cutFor)}`), cutAt);
// As the lab's heal does: poll every server's LUSERS with fresh clients until the network is whole.
setTimeout(() => {
  const back = Date.now();
  console.log(`${t()} LINK BACK`);
  void waitForNetwork(network.servers, 3, 60_000).then(() => console.log(`${t()} WHOLE (waitForNetwork) ${Date.now() - back} ms after the link's return`));
}, cutAt + cutFor);
let running = true;
const run = runCommand({ file, scenario: 'it', quiet: true, out: join(dir, 'run'), workers: 1, signal: new AbortController().signal }).finally(() => (running = false));
let last = '';
while (running) {
  const rows = await Promise.all(probes.map((p) => p.query()));
  const line = rows
    .map((r, i) => {
      const missing = NICKS.filter((n) => !r.seen.has(n));
      return `s${i + 1}: servers ${r.servers} global ${r.global} (−3 probes = ${(r.global ?? 0) - 3}) sees ${r.seen.size}${missing.length > 0 && missing.length < 10 ? ` missing ${missing.join(',')}` : ''}`;
    })
    .join(' | ');
  if (line !== last) console.log(`${t()} ${line}  [link open ${link.proxy.stats().open}]`);
  last = line;
  await new Promise((r) => setTimeout(r, Number(process.env.POLL_MS ?? 300)));
}
const { result } = await run;
const s = result.summary;
console.log(`${t()} run ended; crossCheck ${JSON.stringify(s.crossCheck)}; disconnects ${s.users.disconnects}; reconnects ${s.users.reconnects}; errors ${JSON.stringify(s.errors.byKind)}`);
console.log(`run folder ${join(dir, 'run')}`);
for (const p of probes) p.close();
await network.stop();
