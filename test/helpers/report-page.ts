/**
 * A report read as a person reads it: a synthetic journal's report written as `imload report`
 * writes it (its text report is what the command printed), and the page opened in headless
 * Chromium (`imload lab install` installs it), every chart drawn before anything is read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Summary } from '../../src/analysis/summary.js';
import { which } from '../../src/lab/process.js';
import { writeSyntheticJournal, type SyntheticRun } from '../unit/report-synthetic-journal.js';

/** Why a report test skips: only locally without Chromium (CI installs it and must run the test). */
export const chromiumSkip: string | false = !which('chromium') && !process.env.CI ? 'chromium not installed (imload lab install)' : false;

export interface SyntheticReport {
  readonly dir: string;
  readonly summary: Summary;
  /** What `imload report` printed: the text report. */
  readonly printed: string;
  readonly page: Page;
  close(): Promise<void>;
}

export async function openReportPage(file: string): Promise<{ readonly browser: Browser; readonly page: Page }> {
  if (!which('chromium')) throw new Error('chromium not found: CI installs it');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, colorScheme: 'light' });
  await page.goto(`file://${file}`);
  // Chart.js draws on construction: every canvas has its chart once the page's script has run.
  await page.waitForFunction(() => [...document.querySelectorAll('canvas')].every((c) => (window as unknown as { Chart: { getChart(c: unknown): unknown } }).Chart.getChart(c)));
  return { browser, page };
}

/** Writes `run`'s journal in a fresh folder, runs `imload report` on it and opens its page. */
export async function syntheticReport(name: string, run: Omit<SyntheticRun, 'path'>): Promise<SyntheticReport> {
  const dir = mkdtempSync(join(tmpdir(), `imload-${name}-`));
  writeSyntheticJournal({ ...run, path: join(dir, 'journal.ndjson') });
  const printed = execFileSync(process.execPath, ['bin/imload.js', 'report', dir], { encoding: 'utf8' });
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
  const { browser, page } = await openReportPage(join(dir, 'index.html'));
  return {
    dir,
    summary,
    printed,
    page,
    close: async () => {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
