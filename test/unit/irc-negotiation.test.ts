/**
 * The IRC client against scripted servers (unit tests: a local socket plays the server): IRCv3
 * SASL PLAIN, and IRCX detection with auditoriums created by CREATE +x and whispers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ircProtocol } from '../../src/protocols/irc/index.js';
import { scriptedIrcServer } from '../helpers/irc-scripted-server.js';
import type { IrcMessage } from '../../src/protocols/irc/codec.js';
import type { VuEvents } from '../../src/protocols/types.js';


function events(notes: string[] = [], errors: string[] = []): VuEvents {
  return {
    bytes() {},
    message() {},
    presence() {},
    error: (kind) => errors.push(kind),
    disconnected() {},
    note: (_key, text) => notes.push(text),
    metric() {},
  };
}

/** Every script answers PING (the client's readiness and send barriers). */
function register(m: IrcMessage, reply: (line: string) => void): boolean {
  if (m.command === 'PING') {
    reply(`:srv PONG srv :${m.params[0]}`);
    return true;
  }
  return false;
}

test('SASL PLAIN: CAP REQ sasl, AUTHENTICATE with the user and password, 903, CAP END, then registration', async () => {
  const { server, port, heard } = await scriptedIrcServer((m, reply) => {
    if (register(m, reply)) return;
    if (m.command === 'CAP' && m.params[0] === 'LS') reply(':srv CAP * LS :sasl server-time');
    else if (m.command === 'CAP' && m.params[0] === 'REQ') reply(`:srv CAP * ACK :${m.params[1]}`);
    else if (m.command === 'AUTHENTICATE' && m.params[0] === 'PLAIN') reply('AUTHENTICATE +');
    else if (m.command === 'AUTHENTICATE') reply(':srv 903 u000001 :SASL authentication successful');
    else if (m.command === 'CAP' && m.params[0] === 'END') reply(':srv 001 u000001 :Welcome');
  });
  try {
    const agent = await ircProtocol.createAgent({ name: 't', protocol: 'irc', host: '127.0.0.1', port, transport: 'tcp', options: { sasl: true } });
    const user = agent.createUser({ index: 0, name: 'u000001', password: 's3cret', contacts: [], channels: [] }, events());
    await user.logon();
    user.destroy();
    assert.ok(heard.includes('CAP REQ :server-time sasl'), heard.join('\n'));
    assert.ok(heard.includes(`AUTHENTICATE ${Buffer.from('u000001\0u000001\0s3cret').toString('base64')}`));
    assert.ok(!heard.some((l) => l.startsWith('PASS ')), 'with SASL the password is not also sent as PASS');
    assert.ok(heard.indexOf('CAP END') > heard.findIndex((l) => l.startsWith('AUTHENTICATE u')));
  } finally {
    server.close();
  }
});

test('SASL refused: the logon fails as auth-failed', async () => {
  const { server, port } = await scriptedIrcServer((m, reply) => {
    if (m.command === 'CAP' && m.params[0] === 'LS') reply(':srv CAP * LS :sasl');
    else if (m.command === 'CAP' && m.params[0] === 'REQ') reply(`:srv CAP * ACK :${m.params[1]}`);
    else if (m.command === 'AUTHENTICATE' && m.params[0] === 'PLAIN') reply('AUTHENTICATE +');
    else if (m.command === 'AUTHENTICATE') reply(':srv 904 u000001 :SASL authentication failed');
  });
  try {
    const agent = await ircProtocol.createAgent({ name: 't', protocol: 'irc', host: '127.0.0.1', port, transport: 'tcp', options: { sasl: true } });
    const user = agent.createUser({ index: 0, name: 'u000001', password: 'wrong', contacts: [], channels: [] }, events());
    await assert.rejects(user.logon(), (error: Error & { kind?: string }) => error.kind === 'auth-failed');
  } finally {
    server.close();
  }
});

test('IRCX: detected by 800, enabled after 001; presenters CREATE auditoriums +x; private messages to co-members are whispers', async () => {
  const { server, port, heard } = await scriptedIrcServer((m, reply) => {
    if (register(m, reply)) return;
    if (m.command === 'MODE' && m.params[0] === 'ISIRCX') reply(':srv 800 * 0 0 ANON 512 *');
    else if (m.command === 'CAP') reply(':srv 421 * CAP :Unknown command');
    else if (m.command === 'USER') reply(':srv 001 u000001 :Welcome');
    else if (m.command === 'CREATE') {
      reply(`:u000001!u@h JOIN ${m.params[0]}`);
      reply(`:srv 353 u000001 = ${m.params[0]} :.u000001 u000002`);
      reply(`:srv 366 u000001 ${m.params[0]} :End of NAMES`);
    }
  });
  const notes: string[] = [];
  try {
    const agent = await ircProtocol.createAgent({ name: 't', protocol: 'irc', host: '127.0.0.1', port, transport: 'tcp', options: {} });
    const stage = { name: '#stage', role: 'presenter' as const, auditorium: true, presenters: ['u000001'] };
    const user = agent.createUser({ index: 0, name: 'u000001', contacts: ['u000002'], channels: [stage] }, events(notes));
    await user.logon();
    await user.join(stage);
    const outcome = await user.message('u000002', 'hello');
    user.destroy();
    assert.deepEqual(outcome, { ok: true, recipients: 1 });
    assert.equal(heard[0], 'MODE ISIRCX', 'detection comes first, before registration');
    assert.ok(heard.indexOf('IRCX') > heard.indexOf('USER u000001 0 * :imload virtual user'), 'IRCX mode is enabled after registering');
    assert.ok(heard.includes('CREATE #stage +x'), heard.join('\n'));
    assert.ok(heard.includes('WHISPER #stage u000002 :hello'), heard.join('\n'));
    assert.ok(notes.some((n) => /IRCX offered and used/.test(n)), notes.join('\n'));
    assert.ok(notes.some((n) => /CREATE \+x/.test(n)), notes.join('\n'));
  } finally {
    server.close();
  }
});

test("InspIRCd +u: a presenter opped in the same read as its NAMES re-reads them, so the listeners +u hid are counted as recipients", async () => {
  const { server, port, heard } = await scriptedIrcServer((m, reply) => {
    if (register(m, reply)) return;
    if (m.command === 'CAP') reply(':srv 421 * CAP :Unknown command');
    else if (m.command === 'MODE' && m.params[0] === 'ISIRCX') reply(':srv 421 * MODE :Unknown');
    else if (m.command === 'USER') {
      reply(':srv 001 u000002 :Welcome');
      reply(':srv 004 u000002 srv InspIRCd-3 iosw biklmnopstuv');
      reply(':srv 005 u000002 CHANMODES=b,k,l,imnpstu STATUSMSG=@+ PREFIX=(ov)@+ :are supported');
      reply(':srv 376 u000002 :End of MOTD');
    } else if (m.command === 'JOIN') {
      // The host's +o arrives with the end of NAMES, in one write: the client reads them together.
      reply(
        [`:u000002!u@h JOIN ${m.params[0]}`, `:srv 353 u000002 = ${m.params[0]} :@u000001 u000002`, `:srv 366 u000002 ${m.params[0]} :End of NAMES`, `:u000001!u@h MODE ${m.params[0]} +o u000002`].join('\r\n'),
      );
    } else if (m.command === 'NAMES') {
      reply(`:srv 353 u000002 = ${m.params[0]} :@u000001 @u000002 u000003 u000004 u000005`);
      reply(`:srv 366 u000002 ${m.params[0]} :End of NAMES`);
    }
  });
  try {
    const agent = await ircProtocol.createAgent({ name: 't', protocol: 'irc', host: '127.0.0.1', port, transport: 'tcp', options: {} });
    const stage = { name: '#stage', role: 'presenter' as const, auditorium: true, presenters: ['u000001', 'u000002'] };
    const user = agent.createUser({ index: 1, name: 'u000002', contacts: [], channels: [stage] }, events());
    await user.logon();
    await user.join(stage);
    const outcome = await user.say(stage, 'welcome', 'all');
    user.destroy();
    assert.ok(heard.includes('NAMES #stage'), heard.join('\n'));
    assert.deepEqual(outcome, { ok: true, recipients: 4 });
  } finally {
    server.close();
  }
});
