/**
 * Where a worker's heap goes: reads V8 heap snapshots (`.heapsnapshot`, e.g. from a worker run
 * with IMLOAD_WORKER_NODE_FLAGS="--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=DIR" and
 * `kill -USR2 <worker pid>`) and prints shallow (self) size and count by constructor — objects
 * by constructor name, closures by function name, strings, arrays and V8 internals by type.
 * With two snapshots (before, after) it prints the growth; with `--per N` it divides by N
 * (the VUs the worker held), which is how per-VU memory is attributed.
 *
 *   node --max-old-space-size=8192 --import tsx bench/heap-by-constructor.ts [--per N] [--top 40] [before.heapsnapshot] after.heapsnapshot
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: [string[], ...unknown[]] } };
  readonly nodes: number[];
  readonly strings: string[];
}

interface Group {
  count: number;
  bytes: number;
}

function groups(file: string): Map<string, Group> {
  const heap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const result = new Map<string, Group>();
  for (let i = 0; i < heap.nodes.length; i += width) {
    const type = types[heap.nodes[i + typeAt]!]!;
    const name = heap.strings[heap.nodes[i + nameAt]!]!;
    // A string's "name" is its content: group strings by type only.
    const key = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' || type === 'array' ? `${type} ${name.slice(0, 60)}` : type;
    const group = result.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += heap.nodes[i + sizeAt]!;
    result.set(key, group);
  }
  return result;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { per: { type: 'string' }, top: { type: 'string' } } });
if (positionals.length < 1 || positionals.length > 2) {
  console.error('usage: heap-by-constructor.ts [--per N] [--top 40] [before.heapsnapshot] after.heapsnapshot');
  process.exit(2);
}
const after = groups(positionals.at(-1)!);
const before = positionals.length === 2 ? groups(positionals[0]!) : new Map<string, Group>();
const per = values.per ? Number(values.per) : 1;
const rows = [...after.entries()].map(([key, a]) => {
  const b = before.get(key) ?? { count: 0, bytes: 0 };
  return { key, count: a.count - b.count, bytes: a.bytes - b.bytes };
});
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((n, r) => n + r.bytes, 0);
const unit = per === 1 ? 'bytes' : `bytes per ${per.toLocaleString('en')}th (per VU)`;
console.log(`total ${before.size > 0 ? 'growth' : 'self size'}: ${total.toLocaleString('en')} bytes${per === 1 ? '' : `, ${(total / per).toFixed(0)} per VU`}`);
console.log(`${'count'.padStart(12)} ${unit.padStart(12)}  constructor`);
for (const row of rows.slice(0, Number(values.top ?? 40))) {
  console.log(`${(row.count / per).toFixed(per === 1 ? 0 : 2).padStart(12)} ${(row.bytes / per).toFixed(per === 1 ? 0 : 1).padStart(12)}  ${row.key}`);
}
