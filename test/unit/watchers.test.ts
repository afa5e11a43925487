import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenarioText } from '../../src/scenarios/load.js';
import { WorkloadPlan } from '../../src/scenarios/schedule.js';
import { WatcherIndexBuilder } from '../../src/scenarios/watchers.js';

function plan(users: number, contacts: number): WorkloadPlan {
  return new WorkloadPlan(
    parseScenarioText(`version: 1
targets: { im: { url: sip://127.0.0.1:5060 } }
scenarios:
  s:
    target: im
    population: { users: ${users}, contacts: ${contacts} }
    phases: [ { phase: rampUp, rate: 100 }, { phase: hold, duration: 1m } ]
`).scenarios.s!,
  );
}

/** The inversion done the obvious way: every user whose contact list names `index`. */
function watchersByScan(p: WorkloadPlan, index: number): number[] {
  const out: number[] = [];
  for (let u = 0; u < p.users; u++) if (p.contactIndices(u).includes(index)) out.push(u);
  return out;
}

test('watchersOf inverts every contact list: the users who have i as a contact, each once, in order', () => {
  const p = plan(300, 20);
  let total = 0;
  for (let i = 0; i < p.users; i++) {
    const watchers = [...p.watchersOf(i)];
    assert.deepEqual(watchers, watchersByScan(p, i), `watchers of ${i}`);
    total += watchers.length;
  }
  assert.equal(total, 300 * 20, 'every contact edge appears once');
});

test('more contacts wanted than other users exist: lists are shorter, the index still right', () => {
  const p = plan(8, 20);
  for (let i = 0; i < p.users; i++) assert.deepEqual([...p.watchersOf(i)], watchersByScan(p, i));
  assert.deepEqual([...p.watchersOf(0)], [1, 2, 3, 4, 5, 6, 7]);
});

test('built in slices across event-loop turns, or finished at once by the first lookup, the index is the same', async () => {
  const sliced = plan(2000, 20);
  const preparing = sliced.prepareWatchers(100);
  const whole = plan(2000, 20);
  await preparing;
  const early = plan(2000, 20);
  void early.prepareWatchers(100); // one slice drawn; the lookup below finishes the rest
  for (const i of [0, 1, 999, 1999]) {
    assert.deepEqual([...sliced.watchersOf(i)], [...whole.watchersOf(i)]);
    assert.deepEqual([...early.watchersOf(i)], [...whole.watchersOf(i)]);
  }
});

test('a slice at a time: nothing is inverted until every user is drawn, and the build yields between slices', async () => {
  let drawn = 0;
  const builder = new WatcherIndexBuilder(1000, 3, (u) => {
    drawn++;
    return [(u + 1) % 1000, (u + 2) % 1000, (u + 3) % 1000];
  });
  const building = builder.buildInSlices(100);
  assert.equal(drawn, 100, 'one slice before the first yield');
  assert.equal(builder.done, false);
  await building;
  assert.equal(drawn, 1000);
  assert.equal(builder.done, true);
  const { offsets, watchers } = builder.index();
  assert.deepEqual([...watchers.subarray(offsets[0]!, offsets[1]!)], [997, 998, 999]);
});

test("a worker's index keeps only its own users' watchers: the same lists for them, a refusal for the others", async () => {
  const whole = plan(600, 20);
  const worker = plan(600, 20);
  const own = (user: number) => user % 3 === 1;
  await worker.prepareWatchers(100, own);
  for (let i = 0; i < 600; i++) {
    if (own(i)) assert.deepEqual([...worker.watchersOf(i)], [...whole.watchersOf(i)], `watchers of ${i}`);
    else assert.throws(() => worker.watchersOf(i), /not kept/);
  }
});

test('a kept index holds only the edges to kept users, and lets the drawn lists go', () => {
  const builder = new WatcherIndexBuilder(1000, 3, (u) => [(u + 1) % 1000, (u + 2) % 1000, (u + 3) % 1000], (u) => u < 10);
  const { offsets, watchers } = builder.index();
  assert.equal(watchers.length, 30, 'three watchers for each of the ten kept users, none for the rest');
  assert.deepEqual([...watchers.subarray(offsets[0]!, offsets[1]!)], [997, 998, 999]);
  assert.equal((builder as unknown as { contacts: Int32Array }).contacts.length, 0);
});
