/**
 * A health sample's open descriptors (src/metrics/health.ts) count exactly the process's: what
 * listing /proc/self/fd shows, less the listing's own, and every file opened since the last sample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { HealthSampler } from '../../src/metrics/health.js';

/**
 * The sampler's count beside a listing of /proc/self/fd taken just before it and one just after
 * (less each listing's own descriptor), retried until the two listings agree: the test runner's
 * own pipes and files may come and go between two reads (once in CI: 226 against 227). For the
 * same reason the test checks which of its own descriptors are listed, not that the total moved by
 * exactly as many: once in CI the runner closed one of its own while the test opened 200 (26, then 225).
 */
function countedAndListed(sampler: HealthSampler): { counted: number; listed: number; fds: Set<number> } {
  for (let attempt = 0; attempt < 50; attempt++) {
    const before = readdirSync('/proc/self/fd');
    const counted = sampler.sample(0).openFds;
    const after = readdirSync('/proc/self/fd');
    if (before.length === after.length) {
      // The listing holds a descriptor of its own while it reads, the lowest one free: one less
      // is counted, and it may be listed under the number of one the test has just closed.
      return { counted, listed: before.length - 1, fds: new Set(before.map(Number)) };
    }
  }
  throw new Error('the process opened or closed descriptors around every one of 50 samples');
}

test('openFds counts the descriptors the process holds, each one opened or closed since', { skip: process.platform !== 'linux' && 'reads /proc: Linux only' }, () => {
  const sampler = new HealthSampler(0);
  const opened: number[] = [];
  try {
    const before = countedAndListed(sampler);
    assert.equal(before.counted, before.listed);
    for (let i = 0; i < 200; i++) opened.push(openSync('/dev/null', 'r'));
    const more = countedAndListed(sampler);
    assert.equal(more.counted, more.listed);
    assert.deepEqual(opened.filter((fd) => !more.fds.has(fd)), [], 'every descriptor the test opened is counted');
    assert.ok(more.counted > before.counted + 150, `${more.counted} after opening 200 more than ${before.counted}`);
    const closed = opened.splice(0, 50);
    for (const fd of closed) closeSync(fd);
    const fewer = countedAndListed(sampler);
    assert.equal(fewer.counted, fewer.listed);
    const stillListed = closed.filter((fd) => fewer.fds.has(fd));
    assert.ok(stillListed.length <= 1, `closed descriptors still listed, more than the listing's own: ${stillListed.join(', ')}`);
    assert.ok(fewer.counted < more.counted - 25, `${fewer.counted} after closing 50 of ${more.counted}`);
  } finally {
    for (const fd of opened) closeSync(fd);
    sampler.stop();
  }
});
