/**
 * A target's `options:` are checked against its protocol's schema (the descriptor's `options`):
 * `imload validate`, run as a person runs it, points at a misspelt or mistyped option with
 * file:line:column and exits 2 (bad input); agents given options the schema refuses fail with a
 * config-error instead of ignoring them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../src/exit-codes.js';
import { parseScenarioText, ScenarioError } from '../../src/scenarios/load.js';
import { loadProtocol } from '../../src/protocols/registry.js';
import { AgentError } from '../../src/protocols/types.js';

const DIR = mkdtempSync(join(tmpdir(), 'imload-options-'));

function validate(name: string, text: string) {
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
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, at };
}

function scenarioFile(target: string): string {
  return `version: 1
targets:
  server:
${target}
scenarios:
  smoke:
    target: server
    population: { users: 10, contacts: 5 }
    phases:
      - { phase: rampUp, rate: 5 }
      - { phase: hold, duration: 30s }
`;
}

test('imload validate points at a misspelt SIP option, suggests the right one, and exits 2', () => {
  const text = scenarioFile('    url: sip://127.0.0.1:5060\n    options:\n      finalNotifyWaitMs: 1000\n      imMdoe: session\n');
  const run = validate('sip-typo.yaml', text);
  assert.equal(run.status, EXIT.badInput, run.stderr);
  assert.notEqual(EXIT.badInput, EXIT.ok);
  const first = run.stderr.split('\n')[0]!;
  assert.ok(first.startsWith(`${run.at('imMdoe')}: targets.server.options.imMdoe: unknown sip option "imMdoe"; did you mean "imMode"?`), run.stderr);
  assert.match(first, /\(sip options: .*\bimMode\b.*\)/);
  assert.equal(run.stdout, '');
});

test('a misspelt option of each protocol is refused at its key; a wrongly typed one at its value', () => {
  const irc = validate('irc-typo.yaml', scenarioFile('    url: irc://127.0.0.1:6667\n    options: { sasl: true, cap: [echo-message] }\n'));
  assert.equal(irc.status, EXIT.badInput, irc.stderr);
  assert.ok(irc.stderr.startsWith(`${irc.at('cap:')}: targets.server.options.cap: unknown irc option "cap"; did you mean "caps"?`), irc.stderr);

  const rvp = validate('rvp-typo.yaml', scenarioFile('    url: rvp://127.0.0.1:8080\n    options:\n      maxConnection: 8\n      aclAtLogon: "no"\n'));
  assert.equal(rvp.status, EXIT.badInput, rvp.stderr);
  const lines = rvp.stderr.trim().split('\n');
  assert.ok(lines[0]!.startsWith(`${rvp.at('maxConnection')}: targets.server.options.maxConnection: unknown rvp option "maxConnection"; did you mean "maxConnections"?`), rvp.stderr);
  assert.ok(lines[1]!.startsWith(`${rvp.at('"no"')}: targets.server.options.aclAtLogon: rvp option:`), rvp.stderr);
});

test('an option problem is reported together with the file\'s other mistakes', () => {
  const text = scenarioFile('    url: sip://127.0.0.1:5060\n    domian: lab.test\n    options: { udpSocket: 2 }\n');
  const run = validate('together.yaml', text);
  assert.equal(run.status, EXIT.badInput, run.stderr);
  assert.match(run.stderr, new RegExp(`^${run.at('domian').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: targets\\.server\\.domian: unknown key "domian"`, 'm'));
  assert.match(run.stderr, /targets\.server\.options\.udpSocket: unknown sip option "udpSocket"; did you mean "udpSockets"\?/);
});

test('options each protocol documents are accepted, and a lab server of another protocol is not', () => {
  const ok = validate('ok.yaml', scenarioFile('    url: sip://127.0.0.1:5060\n    lab: kamailio\n    options: { imMode: session, t1Ms: 50, udpSockets: 1, ctl: "unixs:/tmp/ctl" }\n'));
  assert.equal(ok.status, EXIT.ok, ok.stderr);
  const wrongLab = validate('wrong-lab.yaml', scenarioFile('    url: sip://127.0.0.1:5060\n    lab: inspircd\n'));
  assert.equal(wrongLab.status, EXIT.badInput, wrongLab.stderr);
  assert.ok(wrongLab.stderr.startsWith(`${wrongLab.at('inspircd')}: targets.server.lab: lab server inspircd speaks irc, not sip (sip lab servers: kamailio, kamailio-pool)`), wrongLab.stderr);
});

test('a transport the protocol does not offer is refused', () => {
  assert.throws(
    () => parseScenarioText(scenarioFile('    url: rvp://127.0.0.1:8080\n    transport: udp\n')),
    (error: unknown) => error instanceof ScenarioError && /targets\.server\.transport: rvp targets do not run over udp/.test(error.message),
  );
  // SIP offers UDP (its default) and TCP.
  assert.equal(parseScenarioText(scenarioFile('    url: sip://127.0.0.1:5060\n    transport: tcp\n')).targets.server!.transport, 'tcp');
});

test('an agent given an option its schema refuses fails with a config-error naming it', async () => {
  for (const [protocol, options] of [
    ['irc', { sasl: 'yes' }],
    ['sip', { imMdoe: 'session' }],
    ['rvp', { maxConnection: 8 }],
  ] as const) {
    const module = await loadProtocol(protocol);
    await assert.rejects(
      module.createAgent({ name: 't', protocol, host: '127.0.0.1', port: 9, transport: 'tcp', domain: 'lab.test', options }),
      (error: unknown) => error instanceof AgentError && error.kind === 'config-error' && error.message.includes(Object.keys(options)[0]!),
      protocol,
    );
  }
});
