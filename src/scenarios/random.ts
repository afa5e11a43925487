/**
 * Seeded randomness. Every random choice in a run comes from a stream derived from
 * (scenario seed, user index, purpose), so a user's schedule never depends on which worker,
 * segment or host runs it, nor on how many other users there are.
 */

/** 32-bit FNV-1a over a string: mixes stream names into seeds. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** SplitMix32 finaliser: turns related integers into unrelated seeds. */
function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A small, fast, seedable generator (sfc32); good statistical quality for workload sampling. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, ...streams: Array<number | string>) {
    let s = mix32(seed >>> 0);
    for (const stream of streams) {
      s = mix32(s ^ (typeof stream === 'number' ? mix32(stream >>> 0) : hashString(stream)));
    }
    this.a = mix32(s ^ 0x1234567);
    this.b = mix32(s ^ 0x89abcdef);
    this.c = mix32(s ^ 0x2468ace);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Exponential with the given rate (events per unit): the gap in a Poisson process. */
  exponential(rate: number): number {
    return -Math.log(1 - this.next()) / rate;
  }

  /** `count` distinct integers from [0, n) excluding `exclude`, in draw order (Floyd-style via a set). */
  sampleDistinct(n: number, count: number, exclude = -1): number[] {
    const available = exclude >= 0 && exclude < n ? n - 1 : n;
    const want = Math.min(count, available);
    const chosen = new Set<number>();
    // Sized up front: a list grown by push keeps ~twice its length in slack (contact lists are
    // kept per user for the whole run).
    const out = new Array<number>(want);
    for (let filled = 0; filled < want; ) {
      const value = this.int(0, n - 1);
      if (value === exclude || chosen.has(value)) continue;
      chosen.add(value);
      out[filled++] = value;
    }
    return out;
  }
}
