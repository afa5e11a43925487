import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineBuffer, MAX_LINE_LENGTH, nickOf, parseLine, sanitize } from '../../src/protocols/irc/codec.js';

test('parses prefix, command, middle params and trailing', () => {
  const m = parseLine(':nick!user@host PRIVMSG #room :hello there :)\r');
  assert.ok(m);
  assert.equal(m.prefix, 'nick!user@host');
  assert.equal(m.command, 'PRIVMSG');
  assert.deepEqual(m.params, ['#room', 'hello there :)']);
  assert.equal(nickOf(m.prefix), 'nick');
});

test('parses IRCv3 tags with escapes', () => {
  const m = parseLine('@time=2026-11-22T02:39:32.113Z;msgid=a\\sb\\:c;flag :srv 001 me :Welcome');
  assert.ok(m);
  assert.deepEqual(m.tags, { time: '2026-11-22T02:39:32.113Z', msgid: 'a b;c', flag: '' });
  assert.equal(m.command, '001');
  assert.deepEqual(m.params, ['me', 'Welcome']);
});

test('numerics keep their digits and commands are upper-cased', () => {
  assert.equal(parseLine(':s 353 me = #c :@a +b c')?.command, '353');
  assert.equal(parseLine('ping :x')?.command, 'PING');
  assert.deepEqual(parseLine(':s 353 me = #c :@a +b c')?.params, ['me', '=', '#c', '@a +b c']);
});

test('collapses repeated spaces between params and keeps an empty trailing', () => {
  assert.deepEqual(parseLine('MODE  #c   +o   nick')?.params, ['#c', '+o', 'nick']);
  assert.deepEqual(parseLine('PRIVMSG #c :')?.params, ['#c', '']);
});

test('rejects lines that are not IRC', () => {
  for (const bad of ['', ':onlyprefix', '@tags', '123456 x', ':p !!! x', 'x'.repeat(MAX_LINE_LENGTH + 1)]) {
    assert.equal(parseLine(bad), undefined, JSON.stringify(bad.slice(0, 20)));
  }
});

test('sanitize removes characters that would split a line', () => {
  assert.equal(sanitize('a\r\nb\0c'), 'a  b c');
});

test('property: any string parses to a message or undefined, never throws', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 700 }), (line) => {
      const m = parseLine(line);
      if (m) {
        assert.match(m.command, /^([A-Z]+|\d{3})$/);
        assert.ok(Array.isArray(m.params));
      }
    }),
    { numRuns: 2000 },
  );
});

test('property: a line built from parts parses back to those parts', () => {
  const word = fc.stringMatching(/^[A-Za-z0-9#&@+._-]{1,12}$/);
  fc.assert(
    fc.property(fc.constantFrom('PRIVMSG', 'JOIN', '353', 'MODE'), fc.array(word, { maxLength: 5 }), fc.string({ maxLength: 40 }), (command, middle, trailing) => {
      const clean = trailing.replace(/[\r\n\0]/g, '');
      const m = parseLine(`:srv ${command} ${[...middle, `:${clean}`].join(' ')}`);
      assert.ok(m);
      assert.deepEqual(m.params, [...middle, clean]);
    }),
  );
});

test('LineBuffer joins chunks, splits lines and drops over-long ones', () => {
  const buffer = new LineBuffer();
  const lines: string[] = [];
  assert.equal(buffer.push('PING :a\r\nPRI', (l) => lines.push(l)), false);
  buffer.push('VMSG #c :x\r\n', (l) => lines.push(l));
  assert.deepEqual(lines, ['PING :a\r', 'PRIVMSG #c :x\r']);
  // A server that never sends a newline cannot make the buffer grow without bound.
  assert.equal(buffer.push('y'.repeat(MAX_LINE_LENGTH + 10), (l) => lines.push(l)), true);
  buffer.push('\nOK\n', (l) => lines.push(l));
  assert.deepEqual(lines.slice(2), ['', 'OK']);
});
