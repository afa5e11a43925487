import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XmlStreamParser, child, escapeXml, serialize, text, unescapeXml, type XmlElement } from '../../src/protocols/xmpp/xml.js';

function collect() {
  const got = { start: undefined as Record<string, string> | undefined, elements: [] as XmlElement[], ended: false, errors: [] as string[] };
  const parser = new XmlStreamParser({
    streamStart: (attrs) => (got.start = attrs),
    element: (e) => got.elements.push(e),
    streamEnd: () => (got.ended = true),
    error: (m) => got.errors.push(m),
  });
  return { parser, got };
}

const STREAM =
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='it.test' version='1.0'>` +
  `<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>` +
  `<message from='a@it.test/r' to='b@it.test' type='chat' id="m&amp;1"><body>x &lt;y&gt; &#233;&#x263A; "q" 'a'</body></message>` +
  ` \n ` +
  `<presence from='c@it.test/r'><show>dnd</show><status>note &amp; more</status></presence>` +
  `</stream:stream>`;

test('a whole stream in one chunk: header, stanzas as trees, end', () => {
  const { parser, got } = collect();
  parser.push(STREAM);
  assert.deepEqual(got.errors, []);
  assert.equal(got.start?.id, 's1');
  assert.equal(got.start?.from, 'it.test');
  assert.equal(got.elements.length, 3);
  const [features, message, presence] = got.elements as [XmlElement, XmlElement, XmlElement];
  assert.equal(features.name, 'stream:features');
  assert.ok(child(child(features, 'starttls', 'urn:ietf:params:xml:ns:xmpp-tls')!, 'required'));
  assert.equal(message.attrs.id, 'm&1');
  assert.equal(text(child(message, 'body')), `x <y> é☺ "q" 'a'`);
  assert.equal(text(child(presence, 'show')), 'dnd');
  assert.equal(text(child(presence, 'status')), 'note & more');
  assert.equal(got.ended, true);
});

test('the same stream fed one character at a time gives the same result', () => {
  const whole = collect();
  whole.parser.push(STREAM);
  const split = collect();
  for (const c of STREAM) split.parser.push(c);
  assert.deepEqual(split.got, whole.got);
});

test('every split point of a stanza with > inside an attribute value', () => {
  const doc = `<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><iq type='result' id='a>b'><query xmlns='jabber:iq:roster'><item jid='u1@d' subscription='both'/></query></iq>`;
  for (let cut = 1; cut < doc.length; cut++) {
    const { parser, got } = collect();
    parser.push(doc.slice(0, cut));
    parser.push(doc.slice(cut));
    assert.deepEqual(got.errors, [], `cut at ${cut}`);
    assert.equal(got.elements.length, 1, `cut at ${cut}`);
    assert.equal(got.elements[0]!.attrs.id, 'a>b');
    assert.equal(child(child(got.elements[0]!, 'query')!, 'item')!.attrs.subscription, 'both');
  }
});

test('XMPP-forbidden or broken XML stops the stream with an error', () => {
  for (const bad of [
    `<stream:stream><!-- c --></stream:stream>`,
    `<stream:stream><a><b></a>`,
    `<stream:stream><a x='1' x='2'/>`,
    `<stream:stream><a>&foo;</a>`,
    `<stream:stream><a>& </a>`,
    `<stream:stream>junk<a/>`,
    `<notstream/>`,
    `<stream:stream><a x=1/>`,
    `<stream:stream><?pi x?>`,
    `<stream:stream></b>`,
  ]) {
    const { parser, got } = collect();
    parser.push(bad);
    assert.equal(got.errors.length, 1, bad);
    parser.push('<more/>');
    assert.equal(got.errors.length, 1, `${bad}: nothing after the error`);
  }
});

test('a stanza over the size limit is refused', () => {
  const errors: string[] = [];
  const parser = new XmlStreamParser({ streamStart() {}, element() {}, streamEnd() {}, error: (m) => errors.push(m) }, 100);
  parser.push(`<stream:stream><message><body>${'x'.repeat(200)}`);
  assert.equal(errors.length, 1);
});

test('escape, unescape and serialise round-trip', () => {
  const value = `<a href="x">&'</a>`;
  assert.equal(unescapeXml(escapeXml(value)), value);
  const element: XmlElement = { name: 'message', attrs: { to: `o'k@d` }, children: [{ name: 'body', attrs: {}, children: ['1 < 2 & 3'] }] };
  assert.equal(serialize(element), `<message to="o&apos;k@d"><body>1 &lt; 2 &amp; 3</body></message>`);
  const { parser, got } = collect();
  parser.push(`<stream:stream>${serialize(element)}`);
  assert.deepEqual(JSON.parse(JSON.stringify(got.elements[0])), JSON.parse(JSON.stringify(element)));
});

test('attributes named like Object properties are plain attributes', () => {
  const { parser, got } = collect();
  parser.push(`<stream:stream><a constructor='1' __proto__='2' toString='3'/>`);
  assert.deepEqual(got.errors, []);
  assert.equal(got.elements[0]!.attrs.constructor, '1');
  assert.equal(got.elements[0]!.attrs.__proto__, '2');
});
