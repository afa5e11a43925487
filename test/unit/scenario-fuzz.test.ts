/**
 * Bad input to the scenario loader: a valid scenarios.yaml mutated at random (keys deleted,
 * duplicated, retyped or renamed, text truncated, garbage inserted, indentation broken) is either
 * still valid or rejected with a ScenarioError whose every line reads `file:line:column: ...`
 * — never another exception, never a stack trace. A few mutants also go through the real CLI
 * (`imload validate`), which must exit 2 with the same kind of message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { formatProblem, parseScenarioText, ScenarioError } from '../../src/scenarios/load.js';

/** A valid file touching most of the schema: targets, profiles, population, phases, behaviour, thresholds. */
const VALID = `version: 1
targets:
  chat:
    url: irc://127.0.0.1:6667
    lab: inspircd
    tls: { insecure: false }
  im:
    url: rvp://127.0.0.1:8080
    domain: im.example.com
    password: { env: IMLOAD_PASSWORD }
profiles:
  tiny:
    title: Tiny server
    figures:
      - { id: users-per-server, metric: users.peakOnline, kind: atLeast, value: 10, unit: users, source: test, wording: ten }
scenarios:
  smoke:
    description: a small chat run
    target: chat
    limits: tiny
    seed: 3
    timeScale: 60
    population:
      users: 10
      namePattern: "u{index:4}"
      contacts: 5
      channels: { count: 2, perUser: { min: 1, max: 2 }, spread: zipf }
      auditoriums:
        - { name: "#stage", presenters: 1, listeners: 0.5 }
    phases:
      - { phase: rampUp, rate: 5, maxInFlight: 4 }
      - phase: hold
        duration: 30s
      - { phase: rampDown, rate: 10 }
    behaviour:
      messagesPerHour: 3
      reconnect: { enabled: true, maxAttempts: 3, initialDelay: 500ms }
    thresholds:
      - delivery.p99 < 2s
      - { check: errors.rate < 0.01, abortOnFail: true }
  im-smoke:
    target: im
    population: { users: 4 }
    phases: [{ phase: rampUp, rate: 2 }]
`;

const PROBLEM_LINE = /^(.+?):(\d+):(\d+): \S/su;
const FILE = 'fuzz.yaml';

const garbage = fc.string({
  unit: fc.constantFrom(...'{}[]:,"\'#&*!|>%@`\t\0\r\n -?=~\\', 'é', '\u2028', '\uFEFF', 'x', '9'),
  minLength: 1,
  maxLength: 8,
});
const wrongValue = fc.constantFrom('"text"', '-1', '[]', '{}', 'null', 'true', '1e999', '0x10', '~', '*nowhere', '&a x', '!!binary x', '.nan', '"', '[1, 2', '{ a: }', '3.5', 'é');

type Mutation = (lines: string[]) => string[];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((i) => (lines: string[]) => lines.filter((_, j) => j !== i % lines.length)),
  fc.nat().map((i) => (lines: string[]) => lines.flatMap((line, j) => (j === i % lines.length ? [line, line] : [line]))),
  fc.tuple(fc.nat(), wrongValue).map(([i, value]) => (lines: string[]) =>
    lines.map((line, j) => (j === i % lines.length ? line.replace(/:\s+.*$/, `: ${value}`) : line))),
  fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 10 })).map(([i, name]) => (lines: string[]) =>
    lines.map((line, j) => (j === i % lines.length ? line.replace(/^(\s*-?\s*)[\w-]+:/, `$1${name}:`) : line))),
  fc.nat().map((i) => (lines: string[]) => lines.join('\n').slice(0, i % (lines.join('\n').length + 1)).split('\n')),
  fc.tuple(fc.nat(), garbage).map(([i, junk]) => (lines: string[]) => {
    const text = lines.join('\n');
    const at = i % (text.length + 1);
    return (text.slice(0, at) + junk + text.slice(at)).split('\n');
  }),
  fc.tuple(fc.nat(), fc.integer({ min: -4, max: 5 })).map(([i, shift]) => (lines: string[]) =>
    lines.map((line, j) => (j === i % lines.length ? (shift > 0 ? ' '.repeat(shift) + line : line.slice(-shift)) : line))),
);

const mutant = fc.array(mutation, { minLength: 1, maxLength: 4 }).map((mutations) =>
  mutations.reduce((lines, mutate) => mutate(lines), VALID.split('\n')).join('\n'));

type Outcome = 'accepted' | 'rejected' | 'alias';

/** Throws unless `text` loads or fails the documented way. */
function checkLoader(text: string): Outcome {
  try {
    parseScenarioText(text, FILE);
    return 'accepted';
  } catch (error) {
    assert.ok(error instanceof ScenarioError, `not a ScenarioError: ${(error as Error)?.stack ?? String(error)}\n--- input ---\n${text}`);
    assert.ok(error.problems.length > 0);
    const lineCount = text.split(/\r\n|\r|\n|\u2028|\u2029/).length;
    for (const problem of error.problems) {
      assert.equal(problem.file, FILE);
      assert.ok(Number.isInteger(problem.line) && problem.line >= 1 && problem.line <= lineCount + 1, `line ${problem.line} of ${lineCount}`);
      assert.ok(Number.isInteger(problem.column) && problem.column >= 1, `column ${problem.column}`);
      // Problems may quote the user's own garbage (keys), so only the start of the line is fixed.
      assert.ok(formatProblem(problem).startsWith(`${FILE}:${problem.line}:${problem.column}: `));
      assert.doesNotMatch(problem.message, /\n\s+at .+:\d+:\d+/, 'no stack trace');
    }
    assert.equal(error.message, error.problems.map(formatProblem).join('\n'));
    return error.problems.some((p) => /alias/i.test(p.message) && p.message.startsWith('YAML:')) ? 'alias' : 'rejected';
  }
}

test('the fuzz seed file itself is valid', () => {
  assert.equal(checkLoader(VALID), 'accepted');
});

const RUNS = Number(process.env.IMLOAD_FUZZ_RUNS ?? 3000);

test(`property: ${RUNS} mutated scenario files load or fail as file:line:column, nothing else`, (t) => {
  const outcomes: Record<Outcome, number> = { accepted: 0, rejected: 0, alias: 0 };
  fc.assert(
    fc.property(mutant, (text) => {
      outcomes[checkLoader(text)]++;
    }),
    { numRuns: RUNS, seed: Number(process.env.IMLOAD_FUZZ_SEED ?? 20261122) },
  );
  t.diagnostic(
    `scenario mutants: ${RUNS} tried, ${outcomes.rejected + outcomes.alias} rejected with file:line:column (${outcomes.alias} of them YAML alias errors, placed at the alias), ${outcomes.accepted} still valid`,
  );
  assert.ok(outcomes.rejected + outcomes.alias > RUNS / 2, `most mutants are invalid (${outcomes.rejected + outcomes.alias} of ${RUNS})`);
  assert.ok(outcomes.alias > 0, 'the alias mutants were tried');
});

const LAUGHS = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdef'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`)].join('\n') + '\n';

test('YAML alias errors (unresolved, or a billion laughs) are reported at the alias', () => {
  const cases: Array<[string, string]> = [
    ['version: 1\ntargets: *nowhere\n', `${FILE}:2:10: (file): YAML: unresolved alias *nowhere (no anchor &nowhere before it)`],
    // The first alias of an alias: `*a` inside b's list is plain, `*b` inside c's expands a list of aliases.
    [LAUGHS, `${FILE}:3:8: (file): YAML: Excessive alias count indicates a resource exhaustion attack (aliases of aliases expand too far: write the values out)`],
  ];
  for (const [text, expected] of cases) {
    assert.throws(() => parseScenarioText(text, FILE), (error: unknown) => error instanceof ScenarioError && error.message === expected, expected);
  }
});

test('property: arbitrary text never escapes as another exception', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      checkLoader(text);
    }),
    { numRuns: 1000, seed: 7 },
  );
});

test('the CLI: mutated files exit 2 with file:line:column and no stack trace', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'imload-fuzz-'));
  const samples = fc.sample(mutant, { numRuns: 200, seed: 99 }).filter((text) => {
    try {
      parseScenarioText(text, FILE);
      return false;
    } catch (error) {
      return error instanceof ScenarioError;
    }
  }).slice(0, 6);
  assert.equal(samples.length, 6);
  [...samples, 'version: 1\ntargets: *nowhere\n', LAUGHS].forEach((text, i) => {
    const file = join(dir, `mutant-${i}.yaml`);
    writeFileSync(file, text);
    const result = spawnSync(process.execPath, ['bin/imload.js', 'validate', file], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 2, `exit ${result.status}: ${result.stderr}`);
    assert.ok(result.stderr.startsWith(`${file}:`) && PROBLEM_LINE.test(result.stderr), result.stderr);
    assert.doesNotMatch(result.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  });
});
