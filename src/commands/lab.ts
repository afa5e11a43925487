/** `imload lab install|up|down|status`. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labBaseDir } from '../lab/dirs.js';
import { LAB_KINDS, startLabFor } from '../lab/index.js';
import { startPrometheus } from '../lab/prometheus.js';
import { processAlive } from '../lab/process.js';
import { LAB_TOOLS } from '../lab/types.js';
import { LAB_SERVERS } from '../protocols/registry.js';
import { EXIT, UserFacingError } from '../exit-codes.js';

/**
 * Debian packages `imload lab install` installs: every protocol's lab servers (their descriptors
 * say which), then what the lab itself needs: openssl for the run's CA and certificates, Chromium
 * for the report test, ip and tc for network namespaces and shaped links (multi-host and
 * branch-office tests).
 */
export const LAB_PACKAGES = [
  ...new Set([...LAB_SERVERS.flatMap((server) => server.packages), 'openssl', 'ca-certificates', 'chromium', 'iproute2', 'prometheus']),
];

/** scripts/build-native.mjs, the same path from src/ and from the published dist/. */
const BUILD_NATIVE = new URL('../../scripts/build-native.mjs', import.meta.url);

/**
 * Sets up this machine for imload: builds the UDP addon (no root needed; without a compiler it
 * says so and SIP over UDP uses node:dgram), then installs the lab's Debian packages (root).
 */
export async function labInstall(): Promise<number> {
  spawnSync(process.execPath, [fileURLToPath(BUILD_NATIVE)], { stdio: 'inherit' });
  const isRoot = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  const command = `apt-get update && apt-get install -y ${LAB_PACKAGES.join(' ')}`;
  if (!isRoot || !hasApt) {
    process.stdout.write(
      `imload lab install needs root on Debian or Ubuntu. Install these packages yourself:\n  sudo ${command.replace('&& apt-get', '&& sudo apt-get')}\n`,
    );
    return EXIT.couldNotStart;
  }
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...LAB_PACKAGES]]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) {
      process.stderr.write(`imload: apt-get ${args[0]} failed (exit ${result.status})\n`);
      return EXIT.couldNotStart;
    }
  }
  process.stdout.write(`installed: ${LAB_PACKAGES.join(' ')}\n`);
  return EXIT.ok;
}

interface LabRecord {
  kind: string;
  name: string;
  url: string;
  pid: number;
  dir: string;
}

const statePath = () => join(labBaseDir(), 'state.json');

function readState(): LabRecord[] {
  try {
    return JSON.parse(readFileSync(statePath(), 'utf8')) as LabRecord[];
  } catch {
    return [];
  }
}

export async function labUp(kinds: string[]): Promise<void> {
  const records = readState().filter((r) => processAlive(r.pid));
  const known: string[] = [...LAB_KINDS, ...LAB_TOOLS];
  for (const kind of kinds) {
    if (!known.includes(kind)) throw new UserFacingError(`unknown lab server "${kind}" (known: ${known.join(', ')})`, EXIT.badInput);
    if (kind === 'prometheus') {
      const prometheus = await startPrometheus({ keep: true });
      records.push({ kind, name: kind, url: prometheus.url, pid: prometheus.pid, dir: prometheus.dir });
      process.stdout.write(`${kind.padEnd(12)} ${prometheus.url.padEnd(40)} pid ${prometheus.pid} (run with --out prometheus=${prometheus.writeUrl})\n`);
      continue;
    }
    const lab = await startLabFor(kind, { keep: true, users: 1000 });
    for (const server of lab.servers) {
      if (records.some((r) => r.pid === server.pid && r.url === server.url)) continue;
      records.push({ kind: server.kind, name: server.name, url: server.url, pid: server.pid, dir: server.dir });
      process.stdout.write(`${server.kind.padEnd(12)} ${server.url.padEnd(40)} pid ${server.pid} (config and logs in ${server.dir})\n`);
    }
  }
  writeFileSync(statePath(), `${JSON.stringify(records, null, 2)}\n`);
}

export async function labDown(): Promise<void> {
  const records = readState();
  for (const record of records) {
    if (!processAlive(record.pid)) continue;
    process.kill(record.pid, 'SIGTERM');
    for (let i = 0; i < 30 && processAlive(record.pid); i++) await new Promise((r) => setTimeout(r, 100));
    // Lab servers lead their own process group; workers they forked go with them.
    try {
      process.kill(-record.pid, 'SIGKILL');
    } catch {
      /* the group is gone */
    }
    process.stdout.write(`stopped ${record.kind} pid ${record.pid}\n`);
  }
  writeFileSync(statePath(), '[]\n');
}

export function labStatus(): void {
  const records = readState();
  if (records.length === 0) process.stdout.write('no lab servers recorded (imload lab up starts them)\n');
  for (const r of records) process.stdout.write(`${r.kind.padEnd(10)} ${r.url.padEnd(28)} pid ${r.pid} ${processAlive(r.pid) ? 'running' : 'gone'}\n`);
}

