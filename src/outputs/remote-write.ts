/**
 * Prometheus remote write 1.0 (prompb.WriteRequest, protobuf + snappy): the encoder the
 * Prometheus output sends, and a decoder the tests read it back with.
 */
import { ProtoWriter, readFields, readPackedVarints, unzigzag } from './protobuf.js';

export type Labels = Readonly<Record<string, string>>;

export interface NativeHistogramSample {
  readonly count: number;
  readonly sum: number;
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly positiveSpans: ReadonlyArray<{ readonly offset: number; readonly length: number }>;
  /** Bucket counts as deltas from the previous bucket (the first from 0). */
  readonly positiveDeltas: readonly number[];
  readonly timestamp: number;
}

export interface TimeSeries {
  /** `__name__` and the rest; written sorted by name, as remote write requires. */
  readonly labels: Labels;
  readonly samples?: ReadonlyArray<{ readonly value: number; readonly timestamp: number }>;
  readonly histograms?: readonly NativeHistogramSample[];
}

export function encodeWriteRequest(series: readonly TimeSeries[]): Uint8Array {
  const w = new ProtoWriter();
  for (const s of series) {
    w.message(1, (ts) => {
      for (const name of Object.keys(s.labels).sort()) ts.message(1, (l) => l.string(1, name).string(2, s.labels[name]!));
      for (const sample of s.samples ?? []) ts.message(2, (m) => m.double(1, sample.value).int64(2, sample.timestamp));
      for (const h of s.histograms ?? []) {
        ts.message(4, (m) => {
          m.uint(1, h.count).double(3, h.sum).sint(4, h.schema).double(5, h.zeroThreshold).uint(6, h.zeroCount);
          for (const span of h.positiveSpans) m.message(11, (sp) => sp.sint(1, span.offset).uint(2, span.length));
          m.packedSint(12, h.positiveDeltas);
          m.int64(15, h.timestamp);
        });
      }
    });
  }
  return w.finish();
}

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

export function decodeWriteRequest(data: Uint8Array): TimeSeries[] {
  return readFields(data)
    .filter((f) => f.field === 1)
    .map((f) => {
      const labels: Record<string, string> = {};
      const samples: Array<{ value: number; timestamp: number }> = [];
      const histograms: NativeHistogramSample[] = [];
      for (const g of readFields(f.bytes!)) {
        if (g.field === 1) {
          const [name, value] = readFields(g.bytes!);
          labels[text(name?.bytes)] = text(value?.bytes);
        } else if (g.field === 2) {
          const fields = readFields(g.bytes!);
          samples.push({ value: fields.find((x) => x.field === 1)?.number ?? 0, timestamp: fields.find((x) => x.field === 2)?.number ?? 0 });
        } else if (g.field === 4) {
          const fields = readFields(g.bytes!);
          const num = (n: number) => fields.find((x) => x.field === n)?.number ?? 0;
          histograms.push({
            count: num(1),
            sum: num(3),
            schema: unzigzag(num(4)),
            zeroThreshold: num(5),
            zeroCount: num(6),
            positiveSpans: fields
              .filter((x) => x.field === 11)
              .map((x) => {
                const span = readFields(x.bytes!);
                return { offset: unzigzag(span.find((y) => y.field === 1)?.number ?? 0), length: span.find((y) => y.field === 2)?.number ?? 0 };
              }),
            positiveDeltas: fields.filter((x) => x.field === 12).flatMap((x) => readPackedVarints(x.bytes!).map(unzigzag)),
            timestamp: num(15),
          });
        }
      }
      return { labels, ...(samples.length ? { samples } : {}), ...(histograms.length ? { histograms } : {}) };
    });
}
