/**
 * `imload validate` as a person runs it: each rule's message, position and exit code, read from
 * the real CLI. Positions are found in the file's own text, so the tests say where a person
 * would look.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DIR = mkdtempSync(join(tmpdir(), 'imload-validate-'));

function validate(name: string, text: string): { status: number | null; stdout: string; stderr: string; file: string; at: (needle: string) => string } {
  const file = join(DIR, name);
  writeFileSync(file, text);
  const run = spawnSync(process.execPath, ['bin/imload.js', 'validate', file], { encoding: 'utf8', timeout: 60_000 });
  /** `file:line:column` of the first occurrence of `needle` in the text. */
  const at = (needle: string) => {
    const offset = text.indexOf(needle);
    assert.ok(offset >= 0, needle);
    const before = text.slice(0, offset).split('\n');
    return `${file}:${before.length}:${before[before.length - 1]!.length + 1}`;
  };
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, file, at };
}

function scenarioFile(url: string, body: string): string {
  return `version: 1
targets:
  server:
    url: ${url}
scenarios:
  smoke:
    target: server
    population: { users: 10, contacts: 5 }
    phases:
      - { phase: rampUp, rate: 5 }
      - { phase: hold, duration: 30s }
${body}`;
}

const NO_STACK = /\n\s+at .+:\d+:\d+/;

test('a threshold on a latency the target protocol never produces is an error at its position', () => {
  const sip = validate('sip-join.yaml', scenarioFile('sip://127.0.0.1:5060', '    thresholds:\n      - delivery.p99 < 2s\n      - join.p95 < 1s\n'));
  assert.equal(sip.status, 2, sip.stderr);
  assert.equal(
    sip.stderr.split('\n')[0],
    `${sip.at('join.p95')}: scenarios.smoke.thresholds[1]: sip targets never produce join latency, so "join.p95" could never be measured (sip measures logon, delivery, presence, register, deliverySameFrontEnd, deliveryCrossFrontEnd)`,
  );
  assert.doesNotMatch(sip.stderr, NO_STACK);

  const irc = validate('irc-presence.yaml', scenarioFile('irc://127.0.0.1:6667', '    thresholds:\n      - { check: presence.p99.9 < 2s, abortOnFail: true }\n'));
  assert.equal(irc.status, 2, irc.stderr);
  assert.ok(irc.stderr.startsWith(`${irc.at('presence.p99.9')}: scenarios.smoke.thresholds[0].check: irc targets never produce presence latency`), irc.stderr);

  // The same latencies where the protocols do produce them are fine.
  const ok = validate('irc-join.yaml', scenarioFile('irc://127.0.0.1:6667', '    thresholds:\n      - join.p95 < 1s\n      - delivery.p99.9 < 2s\n'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /: ok \(1 scenarios, 1 targets\)/);
});

test('a limit profile figure on a latency the protocol never produces is an error at the figure', () => {
  const text = `version: 1
targets:
  im:
    url: rvp://127.0.0.1:8080
profiles:
  rooms:
    title: Rooms
    figures:
      - { id: users, metric: users.peakOnline, kind: atLeast, value: 10, unit: users, source: test, wording: ten }
      - { id: join-time, metric: join.p95, kind: atMost, value: 500, unit: ms, source: test, wording: fast joins }
scenarios:
  smoke:
    target: im
    limits: rooms
    population: { users: 10, contacts: 5 }
    phases: [{ phase: rampUp, rate: 5 }]
`;
  const run = validate('rvp-profile.yaml', text);
  assert.equal(run.status, 2, run.stderr);
  assert.ok(
    run.stderr.startsWith(`${run.at('join.p95')}: profiles.rooms.figures[1].metric: limit profile "rooms", figure join-time: rvp targets never produce join latency`),
    run.stderr,
  );
});

test('contacts ≥ users is a warning with its position, and the file still validates', () => {
  const text = scenarioFile('irc://127.0.0.1:6667', '').replace('{ users: 10, contacts: 5 }', '{ users: 100, contacts: 200 }');
  const run = validate('contacts.yaml', text);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, `${run.at('200')}: warning: scenarios.smoke.population.contacts: 200 contacts with 100 users: each contact list holds the 99 other users, fewer than asked\n`);
  assert.match(run.stdout, /: ok /);
  assert.equal(validate('contacts-fine.yaml', scenarioFile('irc://127.0.0.1:6667', '')).stderr, '', 'no warning below the population');
});

test('a rate of 1 or more without % is refused, saying what to write', () => {
  const run = validate('rate.yaml', scenarioFile('irc://127.0.0.1:6667', '    thresholds:\n      - errors.rate < 1\n'));
  assert.equal(run.status, 2, run.stderr);
  assert.ok(run.stderr.startsWith(`${run.at('errors.rate')}: scenarios.smoke.thresholds[0]: errors.rate: 1 is ambiguous for a rate: write a percentage like 1% or a fraction below 1 like 0.01`), run.stderr);
  assert.equal(validate('rate-ok.yaml', scenarioFile('irc://127.0.0.1:6667', '    thresholds:\n      - errors.rate < 1%\n      - messages.lossRate <= 0.001\n')).status, 0);
});

test('durations take compound units (1m30s, 1h5m, 250ms) in the file and on the command line', () => {
  const good = scenarioFile('irc://127.0.0.1:6667', '    behaviour:\n      drain: 250ms\n      reconnect: { enabled: true, maxDelay: 1h5m }\n').replace('duration: 30s', 'duration: 1m30s');
  const ok = validate('durations.yaml', good);
  assert.equal(ok.status, 0, ok.stderr);

  const bad = validate('durations-bad.yaml', good.replace('duration: 1m30s', 'duration: 30s1m'));
  assert.equal(bad.status, 2, bad.stderr);
  assert.ok(bad.stderr.startsWith(`${bad.at('30s1m')}: scenarios.smoke.phases[1].duration: expected a duration like 250ms, 30s, 2m, 1h or 1m30s`), bad.stderr);

  const simulate = (duration: string) =>
    spawnSync(process.execPath, ['bin/imload.js', 'simulate', ok.file, '-s', 'smoke', '--duration', duration, '--json'], { encoding: 'utf8', timeout: 60_000 });
  const holdSeconds = (duration: string) => {
    const sim = simulate(duration);
    assert.equal(sim.status, 0, sim.stderr);
    return (JSON.parse(sim.stdout) as { hold: { seconds: number } }).hold.seconds;
  };
  assert.equal(holdSeconds('1m30s'), holdSeconds('90'));
  assert.ok(holdSeconds('1m30s') > holdSeconds('60'), 'the 30 s count');
  const refused = simulate('1m1m');
  assert.equal(refused.status, 2);
  assert.equal(refused.stderr.trim(), 'imload: --duration: "1m1m" is not a duration like 250ms, 30s, 2m, 1h or 1m30s (or seconds as a number)');
});

test('a key holding control characters is quoted escaped, never sent raw to the terminal', () => {
  const run = validate('control.yaml', 'version: 1\ntargets: {}\nscenarios: {}\n"a\\e[31mb": 1\n');
  assert.equal(run.status, 2, run.stderr);
  assert.ok(run.stderr.startsWith(`${run.file}:4:1: a\\u001b[31mb: unknown key "a\\u001b[31mb"`), run.stderr);
  assert.doesNotMatch(run.stderr, /\x1b/);
});
