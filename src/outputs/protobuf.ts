/**
 * The few protocol-buffer wire types remote write needs (varint, sint zig-zag, 64-bit double,
 * length-delimited), written by hand: a WriteRequest is four small messages, and a reader for
 * the same (tests decode what was sent). docs/decisions.md says why no protobuf library.
 */

const utf8 = new TextEncoder();
/** Label names and values repeat every second: their bytes, kept (bounded: cleared when full). */
const STRING_BYTES = new Map<string, Uint8Array>();
const MAX_STRINGS = 10_000;

function stringBytes(text: string): Uint8Array {
  let bytes = STRING_BYTES.get(text);
  if (!bytes) {
    if (STRING_BYTES.size >= MAX_STRINGS) STRING_BYTES.clear();
    STRING_BYTES.set(text, (bytes = utf8.encode(text)));
  }
  return bytes;
}

export class ProtoWriter {
  private buffer = new Uint8Array(256);
  private length = 0;
  /** The writer nested messages are written into first (their length comes before them), reused. */
  private inner: ProtoWriter | undefined;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buffer[this.length++] = b;
  }

  /** An unsigned varint (non-negative integers up to 2^53). */
  varint(value: number): this {
    let v = Math.floor(value);
    if (v < 0) throw new RangeError(`varint of a negative number ${value} (use sint or int64)`);
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
    return this;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uint(field: number, value: number): this {
    this.tag(field, 0);
    return this.varint(value);
  }

  /** int64 as two's complement on 10 bytes when negative; timestamps are positive. */
  int64(field: number, value: number): this {
    if (value < 0) throw new RangeError('negative int64 is not needed here');
    return this.uint(field, value);
  }

  /** sint32/sint64: zig-zag. */
  sint(field: number, value: number): this {
    this.tag(field, 0);
    return this.varint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  double(field: number, value: number): this {
    this.tag(field, 1);
    this.ensure(8);
    new DataView(this.buffer.buffer, this.buffer.byteOffset).setFloat64(this.length, value, true);
    this.length += 8;
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(data.length);
    this.ensure(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, stringBytes(text));
  }

  /**
   * A nested message, written into one reused writer per depth and copied in after its length.
   * Why: a WriteRequest of ~200 series has ~1,600 nested messages a second, and a new writer (and
   * its buffer) for each was a third of the encoder's time in a --cpu-prof (issue 20).
   */
  message(field: number, write: (w: ProtoWriter) => void): this {
    const inner = this.nested();
    write(inner);
    return this.bytes(field, inner.buffer.subarray(0, inner.length));
  }

  /** Packed repeated sint64 (one length-delimited field). */
  packedSint(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const inner = this.nested();
    for (const v of values) inner.varint(v >= 0 ? v * 2 : -v * 2 - 1);
    return this.bytes(field, inner.buffer.subarray(0, inner.length));
  }

  private nested(): ProtoWriter {
    const inner = (this.inner ??= new ProtoWriter());
    inner.length = 0;
    return inner;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export interface ProtoField {
  readonly field: number;
  readonly wire: number;
  /** varint (wire 0) or double (wire 1). */
  readonly number?: number;
  /** Length-delimited (wire 2). */
  readonly bytes?: Uint8Array;
}

/** Reads every field of one message, in order. */
export function readFields(data: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= data.length) throw new RangeError('truncated varint');
      const b = data[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
  };
  while (pos < data.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) fields.push({ field, wire, number: varint() });
    else if (wire === 1) {
      fields.push({ field, wire, number: new DataView(data.buffer, data.byteOffset + pos, 8).getFloat64(0, true) });
      pos += 8;
    } else if (wire === 2) {
      const length = varint();
      fields.push({ field, wire, bytes: data.subarray(pos, pos + length) });
      pos += length;
    } else throw new RangeError(`wire type ${wire} is not read here`);
  }
  return fields;
}

export const unzigzag = (n: number): number => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);

/** The varints of a packed field. */
export function readPackedVarints(data: Uint8Array): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos < data.length) {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = data[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
    }
    out.push(result);
  }
  return out;
}
