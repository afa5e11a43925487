/**
 * kill -9 of the generator mid-run, then `imload report` on its folder: a report covering
 * everything up to the last journaled second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInspircd } from '../../src/protocols/irc/lab.js';
import type { JournalEntry } from '../../src/metrics/journal.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

test('kill -9 mid-run, then imload report rebuilds every output from the journal', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const server = await startInspircd();
  try {
    const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: ${server.url} }
scenarios:
  crash:
    target: chat
    limits: exchange2000-chat
    timeScale: 600
    population: { users: 40, channels: { count: 3 } }
    phases:
      - { phase: rampUp, rate: 40 }
      - { phase: hold, duration: 5m }
    thresholds: [delivery.p99 < 5s]
`);
    const out = join(dir, 'run');
    const journal = join(out, 'journal.ndjson');
    const child = spawn(process.execPath, ['bin/imload.js', 'run', file, '-s', 'crash', '--out', out], { stdio: 'ignore' });
    // Wait (bounded) until the journal holds a few seconds with everyone online and messages delivered.
    const deadline = Date.now() + 45_000;
    let journaled: JournalEntry[] = [];
    while (Date.now() < deadline) {
      if (existsSync(journal)) {
        journaled = readFileSync(journal, 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as JournalEntry);
        const full = journaled.filter((e) => e.type === 'second' && e.online === 40 && (e.counters.deliveriesReceived ?? 0) > 0);
        if (full.length >= 3) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    const seconds = journaled.filter((e) => e.type === 'second');
    assert.ok(seconds.length >= 3, 'the run journaled some seconds before the kill');

    const report = spawnSync(process.execPath, ['bin/imload.js', 'report', out], { encoding: 'utf8' });
    assert.equal(report.status, 0, report.stderr);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.end.reason, 'unknown', 'no end record: the run was killed');
    assert.equal(summary.users.peakOnline, 40);
    // Everything journaled up to the kill is in the report (the journal may have grown after our last read).
    assert.ok(summary.messages.delivered >= seconds.reduce((n, e) => n + (e.type === 'second' ? e.counters.deliveriesReceived ?? 0 : 0), 0));
    assert.ok(summary.latency.delivery.count > 0);
    for (const output of ['index.html', 'summary.md', 'junit.xml']) assert.ok(existsSync(join(out, output)), `${output} rebuilt`);
    assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /cut short|killed|no end record/i);
  } finally {
    await server.stop();
  }
});
