/**
 * A link emulator for network faults: a TCP proxy on loopback that imload owns. Point a target at
 * it (`--target chat=irc://127.0.0.1:<proxy port>`) and it forwards to the real server while
 * adding delay and jitter per direction, stalls, bandwidth caps and dropped connections, all
 * changeable while a run goes on. This kernel has no netem (only tbf/htb), hence user space.
 *
 * Everything is bounded: delays and stalls are capped, queued bytes per direction pause the
 * reader, the number of connections is capped, and `close()` ends every socket and timer.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { ShapedPipe, openShape, type LinkShape } from './shaped-pipe.js';

export type Direction = 'upstream' | 'downstream' | 'both';

export interface LinkProxyOptions {
  /** The real server. Only loopback is accepted: the emulator is for the lab. */
  readonly targetHost: string;
  readonly targetPort: number;
  /** Port to listen on, on 127.0.0.1 (0 = a free one). */
  readonly listenPort?: number;
  /** Connections held at once; more are refused (closed at accept). Default 20,000. */
  readonly maxConnections?: number;
  /** Bytes queued per direction per connection before the reader is paused. Default 4 MiB. */
  readonly maxQueuedBytes?: number;
  /** Source of randomness for jitter and random drops (seed it for repeatable runs). */
  readonly random?: () => number;
}

export interface LinkProxyStats {
  /** Connections accepted since start. */
  readonly accepted: number;
  readonly open: number;
  /** Connections the emulator closed on purpose (dropAll, dropRandom). */
  readonly dropped: number;
  readonly refused: number;
  /** Bytes forwarded client → server and server → client. */
  readonly upstreamBytes: number;
  readonly downstreamBytes: number;
  /** Bytes held back right now (delayed, stalled or capped), over every connection. */
  readonly queuedBytes: number;
}

/** Longest delay, jitter or stall accepted: a fault must end within a test's lifetime. */
export const MAX_FAULT_MS = 120_000;

interface Link {
  readonly client: Socket;
  readonly server: Socket;
  readonly pipes: ShapedPipe[];
}

export class LinkProxy {
  private readonly server: Server;
  private readonly links = new Set<Link>();
  private readonly shapes: Record<'upstream' | 'downstream', LinkShape> = { upstream: openShape(), downstream: openShape() };
  private readonly random: () => number;
  private readonly pendingDrops = new Set<NodeJS.Timeout>();
  private counts = { accepted: 0, dropped: 0, refused: 0, upstreamBytes: 0, downstreamBytes: 0 };
  private listening: { host: string; port: number } | undefined;
  private cutUntil = 0;

  constructor(private readonly options: LinkProxyOptions) {
    if (!isLoopback(options.targetHost)) throw new Error(`link proxy: target ${options.targetHost} is not on loopback`);
    this.random = options.random ?? Math.random;
    // Half-open sockets: a FIN is forwarded in order after the delayed bytes, not ahead of them.
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => this.accept(client));
  }

  /** Starts listening; resolves with the loopback address clients should use. */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.listenPort ?? 0, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address();
        if (address === null || typeof address === 'string') throw new Error('link proxy: no TCP address');
        this.listening = { host: '127.0.0.1', port: address.port };
        resolve(this.listening);
      });
    });
  }

  get port(): number {
    if (!this.listening) throw new Error('link proxy: not listening yet');
    return this.listening.port;
  }

  /** Adds `delayMs` (+ up to `jitterMs` at random) to every chunk sent in `direction`. */
  setDelay(delayMs: number, jitterMs = 0, direction: Direction = 'both'): void {
    for (const shape of this.shapesOf(direction)) {
      shape.delayMs = bounded(delayMs, 'delay');
      shape.jitterMs = bounded(jitterMs, 'jitter');
    }
  }

  /** Caps `direction` at `bytesPerSecond` (0 lifts the cap). */
  setBandwidth(bytesPerSecond: number, direction: Direction = 'both'): void {
    if (!(bytesPerSecond >= 0) || !Number.isFinite(bytesPerSecond)) throw new RangeError('link proxy: bandwidth must be ≥ 0');
    for (const shape of this.shapesOf(direction)) shape.bytesPerSecond = bytesPerSecond;
    this.reshapeAll();
  }

  /** Forwards nothing in `direction` for `ms`; queued bytes then go in order (a stalled link). */
  stall(ms: number, direction: Direction = 'both'): void {
    const until = Date.now() + bounded(ms, 'stall');
    for (const shape of this.shapesOf(direction)) shape.stalledUntil = until;
    this.reshapeAll();
  }

  /** Closes every open connection at once (both sides, with a TCP reset): a dropped link. */
  dropAll(): number {
    const links = [...this.links];
    for (const link of links) this.drop(link);
    return links.length;
  }

  /** Closes each open connection with probability `percent`/100; returns how many. */
  dropRandom(percent: number): number {
    if (!(percent >= 0 && percent <= 100)) throw new RangeError('link proxy: percent must be within 0..100');
    let dropped = 0;
    for (const link of [...this.links]) {
      if (this.random() * 100 < percent) {
        this.drop(link);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * Cuts the link for `ms`: every open connection is dropped and new ones are refused (closed
   * at accept) until the time is up — a netsplit when the link carries servers' traffic.
   * Returns the number of connections dropped.
   */
  cut(ms: number): number {
    this.cutUntil = Date.now() + bounded(ms, 'cut');
    return this.dropAll();
  }

  /** Whether a `cut` is in force now. */
  get isCut(): boolean {
    return Date.now() < this.cutUntil;
  }

  /** Schedules `dropAll()` in `ms` (cancelled by `close()`). */
  dropAllAfter(ms: number): void {
    const timer = setTimeout(() => {
      this.pendingDrops.delete(timer);
      this.dropAll();
    }, bounded(ms, 'drop time'));
    this.pendingDrops.add(timer);
  }

  stats(): LinkProxyStats {
    let queuedBytes = 0;
    for (const link of this.links) for (const pipe of link.pipes) queuedBytes += pipe.queuedBytes;
    return { ...this.counts, open: this.links.size, queuedBytes };
  }

  /** Stops listening and closes every connection and timer. */
  async close(): Promise<void> {
    for (const timer of this.pendingDrops) clearTimeout(timer);
    this.pendingDrops.clear();
    for (const link of [...this.links]) this.release(link, true);
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.links.size >= (this.options.maxConnections ?? 20_000) || this.isCut) {
      this.counts.refused++;
      client.destroy();
      return;
    }
    this.counts.accepted++;
    // Hold the client's bytes until the server side is connected; the pipe then reads them.
    client.pause();
    const server = connect({ host: this.options.targetHost, port: this.options.targetPort, noDelay: true, allowHalfOpen: true });
    const maxQueued = this.options.maxQueuedBytes ?? 4 * 1024 * 1024;
    const link: Link = {
      client,
      server,
      pipes: [
        new ShapedPipe(client, server, () => this.shapes.upstream, maxQueued, this.random, (n) => (this.counts.upstreamBytes += n)),
        new ShapedPipe(server, client, () => this.shapes.downstream, maxQueued, this.random, (n) => (this.counts.downstreamBytes += n)),
      ],
    };
    this.links.add(link);
    server.once('connect', () => client.resume());
    // A failure on one side closes the other, as on a real path. A clean close waits until the
    // bytes still delayed towards the other side went out, then ends the link.
    const [upstream, downstream] = link.pipes as [ShapedPipe, ShapedPipe];
    const closed = (into: ShapedPipe) => {
      if (!into.done || (client.destroyed && server.destroyed)) this.release(link, false);
    };
    for (const socket of [client, server]) socket.on('error', () => this.release(link, false));
    client.on('close', () => closed(downstream));
    server.on('close', () => closed(upstream));
  }

  private drop(link: Link): void {
    if (!this.links.has(link)) return;
    this.counts.dropped++;
    this.release(link, true);
  }

  private release(link: Link, reset: boolean): void {
    if (!this.links.delete(link)) return;
    for (const pipe of link.pipes) pipe.stop();
    for (const socket of [link.client, link.server]) {
      if (reset && !socket.destroyed && socket.readyState === 'open') socket.resetAndDestroy();
      else socket.destroy();
    }
  }

  private shapesOf(direction: Direction): LinkShape[] {
    return direction === 'both' ? [this.shapes.upstream, this.shapes.downstream] : [this.shapes[direction]];
  }

  private reshapeAll(): void {
    for (const link of this.links) for (const pipe of link.pipes) pipe.reshape();
  }
}

function bounded(ms: number, what: string): number {
  if (!(ms >= 0 && ms <= MAX_FAULT_MS)) throw new RangeError(`link proxy: ${what} must be within 0..${MAX_FAULT_MS} ms (got ${ms})`);
  return ms;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Starts a proxy in front of `targetHost:targetPort`; `close()` it when done. */
export async function startLinkProxy(options: LinkProxyOptions): Promise<LinkProxy> {
  const proxy = new LinkProxy(options);
  await proxy.listen();
  return proxy;
}
