/**
 * The run so far, kept up to date one journal entry at a time for the live page: the summary's
 * fold (totals and the cumulative histograms, src/analysis/summary.ts) and the charts' per-second
 * series (src/analysis/series.ts). Each second's histograms are decoded once, when it arrives;
 * a build reads the fold and the series, never the seconds again. The model it builds is the one
 * buildSummary and buildReportModel give for the same entries (test/unit/live-run.test.ts).
 */
import type { JournalEntry, JournalHeader, JournalSecond } from '../metrics/journal.js';
import { SummaryFold, summaryOf } from '../analysis/summary.js';
import { TimeSeriesBuilder } from '../analysis/series.js';
import { buildReportModel, MAX_CHART_POINTS, type ReportModel } from '../report/report-model.js';

export class LiveRun {
  private readonly fold = new SummaryFold();
  private series: TimeSeriesBuilder | undefined;

  get header(): JournalHeader | undefined {
    return this.fold.started ? this.fold.header : undefined;
  }

  get totals() {
    return this.fold.aggregate.totals;
  }

  /** The latest second, if any. */
  lastSecond: JournalSecond | undefined;

  /**
   * Every journal entry in order. The end entry is left out: the live model is of a run not
   * over yet, and the final report comes from the run's own outputs.
   */
  add(entry: JournalEntry): void {
    if (entry.type === 'end') return;
    this.fold.add(entry);
    if (entry.type === 'header') this.series = new TimeSeriesBuilder(entry, this.fold.requestedUsers);
    else if (entry.type === 'second') {
      this.lastSecond = entry;
      // The fold's aggregate has just decoded this second's histograms; the series reads the percentiles it kept.
      this.series!.add(entry);
    }
  }

  /** The report's model of the run so far (no end yet: not "cut short", just not over). */
  model(): ReportModel {
    const everySecond = this.series!.build();
    const { summary } = summaryOf(this.fold, {}, () => everySecond);
    // The model reads the journal's header only, given the series: the fold keeps no entries.
    return { ...buildReportModel(summary, { entries: [this.fold.header], tornLastLine: false }, MAX_CHART_POINTS, everySecond), cutShort: null };
  }
}
