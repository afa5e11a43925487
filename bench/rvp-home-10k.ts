/**
 * One RVP home server process with 10,000 online users, 20 contacts each, the documented
 * workload (3 IMs/hour, 2 presence changes/hour) at time-scale 1 for 10 minutes: scenario
 * `im-home-10k`. Prints logon p95, delivery p99, presence p95, errors, and the server
 * process's CPU and RSS sampled from /proc.
 *
 *   node --import tsx bench/rvp-home-10k.ts [users] [hold]     # defaults 10000 10m
 */
import { runCapacityBench } from './rvp-capacity.js';

const users = Number(process.argv[2] ?? 10_000);
const hold = process.argv[3] ?? '10m';

await runCapacityBench({
  scenario: 'im-home-10k',
  target: 'lab-rvp',
  users,
  duration: hold,
  lab: { topology: 'combined', userCount: users, domain: 'im.example.com' },
});
