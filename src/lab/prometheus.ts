/**
 * A Prometheus (Debian `prometheus` 2.42) on a free loopback port for `--out prometheus=…`
 * tests and recipes: its remote-write receiver and native histograms enabled, its own data
 * folder, ready once `/-/ready` answers 200. Not a protocol's server: nothing is load-tested here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labBaseDir } from './dirs.js';
import { freePort } from './ports.js';
import { startForeground, which } from './process.js';
import { LabError } from './types.js';

export interface LabPrometheus {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Where remote write goes: URL/api/v1/write. */
  readonly writeUrl: string;
  readonly pid: number;
  readonly dir: string;
  /** PromQL instant query through the HTTP API; `time` in epoch seconds. */
  query(promql: string, time?: number): Promise<PromVector>;
  stop(): Promise<void>;
  tail(lines?: number): string;
}

export type PromVector = Array<{ metric: Record<string, string>; value?: [number, string]; histogram?: [number, unknown] }>;

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';

export async function startPrometheus(options: { readyTimeoutMs?: number } = {}): Promise<LabPrometheus> {
  const binary = which(PROMETHEUS_BINARY) ?? which('prometheus');
  if (!binary) throw new LabError('prometheus is not installed', 'prometheus', 'imload lab install (Debian package prometheus)');
  const dir = mkdtempSync(join(labBaseDir(), 'prometheus-'));
  const config = join(dir, 'prometheus.yml');
  // No scrape jobs: everything arrives by remote write.
  writeFileSync(config, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const port = await freePort();
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    '--enable-feature=native-histograms',
    '--storage.tsdb.retention.time=1d',
  ];
  const process = startForeground('prometheus', binary, args, join(dir, 'prometheus.log'), { cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  let exited: number | string | undefined;
  void process.exited.then((code) => (exited = code));
  for (;;) {
    if (exited !== undefined) throw new LabError(`prometheus exited (${exited}) before it was ready:\n${process.tail()}`, 'prometheus');
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await process.stop();
      throw new LabError(`prometheus was not ready within ${options.readyTimeoutMs ?? 30_000} ms:\n${process.tail()}`, 'prometheus');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    url,
    writeUrl: `${url}/api/v1/write`,
    pid: process.pid,
    dir,
    tail: process.tail,
    async query(promql: string, time?: number): Promise<PromVector> {
      const params = new URLSearchParams({ query: promql });
      if (time !== undefined) params.set('time', String(time));
      const response = await fetch(`${url}/api/v1/query?${params}`);
      const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: PromVector } };
      if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error ?? response.status}`);
      return body.data!.result;
    },
    async stop(): Promise<void> {
      await process.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
