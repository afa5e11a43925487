/**
 * `faults: [{ kill: <target>, server: <name> }]`: which of a lab's servers a kill takes down. The
 * name is checked against the servers the target's lab kind starts (the SIP pool: fe1, fe2,
 * presence, dispatcher, director), at file:line:column, by `imload validate` run as a person runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblem, parseScenarioText, ScenarioError } from '../../src/scenarios/load.js';
import { labServerOf } from '../../src/protocols/registry.js';
import { EXIT } from '../../src/exit-codes.js';

function scenario(fault: string): string {
  return `version: 1
targets:
  pool:
    url: sip://127.0.0.1:5060
    lab: kamailio-pool
  single:
    url: sip://127.0.0.1:5062
    lab: kamailio
  own:
    url: sip://127.0.0.1:5064
scenarios:
  it:
    target: pool
    population: { users: 10, contacts: 2 }
    phases:
      - { phase: rampUp, rate: 10 }
      - { phase: hold, duration: 30s }
    faults:
      - ${fault}
`;
}

/** file:line:column of the first `needle`. */
function at(file: string, text: string, needle: string): string {
  const before = text.slice(0, text.indexOf(needle)).split('\n');
  return `${file}:${before.length}:${before.at(-1)!.length + 1}`;
}

function problems(text: string): string[] {
  try {
    parseScenarioText(text, 'it.yaml');
  } catch (error) {
    assert.ok(error instanceof ScenarioError, String(error));
    return error.problems.map(formatProblem);
  }
  return [];
}

test('every server the pool lab starts can be named; the front ends come first, the first the default', () => {
  const servers = labServerOf('kamailio-pool')!.faultServers!;
  assert.deepEqual(servers, ['fe1', 'fe2', 'presence', 'dispatcher', 'director']);
  for (const server of servers) {
    const config = parseScenarioText(scenario(`{ at: 5s, kill: pool, server: ${server}, restartAfter: 5s }`), 'it.yaml');
    assert.deepEqual(config.scenarios.it!.faults[0], { at: 5000, kill: 'pool', server, restartAfter: 5000 });
  }
  assert.equal(labServerOf('kamailio')!.faultServers, undefined, 'a one-server lab names none');
});

test('a server the lab does not start, a server of a one-server lab, and a target without a lab are refused where written', () => {
  const cases: Array<[server: string, fault: string, message: string]> = [
    ['fe3', '{ at: 5s, kill: pool, server: fe3 }', 'lab server kamailio-pool has no server "fe3" (servers: fe1, fe2, presence, dispatcher, director)'],
    ['fe1', '{ at: 5s, kill: single, server: fe1 }', 'lab server kamailio starts one server: omit server'],
    ['fe1', '{ at: 5s, kill: own, server: fe1 }', 'target "own" has no lab: server names one of the servers a lab starts'],
  ];
  for (const [server, fault, message] of cases) {
    const text = scenario(fault);
    assert.deepEqual(problems(text), [`${at('it.yaml', text, `${server} }`)}: scenarios.it.faults[0].server: ${message}`]);
  }
});

test('imload validate, run as a person runs it, names the unknown server at file:line:column and exits 2, no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-fault-server-'));
  const file = join(dir, 'pool.yaml');
  const text = scenario('{ at: 40s, kill: pool, server: fe9, restartAfter: 20s }');
  writeFileSync(file, text);
  const run = spawnSync(process.execPath, ['bin/imload.js', 'validate', file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, EXIT.badInput, run.stderr);
  assert.ok(run.stderr.startsWith(`${at(file, text, 'fe9')}: scenarios.it.faults[0].server: lab server kamailio-pool has no server "fe9"`), run.stderr);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
});
