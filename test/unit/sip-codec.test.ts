import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSipMessage, serializeRequest, splitHeaderList } from '../../src/protocols/sip/codec.js';
import { StreamFramer } from '../../src/protocols/sip/framing.js';
import { SipHeaders, SipParseError, type SipMessage } from '../../src/protocols/sip/message.js';
import { parseNameAddr, uriUser, viaBranch } from '../../src/protocols/sip/address.js';

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

const NOTIFY = [
  'NOTIFY sip:alice@127.0.0.1:5062;transport=tcp SIP/2.0',
  'v: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2',
  'f: <sip:bob@lab.test>;tag=b1',
  't: "Alice, A." <sip:alice@lab.test>;tag=a1',
  'i: call-1@host',
  'CSeq: 7 NOTIFY',
  'o: presence',
  'Subscription-State: active;',
  '  expires=300',
  'm: <sip:127.0.0.1:5060;transport=tcp>',
  'c: application/pidf+xml',
  'l: 5',
  '',
  'hello',
];

function expectMessage(result: SipMessage | SipParseError): SipMessage {
  assert.ok(!(result instanceof SipParseError), `parse error: ${(result as SipParseError).message}`);
  return result;
}

test('compact header forms map to their long names', () => {
  const message = expectMessage(parseSipMessage(crlf(NOTIFY)));
  assert.equal(message.kind, 'request');
  assert.equal(message.headers.get('Call-ID'), 'call-1@host');
  assert.equal(message.headers.get('from'), '<sip:bob@lab.test>;tag=b1');
  assert.equal(message.headers.get('Event'), 'presence');
  assert.equal(message.headers.get('Content-Type'), 'application/pidf+xml');
  assert.equal(message.headers.get('Contact'), '<sip:127.0.0.1:5060;transport=tcp>');
  assert.equal(message.body.toString(), 'hello');
});

test('multi-valued headers split at top-level commas only', () => {
  const message = expectMessage(parseSipMessage(crlf(NOTIFY)));
  assert.deepEqual(message.headers.getAll('Via'), [
    'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1',
    'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2',
  ]);
  assert.equal(viaBranch(message.headers.get('Via')), 'z9hG4bK1');
  // The quoted comma in To's display name is not a separator (To is not a list header anyway).
  assert.equal(parseNameAddr(message.headers.get('To')!)?.params.get('tag'), 'a1');
  assert.deepEqual(splitHeaderList('"a, b" <sip:x@y;p=1,2>, <sip:z@w>'), ['"a, b" <sip:x@y;p=1,2>', '<sip:z@w>']);
});

test('folded header lines are unfolded', () => {
  const message = expectMessage(parseSipMessage(crlf(NOTIFY)));
  assert.equal(message.headers.get('Subscription-State'), 'active; expires=300');
});

test('a datagram body longer than Content-Length is cut, a shorter one is an error', () => {
  const longer = [...NOTIFY.slice(0, -1), 'hello world'];
  assert.equal(expectMessage(parseSipMessage(crlf(longer))).body.toString(), 'hello');
  const shorter = [...NOTIFY.slice(0, -1), 'hi'];
  assert.ok(parseSipMessage(crlf(shorter)) instanceof SipParseError);
});

test('responses parse, missing mandatory headers and bad CSeq are errors', () => {
  const ok = expectMessage(
    parseSipMessage(crlf(['SIP/2.0 407 Proxy Authentication Required', 'Via: SIP/2.0/UDP h;branch=z9hG4bKx', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: c', 'CSeq: 2 MESSAGE', '', ''])),
  );
  assert.equal(ok.kind, 'response');
  if (ok.kind === 'response') assert.equal(ok.status, 407);
  assert.ok(parseSipMessage(crlf(['SIP/2.0 200 OK', 'From: <sip:a@b>', 'To: <sip:a@b>', 'Call-ID: c', 'CSeq: 1 X', '', ''])) instanceof SipParseError);
  assert.ok(parseSipMessage(crlf(['MESSAGE sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h', 'From: <sip:a@b>', 'To: <sip:a@b>', 'Call-ID: c', 'CSeq: 1 NOTIFY', '', ''])) instanceof SipParseError);
  assert.ok(parseSipMessage(Buffer.from('garbage')) instanceof SipParseError);
});

test('non-ASCII text parses as ASCII does: header values decoded, the body cut at its byte length', () => {
  // Multi-byte UTF-8 takes the parser's byte-offset path; the same message in ASCII the text path.
  const utf8 = [...NOTIFY.slice(0, 3), 't: "Zoë, A." <sip:alice@lab.test>;tag=a1', ...NOTIFY.slice(4, -3), 'l: 6', '', 'héllo'];
  const message = expectMessage(parseSipMessage(crlf(utf8)));
  assert.equal(message.headers.get('To'), '"Zoë, A." <sip:alice@lab.test>;tag=a1');
  assert.equal(message.body.toString('utf8'), 'héllo');
  assert.deepEqual(message.headers.getAll('Via'), expectMessage(parseSipMessage(crlf(NOTIFY))).headers.getAll('Via'));
});

test('the header block ends at the first empty line, CRLF or bare LF, wherever the body has more', () => {
  const head = ['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP h;branch=z9hG4bKx', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: c', 'CSeq: 2 REGISTER'];
  const parse = (text: string): SipMessage | SipParseError => parseSipMessage(Buffer.from(text, 'utf8'));
  // Bare LF line ends (§ 7.5 allows a receiver to accept them), the body holding both blank-line forms.
  const bare = expectMessage(parse(`${[...head, 'l: 9'].join('\n')}\n\nab\n\ncd\r\n\r\n`));
  assert.equal(bare.body.toString(), 'ab\n\ncd\r\n\r');
  // CRLF lines ended by a bare LF blank line, and LF lines ended by a CRLF one.
  assert.equal(expectMessage(parse(`${[...head, 'l: 2'].join('\r\n')}\r\n\nhi`)).body.toString(), 'hi');
  assert.equal(expectMessage(parse(`${[...head, 'l: 2'].join('\n')}\n\r\nhi`)).body.toString(), 'hi');
  // The message ends with its blank line (no body, no Content-Length on a datagram).
  const empty = expectMessage(parse(`${head.join('\r\n')}\r\n\r\n`));
  assert.equal(empty.body.length, 0);
  assert.equal(empty.headers.get('CSeq'), '2 REGISTER');
  // A line holding only blanks is a continuation, not the end of the headers.
  assert.equal(expectMessage(parse(`${head.join('\r\n')}\r\nSubject: a\r\n \r\n b\r\n\r\n`)).headers.get('Subject'), 'a b');
  for (const broken of [`${head.join('\r\n')}\r\n`, head.join('\r\n'), `${head.join('\r\n')}\r\n\r`, 'SIP/2.0 200 OK']) {
    const result = parse(broken);
    assert.ok(result instanceof SipParseError && result.message === 'no blank line after the headers', JSON.stringify(broken));
  }
  const headless = parse('SIP/2.0 200 OK\r\n\r\n');
  assert.ok(headless instanceof SipParseError && headless.message.startsWith('missing'));
});

test('status lines: three digits 100..699, then a space and a reason or nothing', () => {
  const headers = ['Via: SIP/2.0/UDP h;branch=z9hG4bKx', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: c', 'CSeq: 2 REGISTER', '', ''];
  const status = (line: string): [number, string] | string => {
    const result = parseSipMessage(crlf([line, ...headers]));
    if (result instanceof SipParseError) return result.message;
    assert.equal(result.kind, 'response');
    return result.kind === 'response' ? [result.status, result.reason] : 'request';
  };
  assert.deepEqual(status('SIP/2.0 200 OK'), [200, 'OK']);
  assert.deepEqual(status('SIP/2.0 183 Session Progress'), [183, 'Session Progress']);
  assert.deepEqual(status('SIP/2.0 699'), [699, '']);
  assert.deepEqual(status('SIP/2.0 100 '), [100, '']);
  for (const bad of ['SIP/2.0 200OK', 'SIP/2.0 099 Low', 'SIP/2.0 700 High', 'SIP/2.0 20', 'SIP/2.0 2x0 OK', 'SIP/2.0  200 OK', 'SIP/2.0 200\tOK']) {
    assert.match(String(status(bad)), /^bad status line/, bad);
  }
});

test('a list header without commas before one with them: each split on its own commas', () => {
  const lines = ['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP h;branch=z9hG4bKx', 'm: <sip:x@y>;expires=60', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: c', 'CSeq: 2 REGISTER', 'Allow: INVITE, ACK', 'Server: s, t', '', ''];
  const message = expectMessage(parseSipMessage(crlf(lines)));
  assert.deepEqual(message.headers.getAll('Contact'), ['<sip:x@y>;expires=60']);
  assert.deepEqual(message.headers.getAll('Allow'), ['INVITE', 'ACK']);
  assert.deepEqual(message.headers.getAll('Server'), ['s, t']);
  assert.deepEqual(message.headers.getAll('Via'), ['SIP/2.0/UDP h;branch=z9hG4bKx']);
});

test('URI user parts decode escapes', () => {
  assert.equal(uriUser('sip:u%20x@lab.test;transport=tcp'), 'u x');
  assert.equal(uriUser('sip:lab.test'), undefined);
});

test('serialised requests parse back with the computed Content-Length', () => {
  const headers = new SipHeaders()
    .add('Via', 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa.1')
    .add('From', '<sip:a@lab.test>;tag=1')
    .add('To', '<sip:b@lab.test>')
    .add('Call-ID', 'x@y')
    .add('CSeq', '1 MESSAGE')
    .add('Content-Length', '999');
  const message = expectMessage(parseSipMessage(serializeRequest('MESSAGE', 'sip:b@lab.test', headers, 'héllo')));
  assert.equal(message.headers.get('Content-Length'), String(Buffer.byteLength('héllo')));
  assert.equal(message.body.toString('utf8'), 'héllo');
});

function framed(chunks: Buffer[]): { messages: SipMessage[]; errors: string[]; pings: number } {
  const messages: SipMessage[] = [];
  const errors: string[] = [];
  let pings = 0;
  const framer = new StreamFramer({
    message: (message) => (message instanceof SipParseError ? errors.push(message.message) : messages.push(message)),
    framingError: (error) => errors.push(`framing: ${error.message}`),
    ping: () => pings++,
  });
  for (const chunk of chunks) framer.push(chunk);
  return { messages, errors, pings };
}

test('stream framing: messages split across chunks, several per chunk, and keep-alive pings', () => {
  const one = crlf(NOTIFY);
  const stream = Buffer.concat([Buffer.from('\r\n\r\n'), one, one, Buffer.from('\r\n\r\n'), one]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 7) chunks.push(stream.subarray(i, i + 7));
  const result = framed(chunks);
  assert.deepEqual(result.errors, []);
  assert.equal(result.messages.length, 3);
  assert.equal(result.pings, 2);
  for (const message of result.messages) assert.equal(message.body.toString(), 'hello');
});

test('stream framing: a malformed message with intact framing is skipped, an oversize one breaks the stream', () => {
  const bad = crlf(['FOO BAR', 'Content-Length: 2', '', 'xx']);
  const result = framed([bad, crlf(NOTIFY)]);
  assert.equal(result.errors.length, 1);
  assert.equal(result.messages.length, 1);
  const huge = framed([Buffer.from('INFO sip:a@b SIP/2.0\r\nContent-Length: 99999999\r\n\r\n')]);
  assert.match(huge.errors[0]!, /framing: body too large/);
});

test('property: any byte string parses to a message or a SipParseError, never an exception', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const result = parseSipMessage(Buffer.from(bytes));
      assert.ok(result instanceof SipParseError || result.kind === 'request' || result.kind === 'response');
    }),
    { numRuns: 2000 },
  );
});

test('property: mutated valid messages never throw, in the parser or the stream framer', () => {
  const base = crlf(NOTIFY);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
      (mutations, cuts) => {
        const bytes = Buffer.from(base);
        for (const [at, value] of mutations) bytes[at] = value;
        parseSipMessage(bytes);
        const chunks: Buffer[] = [];
        let offset = 0;
        for (const cut of cuts) {
          chunks.push(bytes.subarray(offset, offset + cut));
          offset += cut;
        }
        chunks.push(bytes.subarray(offset));
        framed(chunks);
      },
    ),
    { numRuns: 1000 },
  );
});

test('property: framing gives the same messages whatever the chunking', () => {
  const stream = Buffer.concat([crlf(NOTIFY), crlf(NOTIFY)]);
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cutPoints) => {
      const sorted = [...cutPoints].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let last = 0;
      for (const point of sorted) {
        chunks.push(stream.subarray(last, point));
        last = point;
      }
      chunks.push(stream.subarray(last));
      const result = framed(chunks);
      assert.equal(result.messages.length, 2);
      assert.deepEqual(result.errors, []);
    }),
    { numRuns: 500 },
  );
});
