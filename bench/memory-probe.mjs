// Preloaded into imload's worker processes by benchmarks that need to know *what* a worker's RSS is made
// of over time (bench/soak.bench.ts): IMLOAD_WORKER_NODE_FLAGS="--import=file://<this file>" with
// IMLOAD_MEMORY_PROBE_DIR set. Every IMLOAD_MEMORY_PROBE_MS (default 60 s) it appends one JSON line to
// <dir>/mem-<pid>.ndjson: process.memoryUsage(), the kernel's anonymous/file RSS split, V8's heap spaces
// (committed, used, physical) and V8's own malloc figure. It never collects garbage, so it does not
// change what it measures; its timer is unref'd so it never keeps a worker alive. Each full (mark-compact)
// collection is appended to <dir>/gc-<pid>.ndjson with its pause and the old space just after it, so a
// sawtooth in the old space's committed pages can be matched to the collections that made it; scavenges
// are only counted, in the next memory sample (there are thousands).
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { appendFileSync, readFileSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';

const dir = process.env.IMLOAD_MEMORY_PROBE_DIR;
const everyMs = Number(process.env.IMLOAD_MEMORY_PROBE_MS ?? 60_000);
if (dir) {
  const statusBytes = (status, key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) * 1024;
  const sample = () => {
    const memory = process.memoryUsage();
    const heap = getHeapStatistics();
    const status = readFileSync('/proc/self/status', 'utf8');
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { committed: s.space_size, used: s.space_used_size, physical: s.physical_space_size }]));
    const line = {
      at: Date.now(),
      rss: memory.rss,
      rssAnon: statusBytes(status, 'RssAnon'),
      rssFile: statusBytes(status, 'RssFile'),
      heapTotal: memory.heapTotal,
      heapUsed: memory.heapUsed,
      heapPhysical: heap.total_physical_size,
      external: memory.external,
      arrayBuffers: memory.arrayBuffers,
      v8Malloced: heap.malloced_memory,
      spaces,
      scavenges,
    };
    scavenges = 0;
    appendFileSync(`${dir}/mem-${process.pid}.ndjson`, JSON.stringify(line) + '\n');
  };
  let scavenges = 0;
  const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges += 1;
      if (entry.detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      const old = oldSpace();
      const gc = { at: Math.round(performance.timeOrigin + entry.startTime), ms: Number(entry.duration.toFixed(2)), flags: entry.detail.flags, oldCommitted: old?.space_size, oldUsed: old?.space_used_size };
      appendFileSync(`${dir}/gc-${process.pid}.ndjson`, JSON.stringify(gc) + '\n');
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(sample, everyMs).unref();
}
