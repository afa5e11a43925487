/**
 * One timer for all virtual users: a binary min-heap of due times. Tens of thousands of idle
 * users cost a heap entry each instead of a libuv timer each (Tsung's hibernate idea).
 */

interface Entry {
  at: number;
  seq: number;
  run: () => void;
}

export class Scheduler {
  private readonly heap: Entry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private seq = 0;
  private stopped = false;

  /** `now()` is epoch ms; entries run at or after `at`. */
  constructor(private readonly now: () => number) {}

  at(at: number, run: () => void): void {
    if (this.stopped) return;
    this.push({ at, seq: this.seq++, run });
    if (at < this.timerAt) this.arm();
  }

  get size(): number {
    return this.heap.length;
  }

  /** Drops everything pending; nothing scheduled later runs. */
  stop(): void {
    this.stopped = true;
    this.heap.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const first = this.heap[0];
    if (!first) {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    this.timerAt = first.at;
    this.timer = setTimeout(() => this.runDue(), Math.max(0, first.at - this.now()));
  }

  private runDue(): void {
    this.timer = undefined;
    const now = this.now();
    // Bounded batch so a backlog cannot starve socket I/O; the rest runs on the next turn.
    for (let n = 0; n < 2000 && this.heap.length > 0 && this.heap[0]!.at <= now; n++) {
      const entry = this.pop()!;
      try {
        entry.run();
      } catch (error) {
        process.emitWarning(`scheduled action failed: ${(error as Error).message}`);
      }
      if (this.stopped) return;
    }
    this.arm();
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Entry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && earlier(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && earlier(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

function earlier(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
