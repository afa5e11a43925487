/**
 * The report's charts as plain Chart.js configurations (JSON only: no callbacks), so the same
 * object is inlined into index.html and rendered to charts/*.png on @napi-rs/canvas.
 */
import type { ChartConfiguration, ChartDataset } from 'chart.js';
import { GENERATOR_LIMITS } from '../capacity/generator.js';
import { SATURATION_LIMITS } from '../capacity/saturation.js';
import { BUILT_IN_PROFILES } from '../scenarios/limits.js';
import { CHART_LATENCIES, PERCENTILES, hasData, type Column, type TimeSeries } from './series.js';

export interface ChartSpec {
  /** File-name-safe id: charts/<id>.png and the canvas id in the page. */
  readonly id: string;
  readonly title: string;
  readonly config: ChartConfiguration<'line'>;
}

/** Charts that had nothing to draw (e.g. no presence samples), with the reason shown instead. */
export interface OmittedChart {
  readonly title: string;
  readonly reason: string;
}

/** LCS 2005's documented average bandwidth per user (limits.md), the line on the bandwidth chart. */
export const DOCUMENTED_KBPS_PER_USER: number =
  BUILT_IN_PROFILES.lcs2005?.figures.find((f) => f.metric === 'bandwidth.kbpsPerUser')?.value ?? 1.6;

// Colours readable on white and on the dark theme's background.
const PALETTE = ['#2f7ed8', '#e4572e', '#29a36a', '#a05ddf', '#d9a400', '#17a2b8', '#c2185b', '#6d7f8c'];
const WARNING_FILL = 'rgba(228, 87, 46, 0.15)';

const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);

function line(label: string, data: Column, colour: string, extra: Partial<ChartDataset<'line'>> = {}): ChartDataset<'line'> {
  return { label, data: data.map(round), borderColor: colour, backgroundColor: colour, borderWidth: 1.5, pointRadius: 0, spanGaps: false, ...extra };
}

/** A constant line (a documented figure or a warning level); `band` shades everything above it. */
function level(label: string, value: number, points: number, colour: string, band: boolean): ChartDataset<'line'> {
  return line(label, new Array<number>(points).fill(value), colour, {
    borderDash: [6, 4],
    borderWidth: 1,
    ...(band ? { fill: 'end', backgroundColor: WARNING_FILL } : {}),
  });
}

function chart(id: string, title: string, yTitle: string, labels: number[], datasets: ChartDataset<'line'>[], xTitle: string): ChartSpec {
  return {
    id,
    title,
    config: {
      type: 'line',
      data: { labels, datasets },
      options: {
        animation: false,
        normalized: true,
        interaction: { mode: 'index', intersect: false },
        plugins: { title: { display: true, text: title }, legend: { position: 'bottom' } },
        scales: {
          x: { title: { display: true, text: xTitle }, ticks: { maxTicksLimit: 12 } },
          y: { title: { display: true, text: yTitle }, beginAtZero: true },
        },
      },
    },
  };
}

export function buildChartSpecs(series: TimeSeries, options: { readonly bandwidthBasis: string }): { charts: ChartSpec[]; omitted: OmittedChart[] } {
  const { t, columns } = series;
  const n = t.length;
  const xTitle = series.bucketSeconds > 1 ? `seconds since start (one point per ${series.bucketSeconds} s: rates averaged, latencies and health at their worst)` : 'seconds since start';
  const col = (name: string): Column => columns[name] ?? new Array<null>(n).fill(null);
  const make = (id: string, title: string, yTitle: string, datasets: ChartDataset<'line'>[]) => chart(id, title, yTitle, t, datasets, xTitle);
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
  for (const kind of CHART_LATENCIES) {
    const title = `${kind[0]!.toUpperCase()}${kind.slice(1)} latency (per-second p50/p95/p99)`;
    if (!PERCENTILES.some((p) => hasData(columns[`latency:${kind}:${p}`]))) {
      omitted.push({ title, reason: `no ${kind} samples in this run` });
      continue;
    }
    charts.push(make(`latency-${kind}`, title, 'ms', PERCENTILES.map((p, i) => line(p, col(`latency:${kind}:${p}`), PALETTE[[2, 4, 1][i]!]!))));
  }
  charts.push(make('bandwidth', `Bandwidth per online user (${options.bandwidthBasis})`, 'kbit/s per user', [
    line(`measured (${options.bandwidthBasis})`, col('kbpsPerUser'), PALETTE[0]!),
    level(`documented ${DOCUMENTED_KBPS_PER_USER} kbit/s (LCS 2005, 8-hour average)`, DOCUMENTED_KBPS_PER_USER, n, PALETTE[1]!, false),
  ]));
  const errorSets = series.errorKinds.length > 0
    ? series.errorKinds.map((kind, i) => line(kind, col(`error:${kind}`), PALETTE[(i + 1) % PALETTE.length]!))
    : [line('all kinds (none seen)', col('errors'), PALETTE[1]!)];
  charts.push(make('errors', 'Errors per second by kind', 'errors/s', errorSets));
  charts.push(make('health-event-loop', 'Generator event-loop delay (worst worker)', 'ms (p99 over each second)', [
    line('event-loop delay p99', col('health:eventLoopP99'), PALETTE[3]!),
    level(`warning: above ${GENERATOR_LIMITS.eventLoopP99Ms} ms the generator shapes the figures`, GENERATOR_LIMITS.eventLoopP99Ms, n, PALETTE[1]!, true),
  ]));
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
