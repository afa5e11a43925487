import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UdpHub } from '../../src/protocols/sip/udp.js';
import { SequenceCounter, UserAgent } from '../../src/protocols/sip/ua.js';
import { DEFAULT_TIMERS } from '../../src/protocols/sip/transactions.js';
import type { VuEvents } from '../../src/protocols/types.js';

const RESPONDER = fileURLToPath(new URL('../helpers/sip-responder.ts', import.meta.url));
const REQUESTS = 400;

/**
 * The generator stalls (a long GC pause, a blocked event loop) just after sending: every answer
 * arrives while it cannot read, and Timer E (T1) has passed for every request when it wakes. A
 * socket hands over 32 datagrams per event-loop turn, so transaction timers that fired at the
 * first chance would retransmit requests whose answers sit unread in the buffer.
 */
test('after a stall, answers already received stop their transactions before Timer E retransmits', { timeout: 30_000 }, async () => {
  const progress = join(mkdtempSync(join(tmpdir(), 'imload-stall-')), 'answered');
  const answeredSoFar = (): number => {
    try {
      return Number(readFileSync(progress, 'utf8'));
    } catch {
      return 0;
    }
  };
  const responder = fork(RESPONDER, [progress], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const [{ port }] = (await once(responder, 'message')) as [{ port: number }];
    let retransmissions = 0;
    const events = { metric: (name: string, value: number) => void (name === 'retransmissions' && (retransmissions += value)), bytes: () => undefined, note: () => undefined, error: () => undefined } as unknown as VuEvents;
    const hub = await UdpHub.open('127.0.0.1', port, 1, { malformed: () => undefined, socketError: () => undefined, late: () => undefined });
    try {
      const finals = [];
      for (let index = 0; index < REQUESTS; index++) {
        const ua = new UserAgent({ index, user: `u${index}`, domain: 'stall.test', timers: DEFAULT_TIMERS, instanceTag: 'st' }, events);
        ua.attach(hub.attach(index, `u${index}`, ua));
        finals.push(ua.request({ method: 'OPTIONS', uri: 'sip:stall.test', to: '<sip:stall.test>', fromTag: ua.newTag(), callId: ua.newCallId(), cseq: new SequenceCounter() }));
      }
      // Block the event loop past T1, and until the responder has answered every request (read
      // from its progress file: nothing else can be heard while blocked), for at most 20 s.
      const started = performance.now();
      const pastT1 = started + DEFAULT_TIMERS.t1Ms + 300;
      while ((performance.now() < pastT1 || answeredSoFar() < REQUESTS) && performance.now() - started < 20_000);
      assert.equal(answeredSoFar(), REQUESTS, 'the responder answered every request during the stall');
      const responses = await Promise.all(finals);
      assert.equal(responses.length, REQUESTS);
      assert.ok(responses.every((response) => response.status === 200));
      responder.send({ report: true });
      const [{ answered }] = (await once(responder, 'message')) as [{ answered: number }];
      assert.equal(retransmissions, 0, `${retransmissions} requests were sent again though answered`);
      assert.equal(answered, REQUESTS, 'the responder saw each request once');
    } finally {
      hub.close();
    }
  } finally {
    responder.disconnect();
  }
});
