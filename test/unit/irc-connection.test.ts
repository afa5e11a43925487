/** Socket failures by kind: a lost connection is one kind whichever way the kernel reported it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifySocketError } from '../../src/protocols/errors.js';

const failure = (code: string, message = `${code} happened`): NodeJS.ErrnoException => Object.assign(new Error(message), { code });
const open = { connecting: false };

test('a server gone while we read (ECONNRESET) or wrote (EPIPE) is connection-reset', () => {
  assert.equal(classifySocketError(failure('ECONNRESET', 'read ECONNRESET'), open), 'connection-reset');
  assert.equal(classifySocketError(failure('EPIPE', 'write EPIPE'), open), 'connection-reset');
  assert.equal(classifySocketError(failure('ECONNREFUSED'), { connecting: true }), 'connect-refused');
  assert.equal(classifySocketError(failure('EHOSTUNREACH'), { connecting: true }), 'socket-error');
});
