/**
 * SIP over TLS soak against the lab Kamailio (5.6.3 + OpenSSL 3 on Debian 12, which has a reported
 * TLS double-free, kamailio#3791; research/sip.md § 1.3): modest load held for a few minutes,
 * repeated `--cycles` times against the same Kamailio so TLS connections are set up and torn down
 * (ramp-up, ramp-down) again and again — the frees are where the reported crash is. Prints whether
 * Kamailio stayed up (its pid, every second), memory-error lines from its log, and each cycle's
 * drops and losses. Bounded by the scenario's phases and a watchdog per cycle.
 *
 *   node --import tsx bench/tls-soak.bench.ts [--users 150] [--hold 4m] [--cycles 1]
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand } from '../src/commands/run.js';
import { startKamailio } from '../src/protocols/sip/lab.js';

const { values } = parseArgs({ options: { users: { type: 'string' }, hold: { type: 'string' }, cycles: { type: 'string' } } });
const users = Number(values.users ?? 150);
const hold = values.hold ?? '4m';
const cycles = Math.max(1, Math.min(10, Number(values.cycles ?? 1)));
const PASSWORD_ENV = 'IMLOAD_SOAK_PASSWORD';
process.env[PASSWORD_ENV] = 'soak-secret';

const lab = await startKamailio({ tls: true, users, password: process.env[PASSWORD_ENV], domain: 'soak.test' });
const tls = lab.tls!;
const alive = () => {
  try {
    process.kill(lab.pid, 0);
    return true;
  } catch {
    return false;
  }
};
let firstDeadAt: number | undefined;
const started = Date.now();
const watcher = setInterval(() => {
  if (firstDeadAt === undefined && !alive()) firstDeadAt = Date.now();
}, 1000);

const dir = mkdtempSync(join(tmpdir(), 'imload-tls-soak-'));
const file = join(dir, 'scenarios.yaml');
writeFileSync(
  file,
  `version: 1
targets:
  sip:
    url: sips://127.0.0.1:${tls.port}
    domain: soak.test
    password: { env: ${PASSWORD_ENV} }
    tls: { ca: ${JSON.stringify(lab.caFile)} }
    options: { ctl: ${JSON.stringify(lab.ctl)} }
scenarios:
  soak:
    target: sip
    seed: 9
    timeScale: 60
    population: { users: ${users}, contacts: 10 }
    phases:
      - { phase: rampUp, rate: 20 }
      - { phase: hold, duration: ${hold} }
      - { phase: rampDown, rate: 50 }
    behaviour:
      messagesPerHour: 3
      presenceChangesPerHour: 4
      activityStart: rampUpEnd
      activityDelay: 2s
      reconnect: { enabled: true, maxAttempts: 5, initialDelay: 1s, maxDelay: 5s }
`,
);

const results: unknown[] = [];
for (let cycle = 1; cycle <= cycles && alive(); cycle++) {
  // The watchdog: a hung run is stopped after its phases plus a margin.
  const controller = new AbortController();
  const watchdog = setTimeout(() => controller.abort(), 15 * 60_000);
  try {
    const { exitCode, result } = await runCommand({ file, scenario: 'soak', quiet: true, out: join(dir, `run-${cycle}`), signal: controller.signal });
    const s = result.summary;
    results.push({
      cycle,
      exitCode,
      durationSeconds: s.durationSeconds,
      users: s.users,
      messages: s.messages,
      presence: s.presence,
      errors: s.errors.byKind,
      logonP95: s.latency.logon.p95,
      deliveryP99: s.latency.delivery.p99,
    });
  } catch (error) {
    results.push({ cycle, failed: (error as Error).message });
  } finally {
    clearTimeout(watchdog);
  }
}
clearInterval(watcher);
const stayedUp = alive() && firstDeadAt === undefined;
const log = existsSync(lab.logFile) ? readFileSync(lab.logFile, 'utf8') : '';
// Kamailio's allocator reports a double free as "BUG: qm_free: freeing already freed pointer".
const memoryErrors = log.split('\n').filter((line) => /freeing already freed|double free|segfault|core dumped|BUG:/.test(line));
await lab.stop();

console.log(JSON.stringify({
  kamailio: { pid: lab.pid, stayedUp, diedAfterSeconds: firstDeadAt ? Math.round((firstDeadAt - started) / 1000) : null, memoryErrorLines: memoryErrors.slice(0, 5), logLines: log.split('\n').length },
  cycles: results,
  runDir: dir,
}, null, 2));
