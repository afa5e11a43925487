/**
 * The link emulator for datagrams (SIP over UDP): a UDP relay on loopback that adds delay (fixed
 * + jitter) and drops datagrams at random, per direction. Each client address gets its own
 * socket towards the server, so the server's answers find their way back to the right client.
 *
 * What it cannot do for SIP: requests the server starts (NOTIFY, MESSAGE to a user) go to the
 * Contact the user registered, i.e. straight to the client, not through the relay. Delay and loss
 * therefore apply to the client's requests and the server's responses.
 *
 * Unlike the TCP proxy, jitter may reorder datagrams, as a real network may. Bounded: held
 * datagrams and client mappings are capped (beyond: dropped and counted), delays are capped.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { MAX_FAULT_MS, type Direction } from './link-proxy.js';

export interface UdpLinkProxyOptions {
  readonly targetHost: string;
  readonly targetPort: number;
  readonly listenPort?: number;
  /** Client addresses relayed at once (default 4096); datagrams from more are dropped. */
  readonly maxClients?: number;
  /** Datagrams held back (delayed) at once, over both directions (default 100,000). */
  readonly maxHeldDatagrams?: number;
  readonly random?: () => number;
}

export interface UdpLinkProxyStats {
  readonly clients: number;
  readonly upstreamDatagrams: number;
  readonly downstreamDatagrams: number;
  readonly upstreamBytes: number;
  readonly downstreamBytes: number;
  /** Dropped on purpose (loss) or because a bound was reached. */
  readonly dropped: number;
  readonly held: number;
}

interface UdpShape {
  delayMs: number;
  jitterMs: number;
  lossPercent: number;
}

export class UdpLinkProxy {
  private readonly front = createSocket('udp4');
  /** Client "address:port" → its socket towards the server. */
  private readonly clients = new Map<string, Socket>();
  private readonly shapes: Record<'upstream' | 'downstream', UdpShape> = {
    upstream: { delayMs: 0, jitterMs: 0, lossPercent: 0 },
    downstream: { delayMs: 0, jitterMs: 0, lossPercent: 0 },
  };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly random: () => number;
  private counts = { upstreamDatagrams: 0, downstreamDatagrams: 0, upstreamBytes: 0, downstreamBytes: 0, dropped: 0 };
  private closed = false;

  constructor(private readonly options: UdpLinkProxyOptions) {
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(options.targetHost)) throw new Error(`udp link proxy: target ${options.targetHost} is not on loopback`);
    this.random = options.random ?? Math.random;
    this.front.on('message', (datagram, from) => this.fromClient(datagram, from));
    this.front.on('error', () => {});
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.front.once('error', reject);
      this.front.bind(this.options.listenPort ?? 0, '127.0.0.1', () => {
        this.front.off('error', reject);
        resolve({ host: '127.0.0.1', port: this.front.address().port });
      });
    });
  }

  get port(): number {
    return this.front.address().port;
  }

  setDelay(delayMs: number, jitterMs = 0, direction: Direction = 'both'): void {
    for (const shape of this.shapesOf(direction)) {
      shape.delayMs = bounded(delayMs, 'delay');
      shape.jitterMs = bounded(jitterMs, 'jitter');
    }
  }

  /** Drops each datagram in `direction` with probability `percent`/100. */
  setLoss(percent: number, direction: Direction = 'both'): void {
    if (!(percent >= 0 && percent <= 100)) throw new RangeError('udp link proxy: loss must be within 0..100 %');
    for (const shape of this.shapesOf(direction)) shape.lossPercent = percent;
  }

  stats(): UdpLinkProxyStats {
    return { ...this.counts, clients: this.clients.size, held: this.timers.size };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.clients.values()) socket.close();
    this.clients.clear();
    await new Promise<void>((resolve) => this.front.close(() => resolve()));
  }

  private fromClient(datagram: Buffer, from: RemoteInfo): void {
    const key = `${from.address}:${from.port}`;
    let back = this.clients.get(key);
    if (!back) {
      if (this.clients.size >= (this.options.maxClients ?? 4096)) {
        this.counts.dropped++;
        return;
      }
      back = createSocket('udp4');
      back.on('error', () => {});
      back.on('message', (reply) => this.forward('downstream', reply, (bytes) => this.front.send(bytes, from.port, from.address)));
      back.bind(0, '127.0.0.1');
      this.clients.set(key, back);
    }
    const socket = back;
    this.forward('upstream', datagram, (bytes) => socket.send(bytes, this.options.targetPort, this.options.targetHost));
  }

  private forward(direction: 'upstream' | 'downstream', datagram: Buffer, send: (bytes: Buffer) => void): void {
    const shape = this.shapes[direction];
    if (this.closed || (shape.lossPercent > 0 && this.random() * 100 < shape.lossPercent)) {
      this.counts.dropped++;
      return;
    }
    const deliver = () => {
      if (this.closed) return;
      this.counts[`${direction}Datagrams`]++;
      this.counts[`${direction}Bytes`] += datagram.length;
      send(datagram);
    };
    const delay = shape.delayMs + shape.jitterMs * this.random();
    if (delay <= 0) return deliver();
    if (this.timers.size >= (this.options.maxHeldDatagrams ?? 100_000)) {
      this.counts.dropped++;
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      deliver();
    }, delay);
    this.timers.add(timer);
  }

  private shapesOf(direction: Direction): UdpShape[] {
    return direction === 'both' ? [this.shapes.upstream, this.shapes.downstream] : [this.shapes[direction]];
  }
}

function bounded(ms: number, what: string): number {
  if (!(ms >= 0 && ms <= MAX_FAULT_MS)) throw new RangeError(`udp link proxy: ${what} must be within 0..${MAX_FAULT_MS} ms (got ${ms})`);
  return ms;
}

export async function startUdpLinkProxy(options: UdpLinkProxyOptions): Promise<UdpLinkProxy> {
  const proxy = new UdpLinkProxy(options);
  await proxy.listen();
  return proxy;
}
