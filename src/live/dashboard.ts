/**
 * The live page of a run (`imload run --dashboard`): one more subscriber of the coordinator's
 * seconds. It folds each journal entry into the run so far as it comes (src/live/live-run.ts),
 * and after each second builds the report's model from that (the same code as index.html:
 * summary, series, chart specs, sections) and sends it to the open pages. When the run's outputs
 * are written, `finish` sends the final report's model, and the server closes.
 *
 * Cost: each second is decoded once, on arrival; a build reads the fold, not the seconds, so it
 * no longer grows with the run's histograms (what is left growing is the charts' columns, copied
 * and downsampled to at most 900 points). Builds run off the coordinator's tick (setImmediate),
 * only while a page is open, and after a build of d ms the next waits at least 19·d ms: the page
 * costs at most ~5 % of the coordinator's time and falls back to fewer updates, never to a
 * slower run.
 */
import type { Output } from '../outputs/output.js';
import type { JournalEntry, JournalHeader, JournalSecond } from '../metrics/journal.js';
import type { ReportModel } from '../report/report-model.js';
import { renderHtml, reportPageData, reportSections } from '../report/html.js';
import { liveSection, liveSectionBody, LIVE_SCRIPT, type LiveProgress } from './page.js';
import { escapeHtml as h } from '../text/escape.js';
import { SseServer, type ListenAddress } from './server.js';
import { LiveRun } from './live-run.js';

/** The share of the coordinator's time the page's builds may take. */
const MAX_DUTY = 0.05;

export interface LivePayload {
  readonly progress: LiveProgress;
  readonly live: string;
  readonly title: string;
  readonly sections: ReadonlyArray<{ readonly id: string; readonly html: string }>;
  readonly charts: ReturnType<typeof reportPageData>['charts'];
}

export class LiveDashboard implements Output {
  private readonly server: SseServer;
  private readonly run = new LiveRun();
  private latest: { model: ReportModel; progress: LiveProgress } | undefined;
  private final: LivePayload | undefined;
  private pending = false;
  private notBefore = 0;
  /** Builds done, and the time they took (ms): for the benchmark and the tests. */
  readonly stats = { builds: 0, buildMs: 0, deferred: 0 };

  constructor() {
    this.server = new SseServer({
      page: () => this.page(),
      greeting: () => {
        if (this.final) return [{ event: 'final', data: this.final }];
        const current = this.current();
        return current ? [{ event: 'update', data: this.payload(current.model, current.progress) }] : [];
      },
    });
  }

  /** Starts the server; resolves with the page's URL. */
  listen(address: ListenAddress): Promise<string> {
    return this.server.listen(address);
  }

  get url(): string {
    return this.server.url;
  }

  /** Shown in messages, like an `--out` output's. */
  readonly description = 'dashboard';

  async start(header: JournalHeader): Promise<void> {
    this.run.add(header);
  }

  /** Notes, steps, the cross-check, faults: the summary so far reads them too (the header and seconds come through start and addSecond). */
  addEntry(entry: JournalEntry): void {
    if (entry.type !== 'second' && entry.type !== 'header') this.run.add(entry);
  }

  addSecond(entry: JournalSecond): void {
    this.run.add(entry);
    if (this.server.clientCount > 0 && !this.final) {
      // The progress every second, however long the full builds take (a few formatted numbers).
      const progress = this.progressNow();
      this.server.broadcast('progress', { progress, live: liveSectionBody(progress) });
    }
    this.schedule();
  }

  /**
   * One build at a time, off the tick, no sooner than the duty cycle allows: seconds that arrive
   * meanwhile are folded into the next build, so a page is never behind by more than that wait.
   */
  private schedule(): void {
    if (this.server.clientCount === 0 || this.pending || this.final) return;
    this.pending = true;
    const run = () => {
      this.pending = false;
      if (!this.final && this.server.clientCount > 0) this.update();
    };
    const wait = this.notBefore - performance.now();
    if (wait > 0) {
      this.stats.deferred++;
      setTimeout(run, wait);
    } else setImmediate(run);
  }

  /** The run has stopped (no more seconds); the page stays up until `finish`. */
  async stop(): Promise<{ sent: number; failed: number }> {
    return { sent: this.stats.builds, failed: 0 };
  }

  /** The run's outputs are written: the final report's model goes to every page, then the server closes. */
  async finish(model: ReportModel): Promise<void> {
    const s = model.summary;
    const progress: LiveProgress = {
      state: 'final',
      phase: `${s.end.reason}${s.end.detail ? ` (${s.end.detail})` : ''}`,
      elapsedSeconds: s.durationSeconds,
      plannedSeconds: this.plannedSeconds(),
      online: s.users.peakOnline,
      requested: s.users.requested,
      logonOk: s.users.logonOk,
      logonFailed: s.users.logonFailures,
      delivered: s.messages.delivered,
      errors: s.errors.total,
    };
    this.latest = { model, progress };
    this.final = this.payload(model, progress);
    this.server.broadcast('final', this.final);
    await this.server.close();
  }

  /** Closes without a final report (the run failed before its outputs). */
  close(): Promise<void> {
    return this.server.close();
  }

  private plannedSeconds(): number {
    const header = this.run.header;
    return header ? Math.round(header.timeline.end / 1000) : 0;
  }

  private progressNow(): LiveProgress {
    const last = this.run.lastSecond;
    const t = this.run.totals;
    return {
      state: last ? 'live' : 'waiting',
      phase: last?.phase ?? 'starting',
      elapsedSeconds: last?.t ?? 0,
      plannedSeconds: this.plannedSeconds(),
      online: last?.online ?? 0,
      requested: (this.run.header?.scenario as { population?: { users?: number } } | undefined)?.population?.users ?? 0,
      logonOk: t.logonOk,
      logonFailed: t.logonFailed,
      delivered: t.deliveriesReceived,
      errors: t.errors,
    };
  }

  private update(): void {
    const started = performance.now();
    const model = this.run.model();
    const progress = this.progressNow();
    this.latest = { model, progress };
    this.server.broadcast('update', this.payload(model, progress));
    const took = performance.now() - started;
    this.stats.builds++;
    this.stats.buildMs += took;
    this.notBefore = performance.now() + took * (1 / MAX_DUTY - 1);
  }

  private payload(model: ReportModel, progress: LiveProgress): LivePayload {
    return {
      progress,
      live: liveSectionBody(progress),
      title: `imload ${progress.state === 'final' ? 'capacity report' : 'live'} — ${model.summary.scenario.name} — ${model.summary.runId}`,
      // The sizing form keeps what the reader typed until the final report replaces it.
      sections: reportSections(model).filter((s) => progress.state === 'final' || s.id !== 'sizing').map((s) => ({ id: s.id, html: `<h2>${h(s.title)}</h2>${s.html}` })),
      charts: reportPageData(model).charts,
    };
  }

  /** The latest model, rebuilt if seconds arrived since (while no page was open, none was built). */
  private current(): { model: ReportModel; progress: LiveProgress } | undefined {
    if (!this.run.header) return undefined;
    if (!this.final && (!this.latest || this.latest.progress.elapsedSeconds !== (this.run.lastSecond?.t ?? 0))) {
      this.latest = { model: this.run.model(), progress: this.progressNow() };
    }
    return this.latest;
  }

  private page(): string {
    const current = this.current();
    // Before the run's clock starts (its workers still loading and building their users, a second
    // or more after the address is printed) there is nothing to draw: the page asks again itself.
    if (!current) return '<!doctype html><meta http-equiv="refresh" content="1"><title>imload live</title><p>The run is starting: its workers are loading and building their users. This page reloads itself.</p>';
    return renderHtml(current.model, { section: liveSection(current.progress), script: LIVE_SCRIPT });
  }
}
