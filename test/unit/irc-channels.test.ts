/**
 * IRC channel rosters (channels.ts): one roster per channel per worker, shared by the servers
 * of a network with a bit per server, must still give each server's users the members their
 * server shows them — the same everywhere normally, each side's own during a netsplit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelView, SharedRosters, SERVERS_PER_ROSTER } from '../../src/protocols/irc/channels.js';
import { ServerFeatures } from '../../src/protocols/irc/features.js';

const features = new ServerFeatures();
const channel = { name: '#room', auditorium: false, presenters: [] } as never;

/** Two users of one worker in #room, one on server 0 and one on server 1, both seeing a, b and c. */
function twoServers() {
  const rosters = new SharedRosters(2);
  const onS0 = new ChannelView(channel, rosters, '#room', 0);
  const onS1 = new ChannelView(channel, rosters, '#room', 1);
  for (const view of [onS0, onS1]) for (const entry of ['@a', 'b', 'c']) view.addName(entry, features);
  return { rosters, onS0, onS1 };
}

test('linked servers: the same members counted on each server from one shared entry', () => {
  const { onS0, onS1 } = twoServers();
  assert.equal(onS0.othersCount('a'), 2);
  assert.equal(onS1.othersCount('x'), 3);
  assert.equal(onS0.opsOtherThan('b'), 1);
  assert.equal(onS1.isOp('a'), true);
  assert.equal(onS1.isOp('b'), false);
  // A JOIN both servers' users see is counted once per server, however many users apply it.
  onS0.addMember('d');
  onS0.addMember('d');
  onS1.addMember('d');
  assert.equal(onS0.othersCount('a'), 3);
  assert.equal(onS1.othersCount('a'), 3);
});

test('netsplit: a QUIT seen on one side only leaves the other side its member; the netjoin restores it', () => {
  const { onS0, onS1 } = twoServers();
  // Server 0's users see c split off; server 1 (c's side) still has c.
  onS0.remove('c');
  assert.equal(onS0.hasMember('c'), false);
  assert.equal(onS1.hasMember('c'), true);
  assert.equal(onS0.othersCount('a'), 1);
  assert.equal(onS1.othersCount('a'), 2);
  onS0.addMember('c');
  assert.equal(onS0.othersCount('a'), 2);
  // An ordinary QUIT reaches both sides.
  onS0.remove('b');
  onS1.remove('b');
  assert.equal(onS0.hasMember('b') || onS1.hasMember('b'), false);
  assert.equal(onS1.othersCount('a'), 1);
});

test('a rename and an op change apply to the renaming server only', () => {
  const { onS0, onS1 } = twoServers();
  onS0.rename('a', 'a2');
  assert.equal(onS0.isOp('a2'), true);
  assert.equal(onS0.hasMember('a'), false);
  assert.equal(onS1.hasMember('a'), true);
  assert.deepEqual(onS1.applyMode('-o+o', ['a', 'b'], features), ['b']);
  assert.equal(onS1.isOp('a'), false);
  assert.equal(onS0.isOp('b'), false);
  assert.equal(onS1.opsOtherThan('x'), 1);
});

test("a server's view is refilled when a user joins after all of its local users had left", () => {
  const { rosters, onS0, onS1 } = twoServers();
  onS0.release('zz');
  // Server 0's view goes stale with nobody local to follow it; server 1's does not.
  const again = new ChannelView(channel, rosters, '#room', 0);
  assert.equal(again.othersCount('x'), 0);
  assert.equal(onS1.othersCount('x'), 3);
  // The leaving user takes itself out (a server hiding departures would not say so).
  onS1.release('b');
  assert.equal(onS1.hasMember('b'), false);
});

test('a roster group holds at most 15 servers (two bits each in a small integer), a member and an operator on the last', () => {
  assert.equal(SERVERS_PER_ROSTER, 15);
  const rosters = new SharedRosters(SERVERS_PER_ROSTER);
  const last = new ChannelView(channel, rosters, '#room', SERVERS_PER_ROSTER - 1);
  last.addName('+n', features);
  last.addName('@o', features);
  assert.equal(last.othersCount('x'), 2);
  assert.equal(last.opsOtherThan('x'), 1);
  assert.equal(last.isOp('n'), false);
  assert.throws(() => new SharedRosters(16), /1-15 servers, not 16/);
});
