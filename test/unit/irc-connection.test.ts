/** Socket failures by kind: a lost connection is one kind whichever way the kernel reported it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { socketErrorKind } from '../../src/protocols/irc/connection.js';

const failure = (code: string, message = `${code} happened`): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

test('a server gone while we read (ECONNRESET) or wrote (EPIPE) is connection-reset', () => {
  assert.equal(socketErrorKind(failure('ECONNRESET', 'read ECONNRESET')), 'connection-reset');
  assert.equal(socketErrorKind(failure('EPIPE', 'write EPIPE')), 'connection-reset');
  assert.equal(socketErrorKind(failure('ECONNREFUSED')), 'connect-refused');
  assert.equal(socketErrorKind(failure('EHOSTUNREACH')), 'socket-error');
});
