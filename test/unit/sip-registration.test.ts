/**
 * Registration against a scripted registrar on a fake channel: which expiry it takes from the
 * answer (RFC 3261 § 10.2.4), however the registrar writes our Contact back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSeconds } from '../../src/protocols/sip/address.js';
import { parseSipMessage } from '../../src/protocols/sip/codec.js';
import { SipParseError } from '../../src/protocols/sip/message.js';
import { refreshDelayMs, refreshWheel } from '../../src/protocols/sip/outcome.js';
import { Registration } from '../../src/protocols/sip/registration.js';
import { UserAgent } from '../../src/protocols/sip/ua.js';
import { WheelTimer } from '../../src/protocols/timer-wheel.js';
import type { VuEvents } from '../../src/protocols/types.js';

const events: VuEvents = {
  bytes: () => undefined,
  message: () => undefined,
  presence: () => undefined,
  metric: () => undefined,
  error: () => undefined,
  disconnected: () => undefined,
  note: () => undefined,
};

/** Our Contact, as the user agent below writes it. */
const OURS = 'sip:alice@127.0.0.1:5070;transport=udp';

/**
 * Registers once against a registrar whose 200 carries `contactLines` (whole header lines) and
 * returns the refresh delay the registration scheduled, in ticks of the refresh wheel relative
 * to a probe scheduled `refreshDelayMs(expected)` from now.
 */
async function refreshTicksOff(contactLines: string, expected: number): Promise<number> {
  const ua = new UserAgent({ index: 7, user: 'alice', domain: 'lab.test', timers: { t1Ms: 500, t2Ms: 4000 }, instanceTag: 'tst1' }, events);
  ua.attach({
    transport: 'UDP',
    reliable: false,
    localHost: '127.0.0.1',
    localPort: 5070,
    send(data: Buffer): boolean {
      const request = parseSipMessage(data);
      assert.ok(!(request instanceof SipParseError) && request.kind === 'request');
      const header = (name: string): string => request.headers.get(name)!;
      const answer = Buffer.from(
        `SIP/2.0 200 OK\r\nVia: ${header('Via')}\r\nFrom: ${header('From')}\r\nTo: ${header('To')};tag=r1\r\n` +
          `Call-ID: ${header('Call-ID')}\r\nCSeq: ${header('CSeq')}\r\n${contactLines}Content-Length: 0\r\n\r\n`,
      );
      setImmediate(() => ua.receive(parseSipMessage(answer), answer.length));
      return true;
    },
    close: () => undefined,
  });
  const registration = new Registration(ua, 'lab.test', 3600, events);
  const probe = new (class extends WheelTimer {
    expired(): void {}
  })();
  try {
    assert.equal((await registration.register()).status, 200);
    refreshWheel().schedule(probe, refreshDelayMs(expected));
    return registration.wheelDue - probe.wheelDue;
  } finally {
    refreshWheel().cancel(probe);
    registration.cancel();
    ua.close('done');
  }
}

test('the expiry granted to our Contact, written back exactly', async () => {
  assert.equal(await refreshTicksOff(`Contact: <${OURS}>;expires=120\r\n`, 120), 0);
});

test('our Contact written back in another case, with the parameter name in another case', async () => {
  assert.equal(await refreshTicksOff(`Contact: <${OURS.toUpperCase()}>;Expires=120\r\n`, 120), 0);
});

test('our Contact among the bindings of other devices, in one header and over several, compact form', async () => {
  assert.equal(await refreshTicksOff(`Contact: <sip:alice@10.0.0.9:5060>;expires=50, <${OURS}>;expires=120\r\n`, 120), 0);
  assert.equal(await refreshTicksOff(`m: <sip:alice@10.0.0.9:5060>;expires=50\r\nm: "Alice" < ${OURS} > ;expires = 120\r\n`, 120), 0);
});

test('a Contact that only begins with ours is not ours: the Expires header counts', async () => {
  assert.equal(await refreshTicksOff(`Contact: <${OURS};ob>;expires=50\r\nExpires: 300\r\n`, 300), 0);
});

test('delta-seconds: digits with blanks around them, nothing else', () => {
  assert.equal(parseSeconds('3600'), 3600);
  assert.equal(parseSeconds(' 120\t'), 120);
  assert.equal(parseSeconds('0'), 0);
  assert.equal(parseSeconds('4294967295'), 4294967295);
  for (const bad of [undefined, '', ' ', '12a', '-1', '1.5', '+5', '12345678901', '1 2']) assert.equal(parseSeconds(bad), undefined, String(bad));
});
