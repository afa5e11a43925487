/** The report's real-time bandwidth figure and its number formatting in generated prose. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupDigitsInText } from '../../src/report/html-sections.js';
import { realTimeBandwidth } from '../../src/report/report-model.js';
import type { Summary } from '../../src/analysis/summary.js';

function summaryWith(timeScale: number, peakOnline: number, normalised: number | null): Summary {
  return {
    timeScale,
    users: { peakOnline },
    bandwidth: { kbpsPerUser: 4.9, normalised: normalised === null ? null : { kbpsPerUser: normalised, method: 'm', modelScale: 1 } },
  } as unknown as Summary;
}

test('real-time bandwidth: wall-clock at timeScale 1, the normalised figure when time was compressed, none without users', () => {
  assert.deepEqual(realTimeBandwidth(summaryWith(1, 10, null)), { kbpsPerUser: 4.9, basis: 'real time (timeScale 1)' });
  assert.deepEqual(realTimeBandwidth(summaryWith(60, 10, 0.08)), { kbpsPerUser: 0.08, basis: 'real time, normalised from timeScale 60' });
  assert.equal(realTimeBandwidth(summaryWith(60, 0, null)), null);
});

test('integers in prose are grouped like the tables; product names, years and decimals keep their digits', () => {
  assert.equal(
    groupDigitsInText('asked for 1500 users, fewer than 20000; at most 19990 clients (Exchange 2000, LCS 2005, 0.0363 kbit/s, 12.5000)'),
    'asked for 1,500 users, fewer than 20,000; at most 19,990 clients (Exchange 2000, LCS 2005, 0.0363 kbit/s, 12.5000)',
  );
});
