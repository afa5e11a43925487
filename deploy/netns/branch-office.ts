/**
 * A branch office behind a shaped WAN link, on one machine (root needed):
 *
 *   node --import tsx deploy/netns/branch-office.ts branch-56k 56kbit [--file scenarios.yaml] [--out DIR] [-- --duration 2m]
 *
 * Creates a server and a branch network namespace (src/lab/netns.ts), shapes the branch's link
 * with tbf in both directions, starts the lab InspIRCd in the server namespace, runs the
 * scenario in the branch namespace, deletes the namespaces, and reports logon time, delivery
 * latency and the users the link carries at the measured bandwidth per user. The figures are
 * also written to <run-dir>/branch-link.json beside the run's usual outputs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runBranchOffice, usersPerLink } from '../../src/lab/netns.js';
import { loadScenarioFile } from '../../src/scenarios/load.js';
import type { Summary } from '../../src/analysis/summary.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { file: { type: 'string', default: 'scenarios.yaml' }, out: { type: 'string' } },
});
const [scenario, link, ...runArgs] = positionals;
if (!scenario || !link) {
  process.stderr.write('usage: branch-office.ts <scenario> <link, e.g. 56kbit> [--file F] [--out DIR] [-- imload run options]\n');
  process.exit(2);
}
// Ctrl-C: exit through process.exit so the namespaces are deleted by netns.ts's exit hook.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

const file = resolve(values.file);
const target = loadScenarioFile(file).config.scenarios[scenario]?.target;
if (!target) {
  process.stderr.write(`${file}: no scenario named "${scenario}"\n`);
  process.exit(2);
}
const outDir = resolve(values.out ?? join('reports', `${scenario}-${link}-${Date.now()}`));
const run = await runBranchOffice({ file, scenario, target, link, outDir, extraArgs: runArgs });
const summary = JSON.parse(readFileSync(join(run.runDir, 'summary.json'), 'utf8')) as Summary;
const appBytes = summary.bandwidth.bytesIn + summary.bandwidth.bytesOut;
const wireOverhead = appBytes > 0 ? run.wireBytes / appBytes : 1;
const figures = {
  link,
  linkKbps: run.linkBitsPerSecond / 1000,
  logonMs: { p50: summary.latency.logon.p50, p95: summary.latency.logon.p95 },
  deliveryMs: { p50: summary.latency.delivery.p50, p99: summary.latency.delivery.p99 },
  kbpsPerUser: summary.bandwidth.kbpsPerUser,
  kbpsPerUserWindow: summary.bandwidth.window,
  usersPerLink: usersPerLink(run.linkBitsPerSecond, summary.bandwidth.kbpsPerUser),
  wireOverhead: Math.round(wireOverhead * 100) / 100,
  usersPerLinkWithHeaders: usersPerLink(run.linkBitsPerSecond, summary.bandwidth.kbpsPerUser, wireOverhead),
  timeScale: summary.timeScale,
};
writeFileSync(join(run.runDir, 'branch-link.json'), `${JSON.stringify(figures, null, 2)}\n`);
process.stdout.write(
  [
    `${scenario} over a ${link} link (${summary.users.logonOk}/${summary.users.requested} users logged on)`,
    `  logon     p50 ${figures.logonMs.p50} ms, p95 ${figures.logonMs.p95} ms`,
    `  delivery  p50 ${figures.deliveryMs.p50} ms, p99 ${figures.deliveryMs.p99} ms`,
    `  bandwidth ${figures.kbpsPerUser} kbit/s per user (application bytes, ${figures.kbpsPerUserWindow})`,
    `  the link carries ${figures.usersPerLink} users at that rate; ${figures.usersPerLinkWithHeaders} counting TCP/IP headers (wire/application bytes ${figures.wireOverhead})`,
    ...(summary.timeScale !== 1 ? [`  timeScale ${summary.timeScale}: behaviour traffic was compressed, so these are not real-time per-user figures`] : []),
    `  outputs in ${run.runDir}`,
  ].join('\n') + '\n',
);
process.exitCode = run.exitCode ?? 1;
