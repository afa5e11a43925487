/**
 * A Prometheus (Debian `prometheus` 2.42) on a free loopback port for `--out prometheus=…`
 * tests and recipes: its remote-write receiver and native histograms enabled, its own data
 * folder, ready once `/-/ready` answers 200. Not a protocol's server: nothing is load-tested here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labBaseDir } from './dirs.js';
import { freePort } from './ports.js';
import { keepRunning, startForeground, waitUntilReady, which } from './process.js';
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

/** `keep`: the server outlives this process (`imload lab up prometheus`), stopped later by PID. */
export async function startPrometheus(options: { readyTimeoutMs?: number; keep?: boolean } = {}): Promise<LabPrometheus> {
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
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  try {
    await waitUntilReady(
      process,
      async (attemptMs) => {
        const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(attemptMs) });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`/-/ready answered ${response.status}`);
      },
      { timeoutMs, attemptMs: 1000 },
    );
  } catch (error) {
    await process.stop();
    throw new LabError(`prometheus: ${(error as Error).message}:\n${process.tail()}`, 'prometheus');
  }
  if (options.keep) keepRunning(process);
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
