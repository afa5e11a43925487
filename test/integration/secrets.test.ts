/**
 * A password given by reference never shows up in anything imload writes. Every protocol runs
 * through the CLI against a lab server that requires the password (IRC PASS against InspIRCd's
 * connect password, RVP Digest against our server, SIP Digest against Kamailio); then every
 * output is scanned for it: the run folder (summary.json, journal.ndjson, index.html, summary.md,
 * junit.xml, charts), the lab servers' folders (configs, logs) and the CLI's stdout and stderr.
 *
 * One file is excluded, by name: InspIRCd can only take a connect password from its config,
 * so the lab writes `inspircd.conf` with mode 0600 (docs/reliability.md); the test checks that
 * mode and that the password is really in it (authentication was on).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

const SECRET_ENV = 'IMLOAD_SECRETS_TEST_PASSWORD';
const WRONG_ENV = 'IMLOAD_SECRETS_TEST_WRONG';
/** Distinctive, so a match can only be a leak. */
const PASSWORD = `pw-${randomBytes(9).toString('hex')}`;
const LAB_PARENTS = [join(tmpdir(), 'imload-lab')];
const RVP_LAB_PREFIX = 'imload-rvp-';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function imload(args: string[], secrets: Record<string, string>): Promise<CliRun> {
  const child = spawn(process.execPath, ['bin/imload.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...secrets } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGINT'), 150_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Lab folders: IRC and Kamailio under $TMPDIR/imload-lab/, RVP as $TMPDIR/imload-rvp-*. */
function labFolders(): Set<string> {
  const found = new Set<string>();
  for (const parent of LAB_PARENTS) {
    if (existsSync(parent)) for (const name of readdirSync(parent)) found.add(join(parent, name));
  }
  for (const name of readdirSync(tmpdir())) if (name.startsWith(RVP_LAB_PREFIX)) found.add(join(tmpdir(), name));
  return found;
}

/**
 * This run's lab folder among those created meanwhile (other tests may start labs too): its name
 * carries the server's port (IRC, Kamailio), or its logs name the address (RVP).
 */
function ownLabFolders(before: ReadonlySet<string>, url: string): string[] {
  const port = new URL(url).port;
  return [...labFolders()]
    .filter((folder) => !before.has(folder))
    .filter((folder) =>
      folder.includes(`-${port}-`) ||
      filesUnder(folder, 0).some((f) => f.endsWith('.log') && readFileSync(f, 'utf8').includes(`127.0.0.1:${port}`)));
}

/** Every regular file under `dir` (bounded depth), as paths. */
function filesUnder(dir: string, depth = 4): string[] {
  if (depth < 0 || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const info = lstatSync(path);
    if (info.isDirectory()) out.push(...filesUnder(path, depth - 1));
    else if (info.isFile()) out.push(path);
  }
  return out;
}

function leaks(files: readonly string[], secret: string): string[] {
  const needle = Buffer.from(secret);
  return files.filter((file) => file.includes(secret) || readFileSync(file).indexOf(needle) !== -1);
}

interface Protocol {
  readonly name: string;
  readonly binary: [string, string];
  readonly target: string;
  readonly behaviour: string;
  /** Files a server can only be given the password in, with the mode they must have. */
  readonly excluded: RegExp | undefined;
}

const PROTOCOLS: readonly Protocol[] = [
  {
    name: 'irc',
    binary: ['inspircd', 'inspircd'],
    target: '{ url: "irc://127.0.0.1:6667", lab: inspircd }',
    behaviour: '{ activityStart: rampUpEnd, activityDelay: 1s }',
    excluded: /\/inspircd-\d+-[^/]+\/inspircd\.conf$/,
  },
  {
    name: 'rvp',
    binary: ['node', 'nodejs'],
    target: '{ url: "rvp://127.0.0.1:8080", lab: rvp, domain: im.example.com }',
    behaviour: '{ activityStart: rampUpEnd, activityDelay: 1s, presenceChangesPerHour: 20 }',
    excluded: undefined,
  },
  {
    name: 'sip',
    binary: ['kamailio', 'kamailio'],
    target: '{ url: "sip://127.0.0.1:5060", lab: kamailio, domain: lab.test }',
    behaviour: '{ activityStart: rampUpEnd, activityDelay: 1s, presenceChangesPerHour: 20 }',
    excluded: undefined,
  },
];

function scenario(p: Protocol): string {
  const [open, close] = [p.target.slice(0, -1), ' }'];
  return `version: 1
targets:
  t: ${open}, password: { env: ${SECRET_ENV} }${close}
scenarios:
  secret:
    target: t
    timeScale: 600
    population: { users: 12, contacts: 4${p.name === 'irc' ? ', channels: { count: 2 }' : ''} }
    phases:
      - { phase: rampUp, rate: 20 }
      - { phase: hold, duration: 8s }
    behaviour: ${p.behaviour}
`;
}

for (const protocol of PROTOCOLS) {
  test(`${protocol.name}: the password authenticates and appears in no output`, { timeout: 180_000 }, async (t) => {
    if (!requireBinary(t, ...protocol.binary)) return;
    const { file, dir } = writeScenario(scenario(protocol));
    const out = join(dir, 'run');
    const before = labFolders();
    const run = await imload(['run', file, '-s', 'secret', '--lab', '--out', out], { [SECRET_ENV]: PASSWORD });
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    const newLabs = ownLabFolders(before, summary.target.url);
    assert.equal(summary.users.peakOnline, 12, `everyone logged on with the password: ${JSON.stringify(summary.errors)}`);

    const outputs = filesUnder(out);
    for (const name of ['summary.json', 'journal.ndjson', 'index.html', 'summary.md', 'junit.xml']) {
      assert.ok(outputs.some((f) => f.endsWith(`/${name}`)), `${name} was written`);
    }
    assert.equal(newLabs.length, 1, `this run's lab folder: ${newLabs.join(', ')}`);
    const labFiles = newLabs.flatMap((folder) => filesUnder(folder));
    const excluded = labFiles.filter((f) => protocol.excluded?.test(f));
    for (const f of excluded) {
      assert.equal(statSync(f).mode & 0o777, 0o600, `${f} holds the password: mode 0600`);
      assert.ok(readFileSync(f, 'utf8').includes(PASSWORD), `${f} really configures the password`);
    }
    assert.equal(excluded.length, protocol.excluded ? 1 : 0, `excluded: ${excluded.join(', ')}`);
    const scanned = [...outputs, ...labFiles.filter((f) => !excluded.includes(f))];
    assert.deepEqual(leaks(scanned, PASSWORD), [], 'the password leaked into these files');
    assert.ok(!run.stdout.includes(PASSWORD) && !run.stderr.includes(PASSWORD), 'the password leaked into the CLI output');
    t.diagnostic(`${protocol.name}: scanned ${scanned.length} files (${outputs.length} run outputs) + stdout/stderr; excluded ${excluded.length}`);
  });
}

test('irc: users with a wrong password are refused (authentication is really on); neither password leaks', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  // The lab takes the target's password; the users send the population's, which is wrong.
  const text = scenario(PROTOCOLS[0]!).replace('population: { users: 12,', `population: { users: 12, password: { env: ${WRONG_ENV} },`);
  const { file, dir } = writeScenario(text);
  const out = join(dir, 'run');
  const wrong = `${PASSWORD}-wrong`;
  const run = await imload(['run', file, '-s', 'secret', '--lab', '--out', out], { [SECRET_ENV]: PASSWORD, [WRONG_ENV]: wrong });
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.users.peakOnline, 0, JSON.stringify(summary.users));
  assert.ok(summary.users.logonFailures >= 12, JSON.stringify(summary.errors.byKind));
  for (const secret of [PASSWORD, wrong]) {
    assert.deepEqual(leaks(filesUnder(out), secret), []);
    assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret));
  }
  t.diagnostic(`wrong password: ${JSON.stringify(summary.errors.byKind)}`);
});
