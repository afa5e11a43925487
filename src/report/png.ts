/**
 * charts/*.png: the page's charts rendered by Chart.js on @napi-rs/canvas (no system libraries).
 * The canvas is an optional dependency (35 MB of native code): without it no PNG is written, one
 * note says why, and every other output (index.html draws the same charts) is unaffected.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chart, registerables } from 'chart.js';
import { drawPhaseBands, PHASE_BANDS_PLUGIN_ID, type ChartSpec } from './chart-specs.js';

Chart.register(...registerables);

const WIDTH = 1000;
const HEIGHT = 360;

let canvasNoted = false;

/** @napi-rs/canvas's createCanvas, or undefined (with one note on stderr) when it is not installed. */
async function loadCanvas(): Promise<typeof import('@napi-rs/canvas').createCanvas | undefined> {
  try {
    return (await import('@napi-rs/canvas')).createCanvas;
  } catch (error) {
    if (!canvasNoted) {
      canvasNoted = true;
      const why = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'is not installed' : `did not load (${(error as Error).message.split('\n')[0]})`;
      process.stderr.write(`imload: note: charts/*.png not written: the optional package @napi-rs/canvas ${why}; index.html has the same charts (npm install @napi-rs/canvas for the PNGs)\n`);
    }
    return undefined;
  }
}

/** Writes one PNG per chart into `dir`; returns the files written (none without @napi-rs/canvas). */
export async function writeChartPngs(dir: string, charts: readonly ChartSpec[]): Promise<string[]> {
  // A rebuilt report must not keep charts the new one left out (a kind with no samples, or all
  // of them when the canvas is gone).
  if (existsSync(dir)) for (const name of readdirSync(dir)) if (name.endsWith('.png')) rmSync(join(dir, name));
  const createCanvas = await loadCanvas();
  if (createCanvas === undefined) return [];
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const spec of charts) {
    const canvas = createCanvas(WIDTH, HEIGHT);
    const background = { id: 'white-background', beforeDraw: (chart: Chart) => {
      // PNGs are viewed on any background: paint white so black axis text stays readable.
      const ctx = chart.ctx;
      ctx.save();
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(0, 0, chart.width, chart.height);
      ctx.restore();
    } };
    const config = {
      ...spec.config,
      options: { ...spec.config.options, responsive: false, animation: false, devicePixelRatio: 1 },
      plugins: [background, { id: PHASE_BANDS_PLUGIN_ID, beforeDatasetsDraw: drawPhaseBands }],
    } as ChartSpec['config'];
    // Chart.js picks its DOM-less platform in Node; the canvas only needs getContext('2d').
    const chart = new Chart(canvas as unknown as HTMLCanvasElement, config);
    try {
      const path = join(dir, `${spec.id}.png`);
      writeFileSync(path, await canvas.encode('png'));
      written.push(path);
    } finally {
      chart.destroy();
    }
  }
  return written;
}
