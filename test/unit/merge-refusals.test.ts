/**
 * `imload merge` refuses anything that is not one run split N ways, with exit code 2 and a
 * message that names the offending journals and segments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeJournals } from '../../src/commands/merge.js';
import { EXIT, UserFacingError } from '../../src/exit-codes.js';
import { writeFixtureJournal, type FixtureRun } from './merge-fixtures.js';

const RUN = { users: 12, seconds: 8 } as const;

function journal(run: Partial<FixtureRun> & Pick<FixtureRun, 'segment'>) {
  const { dir, entries } = writeFixtureJournal({ ...RUN, ...run });
  return { source: dir, entries };
}

function refusal(journals: ReturnType<typeof journal>[], pattern: RegExp): void {
  assert.throws(
    () => mergeJournals(journals),
    (error: unknown) => error instanceof UserFacingError && error.exitCode === EXIT.badInput && pattern.test(error.message),
  );
}

test('refuses journals of different scenarios', () => {
  refusal([journal({ segment: { index: 0, count: 2 } }), journal({ segment: { index: 1, count: 2 }, scenarioName: 'other' })], /different scenarios: .* ran "fixture", .* ran "other"/);
});

test('refuses journals of different seeds', () => {
  refusal([journal({ segment: { index: 0, count: 2 } }), journal({ segment: { index: 1, count: 2 }, seed: 6 })], /different seeds: .*seed 5.*seed 6/);
});

test('refuses the same scenario run with other settings (a --users override on one host)', () => {
  refusal([journal({ segment: { index: 0, count: 2 } }), journal({ segment: { index: 1, count: 2 }, users: 13 })], /other settings/);
});

test('refuses mismatched segment counts', () => {
  refusal([journal({ segment: { index: 0, count: 2 } }), journal({ segment: { index: 1, count: 3 } })], /mismatched segment counts: .*one of 2 segments, .*one of 3/);
});

test('refuses a duplicate segment and names both journals', () => {
  const a = journal({ segment: { index: 1, count: 2 } });
  const b = journal({ segment: { index: 1, count: 2 } });
  refusal([journal({ segment: { index: 0, count: 2 } }), a, b], new RegExp(`duplicate segment 2/2: ${a.source} and ${b.source}`));
});

test('refuses missing segments and says which', () => {
  refusal([journal({ segment: { index: 0, count: 4 } }), journal({ segment: { index: 2, count: 4 } })], /missing segments 2\/4, 4\/4 \(given: 1\/4, 3\/4\)/);
});

test('the command line exits 2 with the message (and writes nothing)', () => {
  const a = journal({ segment: { index: 0, count: 3 } });
  const out = join(mkdtempSync(join(tmpdir(), 'imload-merge-refused-')), 'merged');
  const result = spawnSync(process.execPath, ['bin/imload.js', 'merge', a.source, '--out', out], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, EXIT.badInput, result.stderr);
  assert.match(result.stderr, /imload: merge: missing segments 2\/3, 3\/3/);
  assert.ok(!existsSync(out), 'a refused merge creates no run folder');
});
