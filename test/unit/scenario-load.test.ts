import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseScenarioText, ScenarioError, formatProblem } from '../../src/scenarios/load.js';
import { scenarioJsonSchema } from '../../src/scenarios/schema.js';

const VALID = `version: 1
targets:
  chat:
    url: irc://127.0.0.1:6667
scenarios:
  smoke:
    target: chat
    population:
      users: 10
    phases:
      - { phase: rampUp, rate: 5 }
      - { phase: hold, duration: 30s }
`;

function problems(text: string): string[] {
  try {
    parseScenarioText(text, 'test.yaml');
  } catch (error) {
    assert.ok(error instanceof ScenarioError, `expected ScenarioError, got ${error}`);
    return error.problems.map(formatProblem);
  }
  assert.fail('expected the scenario to be rejected');
}

test('a valid file loads with defaults filled in', () => {
  const config = parseScenarioText(VALID);
  const smoke = config.scenarios.smoke!;
  assert.equal(smoke.population.contacts, 20);
  assert.equal(smoke.behaviour.messagesPerHour, 3);
  assert.equal(smoke.behaviour.logonTimeout, 10_000);
  assert.deepEqual(smoke.phases[1], { phase: 'hold', duration: 30_000 });
});

test('the repository scenarios.yaml is valid', () => {
  const config = parseScenarioText(readFileSync('scenarios.yaml', 'utf8'), 'scenarios.yaml');
  for (const name of ['demo', 'chat-smoke', 'chat-20k']) assert.ok(config.scenarios[name], name);
});

test('every mistake is reported with its line and column, not just the first', () => {
  const text = VALID.replace('users: 10', 'users: -3\n      contcts: 20').replace('duration: 30s', 'duration: 30 sec');
  const found = problems(text);
  assert.equal(found.length, 3, found.join('\n'));
  assert.ok(found.some((p) => p.startsWith('test.yaml:9:14: scenarios.smoke.population.users:')), found.join('\n'));
  assert.ok(found.some((p) => /^test\.yaml:10:7: scenarios\.smoke\.population\.contcts: unknown key "contcts"; did you mean "contacts"\?/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => p.startsWith('test.yaml:13:34: scenarios.smoke.phases[1].duration: expected a duration')), found.join('\n'));
});

test('a missing required field names the object that lacks it', () => {
  const found = problems(VALID.replace('    target: chat\n', ''));
  assert.deepEqual(found, ['test.yaml:6:3: scenarios.smoke.target: required field is missing']);
});

test('an unknown phase kind and a bad threshold are explained', () => {
  const text = VALID.replace('phase: hold', 'phase: hodl') + '    thresholds:\n      - delivery.p99 < 2 parsecs\n      - latency.p99 < 2s\n';
  const found = problems(text);
  assert.ok(found.some((p) => p.includes('phases[1].phase') && p.includes('test.yaml:12:18:') && p.includes("'hold'")), found.join('\n'));
  assert.ok(found.some((p) => p.startsWith('test.yaml:14:9: scenarios.smoke.thresholds[0]') && p.includes('expected "metric op value"')), found.join('\n'));
  assert.ok(found.some((p) => p.startsWith('test.yaml:15:9: scenarios.smoke.thresholds[1]') && p.includes('unknown metric "latency.p99"')), found.join('\n'));
});

test('references to targets and limit profiles are checked', () => {
  const found = problems(VALID.replace('target: chat', 'target: chta\n    limits: exchange3000'));
  assert.ok(found.some((p) => p.startsWith('test.yaml:7:13: scenarios.smoke.target: no target named "chta"')), found.join('\n'));
  assert.ok(found.some((p) => p.startsWith('test.yaml:8:13: scenarios.smoke.limits: no limit profile named "exchange3000"')), found.join('\n'));
});

test('YAML syntax errors carry positions', () => {
  const found = problems('version: 1\ntargets: [\n');
  assert.match(found[0]!, /^test\.yaml:\d+:\d+: \(file\): YAML:/);
});

test('passwords are references, never inline strings', () => {
  const found = problems(VALID.replace('url: irc://127.0.0.1:6667', 'url: irc://127.0.0.1:6667\n    password: hunter2'));
  assert.ok(found.some((p) => p.includes('targets.chat.password')), found.join('\n'));
});

test('phases must run rampUp, hold, rampDown in order', () => {
  const found = problems(VALID.replace('      - { phase: rampUp, rate: 5 }\n      - { phase: hold, duration: 30s }', '      - { phase: hold, duration: 30s }\n      - { phase: rampUp, rate: 5 }'));
  assert.ok(found.some((p) => p.includes('phases[1].phase') && p.includes('order')), found.join('\n'));
});

test('the JSON Schema comes from the same schema and forbids unknown keys', () => {
  const schema = scenarioJsonSchema() as { properties: Record<string, unknown>; additionalProperties: boolean };
  assert.deepEqual(Object.keys(schema.properties).sort(), ['profiles', 'scenarios', 'targets', 'version']);
  assert.equal(schema.additionalProperties, false);
  assert.match(JSON.stringify(schema), /messagesPerHour/);
});

test('mistakes inside a flow name their line', () => {
  const text = VALID.replace('      users: 10\n', `      users: 10
      groups:
        - name: sales
          users: 2
          flow:
            - { do: logon }
            - { do: sya, channel: '#sales' }
            - { do: loop, times: 2, steps: [{ do: think, for: soon }] }
`);
  const found = problems(text);
  assert.ok(found.some((p) => p.startsWith('test.yaml:15:21: scenarios.smoke.population.groups[0].flow[1].do:') && p.includes("'say'")), found.join('\n'));
  assert.ok(found.some((p) => p.startsWith('test.yaml:16:63: ') && p.includes('flow[2].steps[0].for: expected a think time')), found.join('\n'));
});
