/**
 * One direction of a proxied TCP connection: bytes read from `source` are written to `sink`
 * after an added delay (fixed + jitter), never reordered, at most `bytesPerSecond`, and not at
 * all while the link is stalled. The kernel here has no netem, so imload shapes in user space.
 */
import type { Socket } from 'node:net';

/** How one direction of the link behaves; changed at run time through `LinkProxy`. */
export interface LinkShape {
  /** Added one-way delay in milliseconds. */
  delayMs: number;
  /** Up to this much more delay, uniformly at random, per chunk (order is kept regardless). */
  jitterMs: number;
  /** Bandwidth cap in bytes per second; 0 = unlimited. */
  bytesPerSecond: number;
  /** No byte is forwarded before this epoch-ms time (a stall). */
  stalledUntil: number;
}

export function openShape(): LinkShape {
  return { delayMs: 0, jitterMs: 0, bytesPerSecond: 0, stalledUntil: 0 };
}

interface Pending {
  readonly chunk: Buffer | null; // null = the source ended: forward the FIN in order
  readonly dueAt: number;
}

export class ShapedPipe {
  private readonly queue: Pending[] = [];
  /** Bytes read but not yet forwarded (bounded by maxQueuedBytes plus one read). */
  queuedBytes = 0;
  /** Release time of the last chunk queued: later chunks never overtake it. */
  private lastDueAt = 0;
  /** When the capped link has finished "transmitting" what it sent so far. */
  private linkFreeAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private finished = false;
  /** The source's FIN was forwarded (or the pipe was stopped): nothing more will be written. */
  get done(): boolean {
    return this.finished;
  }
  forwardedBytes = 0;

  constructor(
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly shape: () => LinkShape,
    /** Above this many queued bytes the source is paused (memory stays bounded). */
    private readonly maxQueuedBytes: number,
    private readonly random: () => number,
    private readonly onForward: (bytes: number) => void,
  ) {
    source.on('data', (chunk: Buffer) => this.enqueue(chunk));
    source.on('end', () => this.enqueue(null));
    sink.on('drain', () => {
      this.waitingForDrain = false;
      this.pump();
    });
  }

  private enqueue(chunk: Buffer | null): void {
    if (this.finished) return;
    const { delayMs, jitterMs } = this.shape();
    const dueAt = Math.max(Date.now() + delayMs + jitterMs * this.random(), this.lastDueAt);
    this.lastDueAt = dueAt;
    this.queue.push({ chunk, dueAt });
    if (chunk) {
      this.queuedBytes += chunk.length;
      if (this.queuedBytes > this.maxQueuedBytes) this.source.pause();
    }
    this.pump();
  }

  /** Forwards every chunk that is due; otherwise sleeps until the next one can go. */
  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0 && !this.waitingForDrain && !this.finished) {
      const head = this.queue[0]!;
      const shape = this.shape();
      const now = Date.now();
      const readyAt = Math.max(head.dueAt, shape.stalledUntil, shape.bytesPerSecond > 0 ? this.linkFreeAt : 0);
      if (readyAt > now) {
        this.timer = setTimeout(() => this.pump(), readyAt - now);
        return;
      }
      if (!head.chunk) {
        this.queue.shift();
        this.finished = true;
        this.sink.end();
        return;
      }
      // Under a cap, send at most 1/20 s worth at a time so the rate is smooth, not bursts.
      const slice = shape.bytesPerSecond > 0 ? Math.max(512, Math.floor(shape.bytesPerSecond / 20)) : Infinity;
      let piece = head.chunk;
      if (piece.length > slice) {
        this.queue[0] = { chunk: piece.subarray(slice), dueAt: head.dueAt };
        piece = piece.subarray(0, slice);
      } else this.queue.shift();
      this.queuedBytes -= piece.length;
      if (shape.bytesPerSecond > 0) {
        this.linkFreeAt = Math.max(this.linkFreeAt, now) + (piece.length * 1000) / shape.bytesPerSecond;
      }
      this.forwardedBytes += piece.length;
      this.onForward(piece.length);
      if (!this.sink.write(piece)) this.waitingForDrain = true;
      if (this.queuedBytes <= this.maxQueuedBytes / 2 && this.source.isPaused()) this.source.resume();
    }
  }

  /** A changed shape (shorter stall, new cap) takes effect now, not when the old timer fires. */
  reshape(): void {
    this.pump();
  }

  stop(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }
}
