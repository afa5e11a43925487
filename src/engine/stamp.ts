/**
 * The correlation stamp the engine puts at the start of every message body, so delivery is
 * measured the same way on every protocol and on servers without message tags:
 * `[imload <sender> <seq> <scheduledEpochMs> <to>]` where <to> is the recipient's user index for
 * an instant message, `c` for a channel message to everyone, `p` for one to presenters only.
 */

export interface Stamp {
  readonly sender: number;
  readonly seq: number;
  /** Scheduled send time, epoch ms: delivery latency counts from here (coordinated omission). */
  readonly scheduledAt: number;
  /** Recipient index, or -1 for a channel message to all, -2 for presenters only. */
  readonly to: number;
}

export const TO_CHANNEL = -1;
export const TO_PRESENTERS = -2;

export function formatStamp(sender: number, seq: number, scheduledAt: number, to: number): string {
  const target = to === TO_CHANNEL ? 'c' : to === TO_PRESENTERS ? 'p' : String(to);
  return `[imload ${sender} ${seq} ${scheduledAt.toFixed(3)} ${target}]`;
}

const STAMP = /\[imload (\d+) (\d+) (\d+(?:\.\d+)?) (c|p|\d+)\]/;

/** Finds a stamp anywhere in a text (servers may prefix or wrap bodies); undefined if none. */
export function parseStamp(text: string): Stamp | undefined {
  const match = STAMP.exec(text);
  if (!match) return undefined;
  const to = match[4] === 'c' ? TO_CHANNEL : match[4] === 'p' ? TO_PRESENTERS : Number(match[4]);
  return { sender: Number(match[1]), seq: Number(match[2]), scheduledAt: Number(match[3]), to };
}

const FILLER = 'abcdefghijklmnopqrstuvwxyz0123456789 '.repeat(12);

/** A message body of the stamp plus `fillerBytes` of text, the payload size the scenario asks for. */
export function messageBody(stamp: string, fillerBytes: number): string {
  return fillerBytes > 0 ? `${stamp} ${FILLER.slice(0, fillerBytes)}` : stamp;
}

/**
 * Remembers the last few (sender, seq) pairs a user received, to spot duplicates without
 * keeping every id: a fixed ring, no allocation per message. Duplicates a server produces
 * arrive close together; one older than the ring's reach would be missed (docs/metrics.md).
 */
export class RecentIds {
  /**
   * Made by the first message: every user has one, many receive nothing for minutes. A plain
   * array, not a Float64Array: the typed array, its buffer and their off-heap bookkeeping came to
   * about 0.7 KB a user (10,000 inboxes, process.memoryUsage before and after, bench/RESULTS.md);
   * 32 numbers in an array take about 0.3 KB, once made.
   */
  private ring: number[] | undefined;
  private next = 0;

  constructor(private readonly size = 64) {}

  /** Records the id; returns true if it was already seen. */
  seen(sender: number, seq: number): boolean {
    const id = sender * 4_294_967_296 + seq;
    const ring = (this.ring ??= new Array<number>(this.size).fill(-1));
    for (let i = 0; i < ring.length; i++) if (ring[i] === id) return true;
    ring[this.next] = id;
    this.next = (this.next + 1) % ring.length;
    return false;
  }
}
