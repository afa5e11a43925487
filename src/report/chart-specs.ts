/**
 * The report's charts as plain Chart.js configurations (JSON only: no callbacks), so the same
 * object is inlined into index.html and rendered to charts/*.png on @napi-rs/canvas. The one
 * piece of code they need, the phase bands drawn behind the series, is `drawPhaseBands` below:
 * both renderers register it, the page by embedding its source.
 */
import type { Chart, ChartConfiguration, ChartDataset, ChartType } from 'chart.js';
import { GENERATOR_LIMITS } from '../analysis/generator.js';
import type { RunPhase } from '../metrics/journal.js';
import { SATURATION_LIMITS } from '../analysis/saturation.js';
import { BUILT_IN_PROFILES } from '../scenarios/limits.js';
import { PERCENTILES, hasData, type Column, type PhaseSpan, type TimeSeries } from '../analysis/series.js';

export interface ChartSpec {
  /** File-name-safe id: charts/<id>.png and the canvas id in the page. */
  readonly id: string;
  readonly title: string;
  readonly config: ChartConfiguration<'line', ChartPoint[]>;
}

/** A sample at `x` seconds since the start; `y` null is a second without a value (a gap). */
export interface ChartPoint {
  readonly x: number;
  readonly y: number | null;
}

/** Charts that had nothing to draw (e.g. no presence samples), with the reason shown instead. */
export interface OmittedChart {
  readonly title: string;
  readonly reason: string;
}

/** One shaded stretch of the time axis (a run phase), in seconds since the start. */
export interface PhaseBand {
  readonly from: number;
  readonly to: number;
  readonly label: string;
  readonly colour: string;
}

export interface PhaseBandsOptions {
  readonly bands: readonly PhaseBand[];
}

declare module 'chart.js' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface PluginOptionsByType<TType extends ChartType> {
    phaseBands?: PhaseBandsOptions;
  }
}

/** LCS 2005's documented average bandwidth per user (limits.md), the line on the bandwidth chart. */
export const DOCUMENTED_KBPS_PER_USER: number =
  BUILT_IN_PROFILES.lcs2005?.figures.find((f) => f.metric === 'bandwidth.kbpsPerUser')?.value ?? 1.6;

// Colours readable on white and on the dark theme's background.
export const PALETTE = ['#2f7ed8', '#e4572e', '#29a36a', '#a05ddf', '#d9a400', '#17a2b8', '#c2185b', '#6d7f8c'] as const;
const WARNING_FILL = 'rgba(228, 87, 46, 0.15)';

/** Faint tints behind the series, distinct from every palette colour, on white and on dark. */
const PHASE_STYLE: Record<RunPhase, { readonly label: string; readonly colour: string }> = {
  rampUp: { label: 'ramp-up', colour: 'rgba(47, 126, 216, 0.10)' },
  hold: { label: 'hold', colour: 'rgba(41, 163, 106, 0.08)' },
  rampDown: { label: 'ramp-down', colour: 'rgba(217, 164, 0, 0.12)' },
  stopping: { label: 'stopping', colour: 'rgba(128, 128, 128, 0.14)' },
};

/** Line width and marker radius of the first series of a chart; later ones are drawn wider. */
const BASE_WIDTH = 1.5;
const BASE_RADIUS = 2.5;
/** How much wider each later series is (up to the third): a 1 px rim each side shows it under the one above. */
const LAYER_STEP = 2;
const MAX_LAYER = 2;

const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);

/**
 * Markers where a line cannot show a sample: a value with no valued neighbour draws no segment,
 * so with radius 0 it would be invisible (a one-second series would leave the chart blank).
 * Elsewhere the line itself shows the value, and markers would only clutter.
 */
export function isolatedPointRadii(column: Column, radius: number): number | number[] {
  const has = (i: number) => column[i] !== null && column[i] !== undefined;
  const radii = column.map((_, i) => (has(i) && !has(i - 1) && !has(i + 1) ? radius : 0));
  return radii.some((r) => r > 0) ? radii : 0;
}

/** A series as built: one value per point of the time series, turned into points by chart(). */
type SeriesDataset = ChartDataset<'line', Column>;

function line(label: string, data: Column, colour: string, extra: Partial<SeriesDataset> = {}): SeriesDataset {
  return {
    label,
    data: data.map(round),
    borderColor: colour,
    backgroundColor: colour,
    borderWidth: BASE_WIDTH,
    pointRadius: isolatedPointRadii(data, BASE_RADIUS),
    spanGaps: false,
    ...extra,
  };
}

/** A constant line (a documented figure or a warning level); `band` shades everything above it. */
function level(label: string, value: number, points: number, colour: string, band: boolean): SeriesDataset {
  return line(label, new Array<number>(points).fill(value), colour, {
    borderDash: [6, 4],
    // Two pixels: a thinner dashed line is all anti-aliasing, too faint to read as its colour.
    borderWidth: 2,
    pointRadius: 0,
    ...(band ? { fill: 'end', backgroundColor: WARNING_FILL } : {}),
  });
}

/**
 * Puts each value at its second on the time axis. Chart.js draws the first dataset on top, so
 * each later series is drawn wider (line and markers): where series coincide (p50 = p95 = p99 in
 * a second with few samples, failed logons on zero under succeeded ones) every colour still shows
 * around the ones above it (constant lines included: a documented figure can sit on another).
 */
function onTimeAxis(datasets: readonly SeriesDataset[], t: readonly number[]): ChartDataset<'line', ChartPoint[]>[] {
  let layer = 0;
  return datasets.map((dataset) => {
    const data = dataset.data.map((y, i) => ({ x: t[i]!, y }));
    const extra = Math.min(layer++, MAX_LAYER) * LAYER_STEP;
    const radius = dataset.pointRadius;
    return {
      ...dataset,
      data,
      borderWidth: Math.max(Number(dataset.borderWidth ?? 0), BASE_WIDTH + extra),
      pointRadius: Array.isArray(radius) ? radius.map((r: number) => (r > 0 ? r + extra : 0)) : radius,
    } as ChartDataset<'line', ChartPoint[]>;
  });
}

export function phaseBands(phases: readonly PhaseSpan[]): PhaseBand[] {
  return phases.map((p) => ({ from: p.from, to: p.to, ...PHASE_STYLE[p.phase] }));
}

/**
 * Chart.js plugin hook (beforeDatasetsDraw): shades each phase band inside the plotting area and
 * names it along the top. Self-contained (no imports, helpers or module state) because the page
 * embeds its source, like sizeDeployment.
 */
export function drawPhaseBands(chart: Chart, _args: unknown, options: PhaseBandsOptions): void {
  const area = chart.chartArea;
  const x = chart.scales.x;
  if (!area || !x || !options || !options.bands) return;
  const ctx = chart.ctx;
  ctx.save();
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'top';
  for (const band of options.bands) {
    const left = Math.max(area.left, x.getPixelForValue(band.from));
    const right = Math.min(area.right, x.getPixelForValue(band.to));
    if (!(right > left)) continue;
    ctx.fillStyle = band.colour;
    ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
    // A name only where it fits, so narrow bands stay readable as colour alone.
    if (ctx.measureText(band.label).width + 6 <= right - left) {
      ctx.fillStyle = String(chart.options.color ?? '#666');
      ctx.globalAlpha = 0.7;
      ctx.fillText(band.label, left + 3, area.top + 3);
      ctx.globalAlpha = 1;
    }
  }
  ctx.restore();
}

export const PHASE_BANDS_PLUGIN_ID = 'phaseBands';

interface TimeAxis {
  readonly t: readonly number[];
  readonly title: string;
  readonly end: number;
  readonly bands: PhaseBand[];
}

/** A y axis from zero with headroom; a chart whose values span magnitudes takes a log axis instead. */
type YAxis = { readonly type: 'linear' } | { readonly type: 'logarithmic' };

function chart(id: string, title: string, yTitle: string, datasets: SeriesDataset[], axis: TimeAxis, y: YAxis = { type: 'linear' }): ChartSpec {
  return {
    id,
    title,
    config: {
      type: 'line',
      data: { datasets: onTimeAxis(datasets, axis.t) },
      options: {
        animation: false,
        normalized: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: { title: { display: true, text: title }, legend: { position: 'bottom' }, phaseBands: { bands: axis.bands } },
        scales: {
          x: { type: 'linear', min: 0, max: axis.end, title: { display: true, text: axis.title }, ticks: { maxTicksLimit: 12 } },
          // Room above the highest value, so a series or level at the maximum is not cut by the edge.
          y: y.type === 'logarithmic'
            ? { type: 'logarithmic', title: { display: true, text: `${yTitle} (log scale)` } }
            : { title: { display: true, text: yTitle }, beginAtZero: true, grace: '5%' },
        },
      },
    },
  };
}

export interface ChartSpecOptions {
  /** How the bandwidth series is measured ("measured wall-clock"). */
  readonly bandwidthBasis: string;
  readonly timeScale: number;
  /** The whole run's per-user bandwidth in real time, when the run compressed time. */
  readonly normalisedKbpsPerUser: number | null;
}

export function buildChartSpecs(series: TimeSeries, options: ChartSpecOptions): { charts: ChartSpec[]; omitted: OmittedChart[] } {
  const { t, columns } = series;
  const n = t.length;
  const axis: TimeAxis = {
    t,
    title: series.bucketSeconds > 1 ? `seconds since start (each ${series.bucketSeconds} s drawn as its lowest and highest value)` : 'seconds since start',
    end: Math.max(t.at(-1) ?? 0, series.phases.at(-1)?.to ?? 0),
    bands: phaseBands(series.phases),
  };
  const col = (name: string): Column => columns[name] ?? new Array<null>(n).fill(null);
  const make = (id: string, title: string, yTitle: string, datasets: SeriesDataset[], y?: YAxis) => chart(id, title, yTitle, datasets, axis, y);
  const charts: ChartSpec[] = [];
  const omitted: OmittedChart[] = [];

  charts.push(make('online', 'Online users against target', 'users', [
    line('online', col('online'), PALETTE[0]!),
    line('target (planned)', col('target'), PALETTE[7]!, { borderDash: [4, 4] }),
  ]));
  charts.push(make('logons', 'Logons per second', 'logons/s', [
    line('succeeded', col('logonOk'), PALETTE[2]!),
    line('failed', col('logonFailed'), PALETTE[1]!),
  ]));
  charts.push(make('messages', 'Messages per second', 'messages/s', [
    line('sent (IM + channel)', col('sent'), PALETTE[0]!),
    line('delivered', col('delivered'), PALETTE[2]!),
  ]));
  for (const kind of series.latencies) {
    const title = `${kind[0]!.toUpperCase()}${kind.slice(1)} latency (per-second p50/p95/p99)`;
    if (!PERCENTILES.some((p) => hasData(columns[`latency:${kind}:${p}`]))) {
      omitted.push({ title, reason: `no ${kind} samples in this run` });
      continue;
    }
    charts.push(make(`latency-${kind}`, title, 'ms', PERCENTILES.map((p, i) => line(p, col(`latency:${kind}:${p}`), PALETTE[[2, 4, 1][i]!]!))));
  }
  // Per second only the wall-clock figure exists; a compressed run also gets its whole-run
  // real-time figure as a line, the one to set against the documented average.
  const compressed = options.timeScale > 1 ? ` at timeScale ${options.timeScale}, not real time` : '';
  charts.push(make('bandwidth', `Bandwidth per online user (${options.bandwidthBasis}${compressed})`, 'kbit/s per user', [
    line(`measured (${options.bandwidthBasis}${compressed})`, col('kbpsPerUser'), PALETTE[0]!),
    ...(compressed && options.normalisedKbpsPerUser !== null
      ? [level(`real time (normalised, whole run): ${options.normalisedKbpsPerUser} kbit/s`, options.normalisedKbpsPerUser, n, PALETTE[2]!, false)]
      : []),
    level(`documented ${DOCUMENTED_KBPS_PER_USER} kbit/s (LCS 2005, 8-hour average)`, DOCUMENTED_KBPS_PER_USER, n, PALETTE[1]!, false),
  // Log axis: logon seconds reach hundreds of kbit/s per user, real-time figures hundredths; on a
  // linear axis the documented and real-time lines would merge on the floor.
  ], { type: 'logarithmic' }));
  const errorSets = series.errorKinds.length > 0
    ? series.errorKinds.map((kind, i) => line(kind, col(`error:${kind}`), PALETTE[(i + 1) % PALETTE.length]!))
    : [line('all kinds (none seen)', col('errors'), PALETTE[1]!)];
  charts.push(make('errors', 'Errors per second by kind', 'errors/s', errorSets));
  // The max beside the p99: a worker that stopped (swapped out, paused) sends no sample while it is
  // stopped, and its next one carries the stall as its max; a gap in both lines is such a second.
  // Log axis: a p99 of milliseconds and a stall of seconds on one chart.
  charts.push(make('health-event-loop', 'Generator event-loop delay (worst worker)', 'ms in each second', [
    line('event-loop delay p99', col('health:eventLoopP99'), PALETTE[3]!),
    line('max (a stall shows here)', col('health:eventLoopMax'), PALETTE[4]!),
    level(`warning: p99 above ${GENERATOR_LIMITS.eventLoopP99Ms} ms, the generator shapes the figures`, GENERATOR_LIMITS.eventLoopP99Ms, n, PALETTE[1]!, true),
  ], { type: 'logarithmic' }));
  charts.push(make('health-cpu', 'Generator CPU (busiest worker)', '% of one core', [
    line('CPU', col('health:cpuPercent'), PALETTE[5]!),
    level(`warning: above ${GENERATOR_LIMITS.cpuPercent} %`, GENERATOR_LIMITS.cpuPercent, n, PALETTE[1]!, true),
  ]));
  const cores = Math.max(0, ...col('health:hostCoreCount').map((c) => c ?? 0));
  if (cores > 0) {
    charts.push(make('host-cpu', 'CPU: host, server and generator', 'cores busy', [
      line('host (every process)', col('health:hostCores'), PALETTE[0]!),
      line('server (lab server processes)', col('health:serverCores'), PALETTE[2]!),
      line('generator (all workers)', col('health:generatorCores'), PALETTE[5]!),
      level(`saturated: ${SATURATION_LIMITS.hostCpuPercent} % of the host's ${cores} cores`, (cores * SATURATION_LIMITS.hostCpuPercent) / 100, n, PALETTE[1]!, true),
    ]));
  } else omitted.push({ title: 'CPU: host, server and generator', reason: 'the journal has no host CPU samples (a run from before they were journaled, or a host without /proc)' });
  charts.push(make('health-rss', 'Generator memory (RSS, all workers)', 'MiB', [line('RSS', col('health:rssMiB'), PALETTE[6]!)]));
  return { charts, omitted };
}
