/**
 * imload's REGISTER path without sockets: codec, user agent, client transaction and
 * registration, as bench/sip-driver.ts drives them, against a fake registrar that answers every
 * REGISTER with a Kamailio-shaped 200 OK on the next event-loop turn. One or more checkouts of
 * the code are loaded into one process and measured in alternating slices (each slice begun by
 * the next checkout), so an A/B comparison
 * meets the same machine (this host's load moves any figure taken minutes apart by ±20 %), and
 * it needs no Kamailio and no benchmark lock.
 *
 *   node --import tsx bench/sip-register-path.bench.ts [--slices 16] [--per-slice 5000] [checkout ...]
 *
 * A checkout is a directory holding `src/` (default: this one); e.g. an old commit unpacked with
 * `git archive <commit> src | tar -x -C /tmp/old`. Prints, per checkout, µs of process CPU per
 * REGISTER in each slice (the first slices pay V8's warm-up: what a fresh process pays) and per
 * parse of a 200 OK alone. The fake registrar's own work (answer text and bytes) is in the
 * REGISTER figure, the same for every checkout; the sockets (dgram, the kernel) are not: see
 * bench/sip-vs-sipp.bench.ts for the whole cost.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { VuEvents } from '../src/protocols/types.js';
import { countingEvents } from './counting-events.js';

const { values: args, positionals } = parseArgs({
  options: { slices: { type: 'string', default: '16' }, 'per-slice': { type: 'string', default: '5000' } },
  allowPositionals: true,
});
const SLICES = Number(args.slices);
const PER_SLICE = Number(args['per-slice']);
/** REGISTERs started per event-loop turn (the driver starts 20 per 5 ms tick at 4,000/s). */
const BATCH = 20;
const USERS = 100_000;
const checkouts = positionals.length > 0 ? positionals.map((dir) => resolve(dir)) : [fileURLToPath(new URL('..', import.meta.url))];

/** The same 200 OK Kamailio sends to a REGISTER (its Via, From, To, Call-ID and Contact echoed). */
function registrarAnswer(request: Buffer): Buffer {
  const text = request.toString('latin1');
  const value = (name: string): string => {
    const at = text.indexOf(`\r\n${name}: `) + name.length + 4;
    return text.slice(at, text.indexOf('\r\n', at));
  };
  return Buffer.from(
    `SIP/2.0 200 OK\r\nVia: ${value('Via').replace(';rport', ';rport=40000;received=127.0.0.1')}\r\nFrom: ${value('From')}\r\n` +
      `To: ${value('To')};tag=f3f5e2b6ab8ac4b0ca26bbb4d3bbd6f5.8e2c\r\nCall-ID: ${value('Call-ID')}\r\nCSeq: 1 REGISTER\r\n` +
      `Contact: ${value('Contact')};expires=3600\r\nServer: kamailio (5.6.3 (x86_64/linux))\r\nContent-Length: 0\r\n\r\n`,
    'latin1',
  );
}

interface Measured {
  /** µs of CPU per REGISTER over one slice. */
  registerSlice(): Promise<number>;
  /** µs of CPU per parse of a 200 OK, over `count` parses. */
  parseSlice(count: number): number;
}

async function load(checkout: string, events: VuEvents): Promise<Measured> {
  const module = (path: string) => import(`${checkout}/src/protocols/sip/${path}`);
  const [{ parseSipMessage }, { Registration }, { UserAgent }, { userIndexFromBranch }, { SipParseError }] = await Promise.all(
    ['codec.ts', 'registration.ts', 'ua.ts', 'channel.ts', 'message.ts'].map(module),
  );
  const agents: Array<{ receive(message: unknown, bytes: number): void } | undefined> = [];
  let answers: Buffer[] = [];
  // A user's transport: the registrar's answer is queued for the next turn, as a socket would deliver it.
  class FakeChannel {
    readonly transport = 'UDP';
    readonly reliable = false;
    readonly localHost = '127.0.0.1';
    readonly localPort = 40000;
    constructor(private readonly index: number) {}
    send(data: Buffer): boolean {
      answers.push(registrarAnswer(data));
      return true;
    }
    close(): void {
      agents[this.index] = undefined;
    }
  }
  const deliver = (): void => {
    const due = answers;
    answers = [];
    for (const data of due) {
      const message = parseSipMessage(data);
      if (message instanceof SipParseError) throw message;
      agents[userIndexFromBranch(message.branch)]?.receive(message, data.length);
    }
  };
  // What bench/sip-driver.ts does per REGISTER.
  const register = async (n: number): Promise<boolean> => {
    const ua = new UserAgent({ index: n, user: `i${String(n + 1).padStart(6, '0')}`, domain: 'lab.test', timers: { t1Ms: 500, t2Ms: 4000 }, instanceTag: 'a1b2c3d4' }, events);
    agents[n] = ua;
    ua.attach(new FakeChannel(n));
    const registration = new Registration(ua, 'lab.test', 3600, events);
    try {
      return (await registration.register()).status < 300;
    } finally {
      registration.cancel();
      ua.close('done');
    }
  };
  let next = 0;
  const sample = Array.from({ length: 100 }, (_, i) => {
    const name = `i${String(i + 1).padStart(6, '0')}`;
    return registrarAnswer(Buffer.from(
      `REGISTER sip:lab.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK${i.toString(36)}.a1b2c3d4${i.toString(36)};rport\r\n` +
        `From: <sip:${name}@lab.test>;tag=a1b2c3d4${i}\r\nTo: <sip:${name}@lab.test>\r\nCall-ID: ${i}.a1b2c3d41@imload\r\n` +
        `Contact: <sip:${name}@127.0.0.1:40000;transport=udp>\r\n`,
      'latin1',
    ));
  });
  return {
    async registerSlice() {
      const before = process.cpuUsage();
      for (let i = 0; i < PER_SLICE; i += BATCH) {
        const pending: Array<Promise<boolean>> = [];
        for (let j = 0; j < BATCH; j++) pending.push(register(next++ % USERS));
        await new Promise((resolve) => setImmediate(resolve));
        deliver();
        for (const outcome of pending) if (!(await outcome)) throw new Error(`${checkout}: a REGISTER failed`);
      }
      const used = process.cpuUsage(before);
      return (used.user + used.system) / PER_SLICE;
    },
    parseSlice(count) {
      const before = process.cpuUsage();
      for (let i = 0; i < count; i++) if (parseSipMessage(sample[i % sample.length]) instanceof SipParseError) throw new Error('parse failed');
      const used = process.cpuUsage(before);
      return (used.user + used.system) / count;
    },
  };
}

const { events } = countingEvents();
const measured = await Promise.all(checkouts.map((checkout) => load(checkout, events)));
const registerFigures: number[][] = checkouts.map(() => []);
const parseFigures: number[][] = checkouts.map(() => []);
for (let slice = 0; slice < SLICES; slice++) {
  // Each slice starts with the next checkout: in a fixed order the one measured second read
  // 0.1–0.2 µs lower (fifteenth session); rotated, one checkout given twice reads 4.91 and 4.97.
  for (let k = 0; k < checkouts.length; k++) {
    const c = (k + slice) % checkouts.length;
    registerFigures[c]!.push(await measured[c]!.registerSlice());
    parseFigures[c]!.push(measured[c]!.parseSlice(PER_SLICE * 4));
  }
}
/** Median of the second half: the warm figure. */
const warm = (figures: number[]): number => {
  const late = figures.slice(Math.floor(figures.length / 2)).sort((a, b) => a - b);
  return late[Math.floor(late.length / 2)]!;
};
for (let c = 0; c < checkouts.length; c++) {
  process.stdout.write(
    `${checkouts[c]}\n  REGISTER µs CPU by slice of ${PER_SLICE}: ${registerFigures[c]!.map((x) => x.toFixed(1)).join(' ')}; warm (median of the second half) ${warm(registerFigures[c]!).toFixed(2)}\n` +
      `  parse of a 200 OK, µs: ${parseFigures[c]!.map((x) => x.toFixed(2)).join(' ')}; warm ${warm(parseFigures[c]!).toFixed(2)}\n`,
  );
}
