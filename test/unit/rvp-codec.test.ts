/**
 * Units under the RVP server and agent: the HTTP/1.1 codec, the XML reader, node URLs, user
 * patterns and home maps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpParseError, RequestParser, ResponseParser, DEFAULT_LIMITS } from '../../src/protocols/rvp/wire/http1.js';
import { NS_ACL, NS_RVP, XmlError, cdata, parseXml } from '../../src/protocols/rvp/wire/xml.js';
import { UserDirectory, expandPattern, homeFor, parseHomeMap, parseNodeUrl } from '../../src/protocols/rvp/server/directory.js';

test('request parser: byte-at-a-time input, LF endings, pipelined messages, repeated headers', () => {
  const parser = new RequestParser(DEFAULT_LIMITS);
  const wire = 'SUBSCRIPTIONS /instmsg/aliases/a HTTP/1.1\nX-A: 1\nX-A: 2\nContent-Length: 3\n\nabcNOTIFY / HTTP/1.0\r\n\r\n';
  const out = [];
  for (const byte of Buffer.from(wire)) {
    parser.push(Buffer.from([byte]));
    for (let m = parser.next(); m !== undefined; m = parser.next()) out.push(m);
  }
  assert.equal(out.length, 2);
  assert.equal(out[0]!.method, 'SUBSCRIPTIONS');
  assert.equal(out[0]!.body.toString(), 'abc');
  assert.equal(out[0]!.headers.map.get('x-a'), '1, 2');
  assert.deepEqual(out[0]!.headers.all.get('x-a'), ['1', '2']);
  assert.equal(out[1]!.version, '1.0');
  assert.equal(parser.pendingBytes, 0);
});

test('request parser: bounds and malformed input raise HttpParseError with the status to answer', () => {
  const statusOf = (wire: string, limits = DEFAULT_LIMITS) => {
    const parser = new RequestParser(limits);
    parser.push(Buffer.from(wire));
    try {
      parser.next();
      return 0;
    } catch (error) {
      assert.ok(error instanceof HttpParseError);
      return error.status;
    }
  };
  assert.equal(statusOf('GET / HTTP/1.1\r\nContent-Length: 10\r\nContent-Length: 11\r\n\r\n'), 400);
  assert.equal(statusOf('GET / HTTP/1.1\r\n folded\r\n\r\n'), 400);
  assert.equal(statusOf('GET / HTTP/2.0\r\n\r\n'), 505);
  assert.equal(statusOf('GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'), 501);
  assert.equal(statusOf('GET / HTTP/1.1\r\nContent-Length: 99\r\n\r\n', { maxHeadBytes: 1024, maxBodyBytes: 10 }), 413);
  assert.equal(statusOf(`GET / HTTP/1.1\r\nX: ${'a'.repeat(200)}`, { maxHeadBytes: 100, maxBodyBytes: 10 }), 431);
});

test('response parser: status line, reason phrase, no body for 204/304', () => {
  const parser = new ResponseParser(DEFAULT_LIMITS);
  parser.push(Buffer.from('HTTP/1.1 207 Multi-Status\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n'));
  const first = parser.next()!;
  assert.equal(first.status, 207);
  assert.equal(first.reason, 'Multi-Status');
  assert.equal(first.body.toString(), 'ok');
  assert.equal(parser.next()!.status, 204);
});

test('XML reader: namespaces by URI (case, trailing slash), CDATA, entities, errors', () => {
  const root = parseXml(`<?xml version="1.0"?><!-- c --><X:rvpacl xmlns:X="http://schemas.Microsoft.com/rvp/acl"><X:acl a='1'>&lt;&#65;&#x42;&amp;<![CDATA[<raw>]]></X:acl></X:rvpacl>`);
  assert.equal(root.ns, NS_ACL);
  assert.equal(root.children[0]!.text, '<AB&<raw>');
  assert.equal(root.children[0]!.attributes.get('a'), '1');
  const inner = parseXml('<r:a xmlns:r="http://schemas.microsoft.com/rvp/"><b xmlns="http://schemas.microsoft.com/rvp/"/></r:a>');
  assert.equal(inner.children[0]!.ns, NS_RVP);
  for (const bad of ['<a>', '<a></b>', '<a/><b/>', '<p:a/>', '<a>&bogus;</a>', 'text', '<!DOCTYPE a><a/>', '<a b="1" b="2"/>']) {
    assert.throws(() => parseXml(bad), XmlError, bad);
  }
  assert.equal(parseXml(`<a>${cdata('x]]>y')}</a>`).text, 'x]]>y');
});

test('node URLs: logical, physical, absolute; foreign hosts and domains are not nodes', () => {
  assert.deepEqual(parseNodeUrl('/instmsg/aliases/bob', 'im.x.com'), { alias: 'bob', physical: false });
  assert.deepEqual(parseNodeUrl('/instmsg/local/im.x.com/instmsg/aliases/b%20b', 'im.x.com'), { alias: 'b b', physical: true });
  assert.deepEqual(parseNodeUrl('http://IM.X.COM/instmsg/aliases/bob', 'im.x.com'), { alias: 'bob', physical: false });
  assert.equal(parseNodeUrl('http://10.0.0.5:4000/instmsg/aliases/bob', 'im.x.com'), undefined);
  assert.equal(parseNodeUrl('/instmsg/local/im.other.com/instmsg/aliases/bob', 'im.x.com'), undefined);
  assert.equal(parseNodeUrl('/groups/cycling', 'im.x.com'), undefined);
});

test('users and homes: patterns, files, ranges and hashing', () => {
  assert.equal(expandPattern('u{index:6}', 42), 'u000042');
  assert.equal(expandPattern('user{index}', 7), 'user7');
  const dir = mkdtempSync(join(tmpdir(), 'imload-rvp-users-'));
  writeFileSync(join(dir, 'users.txt'), '# staff\nalice\n\nBob\n');
  const users = UserDirectory.load({ file: join(dir, 'users.txt') });
  assert.equal(users.indexOf('bob'), 1);
  assert.equal(users.canonical('ALICE'), 'alice');
  const ranges = parseHomeMap(['0-9=http://127.0.0.1:1/', '10-19=http://127.0.0.1:2'])!;
  assert.equal(homeFor(ranges, 'x', 10), 'http://127.0.0.1:2');
  assert.equal(homeFor(ranges, 'x', 20), undefined);
  const hashed = parseHomeMap(['hash=http://a:1,http://b:2'])!;
  const spread = new Set(Array.from({ length: 50 }, (_, i) => homeFor(hashed, `u${i}`, i)));
  assert.deepEqual([...spread].sort(), ['http://a:1', 'http://b:2']);
  assert.equal(homeFor(hashed, 'U7', 0), homeFor(hashed, 'u7', 0), 'hashing ignores case');
  assert.throws(() => parseHomeMap(['nonsense']));
  // The users `imload run --segment i/3` runs: index mod 3 = i − 1.
  const residues = parseHomeMap(['mod=3:0+2=http://10.0.0.1:8081', 'mod=3:1=http://10.0.0.10:8080'])!;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => homeFor(residues, `u${i}`, i)), ['http://10.0.0.1:8081', 'http://10.0.0.10:8080', 'http://10.0.0.1:8081', 'http://10.0.0.1:8081', 'http://10.0.0.10:8080', 'http://10.0.0.1:8081']);
  assert.throws(() => parseHomeMap(['mod=3:0=http://a:1', 'mod=4:1=http://b:2']), /same N/);
  assert.throws(() => parseHomeMap(['mod=3:3=http://a:1']), /not below 3/);
});
