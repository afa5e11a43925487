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
 * own pipes and files may come and go between two reads (once in CI: 226 against 227).
 */
function countedAndListed(sampler: HealthSampler): { counted: number; listed: number } {
  for (let attempt = 0; attempt < 50; attempt++) {
    const before = readdirSync('/proc/self/fd').length - 1;
    const counted = sampler.sample(0).openFds;
    const after = readdirSync('/proc/self/fd').length - 1;
    if (before === after) return { counted, listed: before };
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
    assert.ok(more.counted >= before.counted + 200, `${more.counted} after opening 200 more than ${before.counted}`);
    for (const fd of opened.splice(0, 50)) closeSync(fd);
    const fewer = countedAndListed(sampler);
    assert.equal(fewer.counted, fewer.listed);
    assert.ok(fewer.counted <= more.counted - 50, `${fewer.counted} after closing 50 of ${more.counted}`);
  } finally {
    for (const fd of opened) closeSync(fd);
    sampler.stop();
  }
});
