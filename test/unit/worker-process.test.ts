/**
 * The worker process's state (worker-process.ts) built without forking: what it answers the
 * coordinator, how it reports a bug escaping a callback (once, and never to a coordinator that is
 * gone), and that the coordinator going away drops its users and exits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AgentTarget, ProtocolAgent } from '../../src/protocols/types.js';
import type { FromWorker } from '../../src/engine/messages.js';
import { WorkerProcess } from '../../src/engine/worker-process.js';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';
import { quietAgentOf } from '../helpers/quiet-user.js';

function fakeProcess() {
  const sent: FromWorker[] = [];
  const stderr: string[] = [];
  const exits: number[] = [];
  let connected = true;
  const port = {
    send: (message: FromWorker) => void sent.push(message),
    connected: () => connected,
    writeError: (text: string) => void stderr.push(text),
    exit: (code: number) => void exits.push(code),
  };
  return { port, sent, stderr, exits, disconnect: () => (connected = false) };
}

const scenario = parseScenarioText(`version: 1
targets: { chat: { url: irc://127.0.0.1:6667 } }
scenarios:
  s:
    target: chat
    population: { users: 3, contacts: 0 }
    behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0 }
    phases: [{ phase: hold, duration: 1m }]
`).scenarios.s!;

/** Users that log on at once and stay until destroyed; counts the destroyed ones. */
function quietAgent(destroyed: { count: number }): ProtocolAgent {
  return quietAgentOf(() => ({ destroy: () => void destroyed.count++ }));
}

test('before init: no users online, and a stop still says done', async () => {
  const fake = fakeProcess();
  const worker = new WorkerProcess(fake.port);
  worker.receive({ type: 'query-online', id: 7 });
  assert.deepEqual(fake.sent, [{ type: 'online', id: 7, count: 0 }]);
  worker.receive({ type: 'stop', reason: 'completed' });
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(fake.sent.at(-1), { type: 'done' });
});

test('an init that cannot load its protocol is reported as fatal, with its kind', async () => {
  const fake = fakeProcess();
  const worker = new WorkerProcess(fake.port);
  const target: AgentTarget = { name: 'chat', protocol: 'no-such-protocol', host: '127.0.0.1', port: 1, transport: 'tcp', options: {} };
  worker.receive({
    type: 'init',
    worker: 1,
    workers: 2,
    segment: 0,
    segments: 1,
    scenario,
    target,
    passwords: {},
    spreadSourceAddresses: false,
  });
  for (let i = 0; i < 50 && fake.sent.length === 0; i++) await new Promise<void>((resolve) => setTimeout(resolve, 10));
  assert.equal(fake.sent.length, 1);
  const fatal = fake.sent[0]!;
  assert.equal(fatal.type, 'fatal');
  assert.ok(fatal.type === 'fatal' && fatal.kind === 'worker-error' && /no-such-protocol/.test(fatal.message), JSON.stringify(fatal));
});

test('an escaped bug is reported once, named by worker; after the coordinator left only stderr hears it', () => {
  const fake = fakeProcess();
  const worker = new WorkerProcess(fake.port);
  worker.internalError('a string, not an Error');
  worker.internalError(new TypeError('a second one'));
  assert.deepEqual(fake.sent, [{ type: 'fatal', kind: 'internal-error', message: 'worker: Error: a string, not an Error' }]);
  assert.deepEqual(fake.stderr, ['imload: internal error in worker: a string, not an Error\n']);

  const gone = fakeProcess();
  gone.disconnect();
  new WorkerProcess(gone.port).internalError(new RangeError('late'));
  assert.deepEqual(gone.sent, []);
  assert.equal(gone.stderr.length, 1);
});

test('the run inside answers the coordinator: online users, then a stop ships snapshots and done; a lost coordinator drops users and exits', async () => {
  const fake = fakeProcess();
  const worker = new WorkerProcess(fake.port, { stopGraceMs: 1000 });
  const destroyed = { count: 0 };
  const plan = new WorkloadPlan(scenario);
  const now = performance.timeOrigin + performance.now();
  worker.run.start({ worker: 0, workers: 1, plan, agent: quietAgent(destroyed), startEpochMs: now, identities: [0, 1, 2].map((i) => plan.identity(i, 'pw')) });
  for (let i = 0; i < 200 && worker.run.online < 3; i++) await new Promise<void>((resolve) => setTimeout(resolve, 10));
  worker.receive({ type: 'query-online', id: 1 });
  assert.deepEqual(fake.sent.at(-1), { type: 'online', id: 1, count: 3 });

  const other = fakeProcess();
  const orphan = new WorkerProcess(other.port);
  const orphanDestroyed = { count: 0 };
  orphan.run.start({ worker: 0, workers: 1, plan, agent: quietAgent(orphanDestroyed), startEpochMs: now, identities: [0, 1].map((i) => plan.identity(i, 'pw')) });
  for (let i = 0; i < 200 && orphan.run.online < 2; i++) await new Promise<void>((resolve) => setTimeout(resolve, 10));
  orphan.disconnected();
  assert.equal(orphanDestroyed.count, 2, 'every user dropped');
  assert.deepEqual(other.exits, [0]);
  await orphan.run.stop(); // the real process has exited by now; here its timers must go too

  worker.receive({ type: 'stop', reason: 'completed' });
  for (let i = 0; i < 200 && fake.sent.at(-1)?.type !== 'done'; i++) await new Promise<void>((resolve) => setTimeout(resolve, 10));
  assert.equal(fake.sent.at(-1)?.type, 'done');
  const totals: Record<string, number> = {};
  for (const m of fake.sent) if (m.type === 'metrics') for (const [k, v] of Object.entries(m.snapshot.counters)) totals[k] = (totals[k] ?? 0) + v!;
  assert.equal(totals.logonOk, 3);
  assert.equal(totals.logoffs, 3, 'each user logged off by the stop');
  assert.equal(worker.run.online, 0);
});

test('init loads and builds the users but connects nobody; the coordinator\'s start schedules them from its clock, and a stop before it ends a run with nobody on', async () => {
  // An IRC server that only counts connections: a user connecting is a user scheduled.
  const sockets: Socket[] = [];
  const acceptedAt: number[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    acceptedAt.push(performance.timeOrigin + performance.now());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const init = { type: 'init', worker: 0, workers: 1, segment: 0, segments: 1, scenario, passwords: {}, spreadSourceAddresses: false } as const;
  const target: AgentTarget = { name: 'chat', protocol: 'irc', host: '127.0.0.1', port, transport: 'tcp', options: {} };
  const fake = fakeProcess();
  const worker = new WorkerProcess(fake.port, { stopGraceMs: 500 });
  const early = fakeProcess();
  const stopped = new WorkerProcess(early.port);
  try {
    await worker.run.init({ ...init, target });
    assert.deepEqual(fake.sent, [{ type: 'ready' }], 'ready, and no second of a run yet');
    // Whatever the init scheduled would be due now: the users' logons are at the start of the ramp.
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(sockets.length, 0, 'nobody connects before the start');
    // A clock a little ahead: the users log on from it, not from when init ran or the start arrived.
    const startEpochMs = performance.timeOrigin + performance.now() + 300;
    worker.receive({ type: 'start', startEpochMs });
    for (let i = 0; i < 200 && sockets.length < 3; i++) await new Promise<void>((resolve) => setTimeout(resolve, 10));
    assert.equal(sockets.length, 3, 'every user connects once the clock is given');
    for (const at of acceptedAt) assert.ok(at >= startEpochMs, `a user connected ${(startEpochMs - at).toFixed(0)} ms before the clock it was given`);
    worker.receive({ type: 'start', startEpochMs: performance.timeOrigin + performance.now() });
    worker.receive({ type: 'stop', reason: 'completed' });
    for (let i = 0; i < 200 && fake.sent.at(-1)?.type !== 'done'; i++) await new Promise<void>((resolve) => setTimeout(resolve, 10));
    assert.equal(fake.sent.at(-1)?.type, 'done');
    assert.equal(sockets.length, 3, 'a second start schedules nobody twice');

    await stopped.run.init({ ...init, target });
    stopped.receive({ type: 'stop', reason: 'interrupted' });
    for (let i = 0; i < 200 && early.sent.at(-1)?.type !== 'done'; i++) await new Promise<void>((resolve) => setTimeout(resolve, 10));
    stopped.receive({ type: 'start', startEpochMs: performance.timeOrigin + performance.now() });
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(early.sent.map((m) => m.type), ['ready', 'done'], 'stopped before the start: done, and a late start schedules nobody');
    assert.equal(sockets.length, 3);
  } finally {
    // A failed assertion must not leave the users' timers holding the test process open.
    await Promise.all([worker.run.stop(), stopped.run.stop()]);
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});
