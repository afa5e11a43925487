/**
 * Writes a run folder's derived outputs — summary.json, index.html, charts/*.png, summary.md,
 * junit.xml — from its summary and its journal (written as the run went, so `imload report`
 * can redo all of this after a killed run).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import { writeChartPngs } from './png.js';
import { buildReportModel, loadRunJournal, type ReportModel, type RunJournal } from './report-model.js';
import type { Summary } from '../analysis/summary.js';

/** `journal`: the run folder's, when the caller has read it already (a long run's journal is read once). */
export async function writeRunOutputs(runDir: string, summary: Summary, journal: RunJournal | null = loadRunJournal(runDir)): Promise<ReportModel> {
  writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const model = buildReportModel(summary, journal);
  writeFileSync(join(runDir, 'junit.xml'), renderJunit(summary));
  writeFileSync(join(runDir, 'summary.md'), renderMarkdown(model));
  writeFileSync(join(runDir, 'index.html'), renderHtml(model));
  await writeChartPngs(join(runDir, 'charts'), model.charts);
  return model;
}
