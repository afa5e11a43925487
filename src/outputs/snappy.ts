/**
 * Snappy block format (what remote write's `Content-Encoding: snappy` means), written by hand:
 * the compressor emits copies found through a small hash table of 4-byte sequences and literals
 * otherwise; the decoder is for tests. Format: github.com/google/snappy format_description.txt.
 */

function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function emitLiteral(out: number[], input: Uint8Array, start: number, end: number): void {
  const length = end - start;
  if (length === 0) return;
  const n = length - 1;
  if (n < 60) out.push(n << 2);
  else if (n < 0x100) out.push(60 << 2, n);
  else if (n < 0x10000) out.push(61 << 2, n & 0xff, n >>> 8);
  else if (n < 0x1000000) out.push(62 << 2, n & 0xff, (n >>> 8) & 0xff, n >>> 16);
  else out.push(63 << 2, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
  for (let i = start; i < end; i++) out.push(input[i]!);
}

/** A copy with a 2-byte offset, split into pieces of at most 64 bytes. */
function emitCopy(out: number[], offset: number, length: number): void {
  let left = length;
  while (left > 0) {
    const piece = Math.min(left, 64);
    out.push(((piece - 1) << 2) | 2, offset & 0xff, offset >>> 8);
    left -= piece;
  }
}

const load32 = (b: Uint8Array, i: number): number => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;

export function snappyCompress(input: Uint8Array): Uint8Array {
  const out: number[] = [];
  writeVarint(out, input.length);
  const table = new Int32Array(1 << 14).fill(-1);
  let literalStart = 0;
  let i = 0;
  while (i + 4 <= input.length) {
    const word = load32(input, i);
    const slot = Math.imul(word, 0x1e35a7bd) >>> 18;
    const candidate = table[slot]!;
    table[slot] = i;
    if (candidate >= 0 && i - candidate <= 0xffff && load32(input, candidate) === word) {
      let length = 4;
      while (i + length < input.length && input[candidate + length] === input[i + length]) length++;
      emitLiteral(out, input, literalStart, i);
      emitCopy(out, i - candidate, length);
      i += length;
      literalStart = i;
    } else i++;
  }
  emitLiteral(out, input, literalStart, input.length);
  return Uint8Array.from(out);
}

export function snappyDecompress(input: Uint8Array): Uint8Array {
  let pos = 0;
  let length = 0;
  let shift = 0;
  for (;;) {
    const b = input[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
  }
  const out = new Uint8Array(length);
  let o = 0;
  while (pos < input.length) {
    const tag = input[pos++]!;
    const type = tag & 3;
    if (type === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        n = 0;
        for (let k = 0; k < bytes; k++) n += input[pos++]! * 2 ** (8 * k);
      }
      n += 1;
      out.set(input.subarray(pos, pos + n), o);
      pos += n;
      o += n;
    } else {
      let n: number;
      let offset: number;
      if (type === 1) {
        n = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | input[pos++]!;
      } else if (type === 2) {
        n = (tag >>> 2) + 1;
        offset = input[pos]! | (input[pos + 1]! << 8);
        pos += 2;
      } else {
        n = (tag >>> 2) + 1;
        offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16) | (input[pos + 3]! << 24)) >>> 0;
        pos += 4;
      }
      if (offset === 0 || offset > o) throw new RangeError('snappy: bad copy offset');
      for (let k = 0; k < n; k++, o++) out[o] = out[o - offset]!;
    }
  }
  if (o !== length) throw new RangeError(`snappy: decoded ${o} bytes, header says ${length}`);
  return out;
}
