/**
 * A health sample's open descriptors (src/metrics/health.ts) count exactly the process's: what
 * listing /proc/self/fd shows, less the listing's own, and every file opened since the last sample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { HealthSampler } from '../../src/metrics/health.js';

test('openFds counts the descriptors the process holds, each one opened or closed since', { skip: process.platform !== 'linux' && 'reads /proc: Linux only' }, () => {
  const sampler = new HealthSampler(0);
  const opened: number[] = [];
  try {
    const before = sampler.sample(0).openFds;
    assert.equal(before, readdirSync('/proc/self/fd').length - 1);
    for (let i = 0; i < 200; i++) opened.push(openSync('/dev/null', 'r'));
    assert.equal(sampler.sample(0).openFds, before + 200);
    for (const fd of opened.splice(0, 50)) closeSync(fd);
    assert.equal(sampler.sample(0).openFds, before + 150);
  } finally {
    for (const fd of opened) closeSync(fd);
    sampler.stop();
  }
});
