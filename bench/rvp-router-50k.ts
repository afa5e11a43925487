/**
 * A router plus 5 home servers (6 processes) with 50,000 users — or fewer, given as an argument,
 * when this machine cannot hold that many — 20 contacts each, the documented workload at
 * time-scale 1: scenario `im-router-50k`, with Digest authentication. Prints logon p95,
 * delivery p99, errors, and each server process's CPU and RSS from /proc, so the bottleneck
 * (generator CPU, server CPU, file descriptors, memory) can be named.
 *
 *   node --import tsx bench/rvp-router-50k.ts [users] [hold] [homes]    # defaults 50000 5m 5
 */
import { randomBytes } from 'node:crypto';
import { runCapacityBench } from './rvp-capacity.js';

const users = Number(process.argv[2] ?? 50_000);
const hold = process.argv[3] ?? '5m';
const homes = Number(process.argv[4] ?? 5);
// The scenario's target reads the password from IMLOAD_RVP_PASSWORD; a lab-only one will do.
process.env.IMLOAD_RVP_PASSWORD ??= randomBytes(12).toString('hex');

await runCapacityBench({
  scenario: 'im-router-50k',
  target: 'lab-rvp-cluster',
  users,
  duration: hold,
  lab: { topology: 'routed', homes, userCount: users, domain: 'im.example.com', password: process.env.IMLOAD_RVP_PASSWORD },
});
