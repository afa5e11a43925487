/**
 * What the live page adds to the report's page: a progress section and a script that follows
 * the event stream, replacing the report's sections and updating its charts in place. The rest
 * is the report's own page (src/report/html.ts), so the final report is this page, frozen.
 */
import { escapeHtml as h } from '../text/escape.js';
import { formatNumber } from '../report/format.js';

export type LiveState = 'waiting' | 'live' | 'final';

/** The progress figures shown above the report: during the run, then the run's final ones. */
export interface LiveProgress {
  readonly state: LiveState;
  /** "hold", or the end's reason once final. */
  readonly phase: string;
  readonly elapsedSeconds: number;
  readonly plannedSeconds: number;
  /** Online now; once final, the run's peak. */
  readonly online: number;
  readonly requested: number;
  readonly logonOk: number;
  readonly logonFailed: number;
  readonly delivered: number;
  readonly errors: number;
}

const FIELDS: ReadonlyArray<readonly [key: string, label: (p: LiveProgress) => string, value: (p: LiveProgress) => string]> = [
  ['phase', (p) => (p.state === 'final' ? 'Ended' : 'Phase'), (p) => p.phase],
  ['elapsed', () => 'Elapsed', (p) => `${formatNumber(p.elapsedSeconds)} s of ${formatNumber(p.plannedSeconds)} s`],
  ['online', (p) => (p.state === 'final' ? 'Online at peak' : 'Online now'), (p) => formatNumber(p.online)],
  ['requested', () => 'Users', (p) => formatNumber(p.requested)],
  ['logons', () => 'Logons', (p) => formatNumber(p.logonOk)],
  ['logon-failures', () => 'Failed logons', (p) => formatNumber(p.logonFailed)],
  ['deliveries', () => 'Deliveries', (p) => formatNumber(p.delivered)],
  ['errors', () => 'Errors', (p) => formatNumber(p.errors)],
];

function statusText(p: LiveProgress): string {
  if (p.state === 'waiting') return 'Waiting for the run’s first second…';
  if (p.state === 'live') return 'Live: updated every second. Verdicts and thresholds are judged on the run so far.';
  return 'The run has ended: this is its final report, frozen (the same figures as index.html and summary.json).';
}

/** The body of the live section (its heading included), rendered on the server for the page and each event. */
export function liveSectionBody(p: LiveProgress): string {
  const rows = FIELDS.map(([key, label, value]) => `<div><dt>${h(label(p))}</dt><dd id="live-${key}">${h(value(p))}</dd></div>`).join('');
  return `<h2>${p.state === 'final' ? 'Run ended' : 'Live'}</h2><p class="note" id="live-status">${h(statusText(p))}</p><dl class="live-progress">${rows}</dl>`;
}

export function liveSection(p: LiveProgress): string {
  return `<style>${LIVE_CSS}</style><section id="live" data-state="${p.state}" data-updates="0" data-online="${p.online}">${liveSectionBody(p)}</section>`;
}

/**
 * Runs in the page after the report's own script (whose top-level `phaseBands` and
 * `renderSizing` it uses): each `progress` event (every second) replaces the progress block,
 * each `update` event the report's sections and the charts' data too; the `final` event does
 * the same with the final report and closes the stream.
 */
export const LIVE_SCRIPT = `
(() => {
  const live = document.getElementById('live');
  const charts = new Map();
  for (const chart of Object.values(Chart.instances)) charts.set(chart.canvas.id.slice('chart-'.length), chart);
  let updates = 0;
  function setCharts(specs, html) {
    const same = specs.length === charts.size && specs.every((spec) => charts.has(spec.id));
    if (same) {
      for (const spec of specs) {
        const chart = charts.get(spec.id);
        chart.data = spec.config.data;
        chart.options = spec.config.options;
        chart.update('none');
      }
      return;
    }
    for (const chart of charts.values()) chart.destroy();
    charts.clear();
    document.getElementById('charts').innerHTML = html;
    for (const spec of specs) charts.set(spec.id, new Chart(document.getElementById('chart-' + spec.id), { ...spec.config, plugins: [phaseBands] }));
  }
  function showProgress(payload) {
    live.innerHTML = payload.live;
    live.dataset.state = payload.progress.state;
    live.dataset.online = String(payload.progress.online);
    live.dataset.updates = String(++updates);
  }
  function apply(payload) {
    for (const section of payload.sections) {
      if (section.id === 'charts') { setCharts(payload.charts, section.html); continue; }
      const element = document.getElementById(section.id);
      if (element) element.innerHTML = section.html;
      if (section.id === 'sizing') document.getElementById('sizing-form').addEventListener('input', renderSizing);
    }
    showProgress(payload);
    if (payload.title) document.title = payload.title;
  }
  if (live.dataset.state === 'final') return;
  const source = new EventSource('events');
  source.addEventListener('progress', (event) => showProgress(JSON.parse(event.data)));
  source.addEventListener('update', (event) => apply(JSON.parse(event.data)));
  source.addEventListener('final', (event) => { apply(JSON.parse(event.data)); source.close(); });
})();
`;

/** The live section's look, added to the report's style. */
export const LIVE_CSS = `
#live dl.live-progress { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: 0.4rem 1rem; }
#live dl.live-progress dt { font-size: 0.85em; opacity: 0.75; }
#live dl.live-progress dd { margin: 0; font-size: 1.3em; font-variant-numeric: tabular-nums; }
`;
