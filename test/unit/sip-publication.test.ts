/**
 * A publication facing a compositor that lost its state (RFC 3903: a 412 to a request naming our
 * entity-tag — a presence server restarted): a removal resolves as done (nothing to remove is what
 * it wanted), any other refusal still comes back to the caller, and a refresh publishes the last
 * state afresh instead of letting it lapse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSipMessage } from '../../src/protocols/sip/codec.js';
import { SipParseError, type SipResponse } from '../../src/protocols/sip/message.js';
import { Publication } from '../../src/protocols/sip/publication.js';
import type { UserAgent } from '../../src/protocols/sip/ua.js';
import type { VuEvents } from '../../src/protocols/types.js';

function response(status: number, reason: string, extra = ''): SipResponse {
  const text =
    `SIP/2.0 ${status} ${reason}\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKp1\r\nFrom: <sip:alice@lab.test>;tag=1\r\n` +
    `To: <sip:alice@lab.test>;tag=2\r\nCall-ID: p1\r\nCSeq: 1 PUBLISH\r\n${extra}Content-Length: 0\r\n\r\n`;
  const message = parseSipMessage(Buffer.from(text));
  assert.ok(!(message instanceof SipParseError) && message.kind === 'response');
  return message as SipResponse;
}

interface Sent {
  readonly ifMatch: string | undefined;
  readonly expires: string | undefined;
  readonly body: string | undefined;
}

/** A publication whose user agent answers its requests with `answers` in turn, recording what it sent and the errors reported. */
function publicationAnswering(...answers: SipResponse[]): { publication: Publication; sent: Sent[]; errors: string[] } {
  const sent: Sent[] = [];
  const errors: string[] = [];
  const ua = {
    aor: 'sip:alice@lab.test',
    newTagNumber: () => 1,
    tag: () => 't1',
    callId: () => 'c1',
    request: async (request: { headers: Array<[string, string]>; body?: string }) => {
      const header = (name: string) => request.headers.find(([n]) => n === name)?.[1];
      sent.push({ ifMatch: header('SIP-If-Match'), expires: header('Expires'), body: request.body });
      return answers.shift()!;
    },
  } as unknown as UserAgent;
  const events = { metric: () => undefined, error: (kind: string) => void errors.push(kind) } as unknown as VuEvents;
  return { publication: new Publication(ua, 3600, events), sent, errors };
}

test('an un-PUBLISH answered 412 (the server no longer holds our entity-tag) is done, not a failure', async () => {
  const { publication, sent, errors } = publicationAnswering(response(200, 'OK', 'SIP-ETag: e1\r\nExpires: 3600\r\n'), response(412, 'Conditional request failed'));
  assert.equal((await publication.publish('online', '')).status, 200);
  assert.equal(await publication.unpublish(), undefined);
  assert.deepEqual(sent.at(-1), { expires: '0', ifMatch: 'e1', body: undefined }, 'the removal named our entity-tag');
  assert.deepEqual(errors, []);
  publication.cancel();
});

test('an un-PUBLISH refused otherwise comes back to the caller', async () => {
  const { publication } = publicationAnswering(response(200, 'OK', 'SIP-ETag: e1\r\nExpires: 3600\r\n'), response(500, 'Server Internal Error'));
  await publication.publish('online', '');
  assert.equal((await publication.unpublish())?.status, 500);
  publication.cancel();
});

test('a refresh answered 412 publishes the last state afresh (no SIP-If-Match, the PIDF again) instead of letting it lapse', async () => {
  const { publication, sent, errors } = publicationAnswering(
    response(200, 'OK', 'SIP-ETag: e1\r\nExpires: 3600\r\n'),
    response(412, 'Conditional request failed'),
    response(200, 'OK', 'SIP-ETag: e2\r\nExpires: 3600\r\n'),
    response(200, 'OK'),
  );
  await publication.publish('away', 'lunch');
  publication.expired();
  // The refresh and its re-publication run on the publication's queue, before the removal.
  assert.equal((await publication.unpublish())?.status, 200);
  assert.deepEqual(sent.map((s) => s.ifMatch), [undefined, 'e1', undefined, 'e2'], 'initial, refresh with the entity-tag, afresh without one, removal with the new one');
  assert.equal(sent[1]!.body, undefined, 'the refresh has no body');
  assert.match(sent[2]!.body ?? '', /lunch/, 'the fresh publication carries the last state again');
  assert.deepEqual(errors, []);
  publication.cancel();
});
