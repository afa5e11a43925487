/** charts/*.png: the page's charts rendered by Chart.js on @napi-rs/canvas (no system libraries). */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables } from 'chart.js';
import { drawPhaseBands, PHASE_BANDS_PLUGIN_ID, type ChartSpec } from './chart-specs.js';

Chart.register(...registerables);

const WIDTH = 1000;
const HEIGHT = 360;

/** Writes one PNG per chart into `dir`; returns the files written. */
export async function writeChartPngs(dir: string, charts: readonly ChartSpec[]): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  // A rebuilt report must not keep charts the new one left out (e.g. a kind with no samples).
  for (const name of readdirSync(dir)) if (name.endsWith('.png')) rmSync(join(dir, name));
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
