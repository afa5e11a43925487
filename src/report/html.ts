/**
 * index.html: one self-contained page (Chart.js inlined, data inlined, no network) that reads well
 * on screen, in dark mode and on paper.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { drawPhaseBands, PHASE_BANDS_PLUGIN_ID } from './chart-specs.js';
import { escapeHtml as h, jsonForScript } from '../text/escape.js';
import { figuresSection, overviewSection, protocolSections, reproduceSection, sizingSection, thresholdSection, verdictSection } from './html-sections.js';
import { pageTop } from './page.js';
import { lossesSection } from './html-losses.js';
import { faultsSection } from './html-faults.js';
import { netsplitSection } from './netsplits.js';
import type { ReportModel } from './report-model.js';
import { sizeDeployment } from './sizing.js';

export class ReportAssetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportAssetError';
  }
}

let chartJsSource: string | undefined;

/** The Chart.js UMD bundle, read once from node_modules (the package exports only its ESM/CJS entry). */
export function chartJsBundle(): string {
  if (chartJsSource === undefined) {
    const entry = createRequire(import.meta.url).resolve('chart.js');
    const path = join(dirname(entry), 'chart.umd.min.js');
    try {
      chartJsSource = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ReportAssetError(`cannot read the Chart.js bundle at ${path}: ${(error as Error).message}`);
    }
    // Inlined in a <script> element, the bundle must not contain its closing tag.
    if (/<\/script/i.test(chartJsSource)) throw new ReportAssetError(`${path} contains "</script" and cannot be inlined`);
  }
  return chartJsSource;
}

/** Runs in the page: draws the charts (with their phase bands), follows the colour scheme, recomputes the sizing table. */
const PAGE_SCRIPT = `
const data = JSON.parse(document.getElementById('report-data').textContent);
const dark = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
Chart.defaults.color = dark ? '#d6d6d6' : '#333';
Chart.defaults.borderColor = dark ? 'rgba(255,255,255,0.14)' : 'rgba(0,0,0,0.1)';
Chart.defaults.maintainAspectRatio = false;
const phaseBands = { id: '${PHASE_BANDS_PLUGIN_ID}', beforeDatasetsDraw: ${drawPhaseBands.toString()} };
for (const spec of data.charts) new Chart(document.getElementById('chart-' + spec.id), { ...spec.config, plugins: [phaseBands] });
// Charts are sized for the screen; re-fit them to the paper width around printing.
const refit = () => { for (const chart of Object.values(Chart.instances)) chart.resize(); };
window.addEventListener('beforeprint', refit);
window.addEventListener('afterprint', refit);

const sizeDeployment = ${sizeDeployment.toString()};
const fmt = (v, digits) => v.toLocaleString('en', { maximumFractionDigits: digits });
const number = (id) => { const v = Number(document.getElementById(id).value); return Number.isFinite(v) && v >= 0 ? v : 0; };
function renderSizing() {
  const answer = sizeDeployment({
    ...data.sizing,
    users: number('sizing-users'),
    peakOnlineFraction: number('sizing-fraction') / 100,
    site: { users: number('sizing-site-users'), linkKbps: number('sizing-site-link') },
  });
  const cells = { peakOnline: fmt(answer.peakOnline, 3) };
  answer.servers.forEach((s, i) => { cells['servers-' + i] = s.servers === null ? 'unknown' : fmt(s.servers, 3); });
  answer.bandwidth.forEach((b, i) => {
    cells['total-' + i] = fmt(b.totalKbps / 1000, 2) + ' Mbit/s';
    cells['site-' + i] = b.siteKbps === null ? '—' : fmt(b.siteKbps, 1) + ' kbit/s';
    cells['link-' + i] = b.siteLinkUse === null ? '—' : fmt(b.siteLinkUse * 100, 0) + ' %';
  });
  for (const el of document.querySelectorAll('[data-sizing]')) el.textContent = cells[el.dataset.sizing] ?? '';
}
document.getElementById('sizing-form').addEventListener('input', renderSizing);
`;

/** What the page says under "Over time" when the charts are downsampled (src/analysis/series.ts downsample()). */
export function chartResolution(bucketSeconds: number): string {
  return `Resolution: ${bucketSeconds} s. So the page stays small, each ${bucketSeconds} s of the run is drawn as two points holding every series' lowest and highest value over those seconds, so a one-second peak or dip keeps its height (it may move by up to ${bucketSeconds} s).`;
}

function chartsSection(model: ReportModel): string {
  const figures = model.charts.map((c) => `<figure class="chart"><div class="chart-box"><canvas id="chart-${h(c.id)}" role="img" aria-label="${h(c.title)}"></canvas></div></figure>`);
  const omitted = model.omittedCharts.map((o) => `<p class="note omitted">${h(o.title)}: ${h(o.reason)}.</p>`);
  const bucket = model.series && model.series.bucketSeconds > 1 ? `<p class="note" id="chart-resolution">${h(chartResolution(model.series.bucketSeconds))}</p>` : '';
  return `${bucket}<div class="charts">${figures.join('\n')}</div>${omitted.join('\n')}`;
}

/** The page's sections in order (id, heading, body): the report and the live page (src/live/) render the same ones. */
export function reportSections(model: ReportModel): Array<{ readonly id: string; readonly title: string; readonly html: string }> {
  return [
    { id: 'overview', title: 'Run', html: overviewSection(model) },
    { id: 'limits', title: 'Verdicts against documented limits', html: verdictSection(model) },
    { id: 'slos', title: 'SLOs and thresholds', html: thresholdSection(model) },
    { id: 'figures-section', title: 'Figures', html: figuresSection(model) },
    { id: 'outcomes', title: 'Outcomes and lost deliveries', html: lossesSection(model) },
    { id: 'faults', title: 'Faults', html: faultsSection(model) },
    ...(model.summary.faults.netsplits.length > 0 ? [{ id: 'netsplits', title: 'Netsplits', html: netsplitSection(model.summary) }] : []),
    { id: 'charts', title: 'Over time', html: chartsSection(model) },
    { id: 'protocols', title: 'Per protocol', html: protocolSections(model) },
    { id: 'sizing', title: 'Sizing', html: sizingSection(model) },
    { id: 'reproduce-section', title: 'Reproduce', html: reproduceSection(model) },
  ];
}

/** What the page script reads from #report-data: the charts' configurations and the sizing query. */
export function reportPageData(model: ReportModel) {
  return { charts: model.charts.map((c) => ({ id: c.id, config: c.config })), sizing: model.sizing.query };
}

/** `live` (the live page, src/live/): a section before the report's and a script after the page's. */
export function renderHtml(model: ReportModel, live?: { readonly section: string; readonly script: string }): string {
  const s = model.summary;
  const pageData = reportPageData(model);
  const top = pageTop({ title: `imload capacity report — ${s.scenario.name} — ${s.runId}`, heading: `Capacity report: ${s.scenario.name}`, sub: `run ${s.runId} · imload ${s.reproduce.imloadVersion}` });
  return `${top}
<main>
${live ? `${live.section}\n` : ''}${reportSections(model).map((section) => `<section id="${section.id}"><h2>${h(section.title)}</h2>${section.html}</section>`).join('\n')}
</main>
<script type="application/json" id="report-data">${jsonForScript(pageData)}</script>
<script>${chartJsBundle()}</script>
<script>${PAGE_SCRIPT}</script>
${live ? `<script>${live.script}</script>\n` : ''}</body>
</html>
`;
}
