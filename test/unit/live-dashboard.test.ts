/**
 * The live page's subscriber (src/live/dashboard.ts) fed a synthetic journal's seconds: its
 * events carry the run so far (progress from the latest second, the report's sections and
 * charts), seconds that arrive together make one build, and `finish` sends the final report's
 * model and closes the streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJournal, type JournalHeader, type JournalSecond } from '../../src/metrics/journal.js';
import { buildSummary } from '../../src/analysis/summary.js';
import { buildReportModel } from '../../src/report/report-model.js';
import { LiveDashboard, type LivePayload } from '../../src/live/dashboard.js';
import { writeSyntheticJournal } from './report-synthetic-journal.js';

function open(url: string, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(new URL(path, url), resolve).on('error', reject));
}

function readEvents(response: IncomingMessage) {
  const events: Array<{ event: string; data: LivePayload }> = [];
  let buffer = '';
  let wake: (() => void) | undefined;
  let ended = false;
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const lines = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      if (event) events.push({ event, data: JSON.parse(lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')) as LivePayload });
    }
    wake?.();
  });
  response.on('end', () => {
    ended = true;
    wake?.();
  });
  return {
    events,
    /** Resolves once an event satisfies `ok` (or the stream ends, which fails). */
    async until(ok: (e: { event: string; data: LivePayload }) => boolean) {
      for (;;) {
        const found = events.find(ok);
        if (found) return found;
        if (ended) assert.fail(`the stream ended first; events: ${events.map((e) => `${e.event}@${e.data.progress.elapsedSeconds}`).join(' ')}`);
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    ended: () => ended,
  };
}

test('LiveDashboard: the run so far on every event, one build for seconds that arrive together, the final report on finish', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'imload-live-')), 'journal.ndjson');
  writeSyntheticJournal({ path, seconds: 30, users: 200, rampSeconds: 10 });
  const entries = readJournal(path);
  const header = entries[0] as JournalHeader;
  const seconds = entries.filter((e): e is JournalSecond => e.type === 'second');

  const dashboard = new LiveDashboard();
  const url = await dashboard.listen({ host: '127.0.0.1', port: 0 });
  try {
    const before = await open(url, '/');
    let text = '';
    before.setEncoding('utf8');
    for await (const chunk of before) text += chunk;
    assert.match(text, /The run is starting/);
    assert.match(text, /<meta http-equiv="refresh" content="1">/, 'the page asks again itself until the run has begun');

    await dashboard.start(header);
    for (const entry of entries.filter((e) => e.type === 'note')) dashboard.addEntry(entry);
    const stream = readEvents(await open(url, '/events'));
    const greeting = await stream.until(() => true);
    assert.equal(greeting.event, 'update');
    assert.equal(greeting.data.progress.state, 'waiting');

    // The first ten seconds in one turn: one build, showing the tenth.
    for (const second of seconds.slice(0, 10)) dashboard.addSecond(second);
    const tenth = await stream.until((e) => e.event === 'update' && e.data.progress.elapsedSeconds === 10);
    assert.equal(dashboard.stats.builds, 1);
    // Meanwhile the progress of every second, without the sections.
    const progress = stream.events.filter((e) => e.event === 'progress');
    assert.deepEqual(progress.map((e) => e.data.progress.online), seconds.slice(0, 10).map((s) => s.online));
    assert.equal(progress[0]!.data.sections, undefined);
    assert.equal(tenth.data.progress.state, 'live');
    assert.equal(tenth.data.progress.online, seconds[9]!.online);
    assert.equal(tenth.data.progress.requested, 200);
    assert.ok(tenth.data.sections.some((s) => s.id === 'slos'), 'the thresholds so far');
    assert.ok(!tenth.data.sections.some((s) => s.id === 'sizing'), 'the sizing form is left alone while live');
    const online = tenth.data.charts.find((c) => c.id === 'online')!;
    assert.equal(online.config.data.datasets[0]!.data.length, 10, 'the online chart has the ten seconds');

    for (const second of seconds.slice(10)) dashboard.addSecond(second);
    const last = await stream.until((e) => e.event === 'update' && e.data.progress.elapsedSeconds === 30);
    assert.equal(last.data.progress.online, seconds[29]!.online);

    // A page opened now renders the run so far, with the live section and its script.
    const page = await open(url, '/');
    let html = '';
    page.setEncoding('utf8');
    for await (const chunk of page) html += chunk;
    assert.match(html, /<section id="live" data-state="live"/);
    assert.match(html, /new EventSource\('events'\)/);
    assert.match(html, /<section id="charts">/);

    const { summary } = buildSummary(entries);
    const model = buildReportModel(summary, { entries, tornLastLine: false });
    await dashboard.finish(model);
    const final = await stream.until((e) => e.event === 'final');
    assert.equal(final.data.progress.state, 'final');
    assert.equal(final.data.progress.online, summary.users.peakOnline);
    assert.equal(final.data.progress.delivered, summary.messages.delivered);
    assert.ok(final.data.sections.some((s) => s.id === 'sizing'), 'the final report has every section');
    await stream.until(() => stream.ended());
  } finally {
    await dashboard.close().catch(() => {});
  }
});
