/**
 * The state a new update/propchange subscription answers with (the 207 of SUBSCRIBE): what the
 * agent reads from it, in our server's shape and in foreign ones (prefixes, leased form, a 404
 * propstat first), and what it does not mistake for a state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCurrentPresence } from '../../src/protocols/rvp/bodies.js';
import { XmlError } from '../../src/protocols/rvp/wire/xml.js';

const NS = 'xmlns:d="DAV:" xmlns:r="http://schemas.microsoft.com/rvp/"';

test('current presence: our server\'s 207 with the state and the imload note', () => {
  const body =
    `<?xml version="1.0"?><d:multistatus ${NS}><d:response><d:href>http://im.example.com/instmsg/aliases/u000002</d:href>` +
    '<d:propstat><d:prop><d:displayname>u000002</d:displayname><r:state><r:busy/></r:state>' +
    '<x:note xmlns:x="urn:imload:rvp">#7:3:1700000000000:-1</x:note></d:prop>' +
    '<d:status>HTTP/1.1 200 Successful</d:status></d:propstat></d:response></d:multistatus>';
  assert.deepEqual(parseCurrentPresence(body), { status: 'busy', note: '#7:3:1700000000000:-1' });
});

test('current presence: foreign prefixes, a 404 propstat first, the leased form, no note', () => {
  const body =
    '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:Z="http://schemas.microsoft.com/rvp/"><D:response>' +
    '<D:propstat><D:prop><Z:state/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>' +
    '<D:propstat><D:prop><Z:state><Z:leased-value><Z:value><Z:away/></Z:value></Z:leased-value><Z:view-id>3</Z:view-id></Z:state></D:prop>' +
    '<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>';
  assert.deepEqual(parseCurrentPresence(body), { status: 'away', note: undefined });
});

test('current presence: no body, no multistatus or no state is "unknown", bad XML throws', () => {
  assert.equal(parseCurrentPresence(''), undefined);
  assert.equal(parseCurrentPresence(`<r:notification ${NS}/>`), undefined);
  assert.equal(
    parseCurrentPresence(`<d:multistatus ${NS}><d:response><d:propstat><d:prop><d:displayname>x</d:displayname></d:prop></d:propstat></d:response></d:multistatus>`),
    undefined,
  );
  assert.throws(() => parseCurrentPresence('<d:multistatus xmlns:d="DAV:"><d:response>'), XmlError);
});
