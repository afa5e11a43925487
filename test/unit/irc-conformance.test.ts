/**
 * The IRC client against scripted servers answering in forms RFC 1459/2812 § 2.3.1 allows and
 * no lab server produces: numerics whose last parameter is a middle parameter rather than a
 * `:` trailing one, no server prefix at all, commands in lower case, and a server that never
 * echoes a PRIVMSG back (an IRCv3 echo-message server does; the RFC ones do not). A local
 * socket plays the server: these are unit tests of the client (docs/conformance-irc.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ircProtocol } from '../../src/protocols/irc/index.js';
import { createServer } from 'node:net';
import { scriptedIrcServer } from '../helpers/irc-scripted-server.js';
import type { ChannelAssignment, VuEvents } from '../../src/protocols/types.js';


interface Received {
  readonly messages: string[];
  readonly errors: string[];
}

function events(received: Received): VuEvents {
  return {
    bytes() {},
    message: (from, text, _at, channel) => received.messages.push(`${from}${channel ? ` ${channel}` : ''}: ${text}`),
    presence() {},
    error: (kind, detail) => received.errors.push(`${kind} ${detail ?? ''}`),
    disconnected() {},
    note() {},
    metric() {},
  };
}

const NICK = 'u000001';

async function userOn(port: number, received: Received) {
  const agent = await ircProtocol.createAgent({ name: 't', protocol: 'irc', host: '127.0.0.1', port, transport: 'tcp', options: {} });
  return { agent, user: agent.createUser({ index: 0, name: NICK, contacts: [], channels: [] }, events(received)) };
}

const ROOM: ChannelAssignment = { name: '#room', role: 'member', auditorium: false, presenters: [] };

test('numerics and commands whose last parameter is a middle one, with no server prefix: registration, JOIN, NAMES, PONG and a 401', { timeout: 10_000 }, async () => {
  // Not one `:` trailing parameter and not one prefix: every reply is `COMMAND p1 p2 ... pN`.
  const { server, port, heard } = await scriptedIrcServer((m, reply) => {
    if (m.command === 'CAP') reply(`421 * CAP Unknown`);
    else if (m.command === 'MODE') reply(`421 * MODE Unknown`);
    else if (m.command === 'USER') {
      reply(`001 ${NICK} Welcome`);
      reply(`005 ${NICK} PREFIX=(ov)@+ CHANMODES=b,k,l,imnt are_supported`);
    } else if (m.command === 'PING') reply(`PONG srv ${m.params[0]}`);
    else if (m.command === 'JOIN') {
      reply(`:${NICK}!u@h JOIN ${m.params[0]}`);
      // One name: RFC 2812 § 2.3.1 lets it be a middle parameter; the second 353 uses a trailing one.
      reply(`353 ${NICK} = ${m.params[0]} @bob`);
      reply(`353 ${NICK} = ${m.params[0]} :${NICK} carol`);
      reply(`366 ${NICK} ${m.params[0]} End`);
    } else if (m.command === 'PRIVMSG' && m.params[0] === 'nobody') reply(`401 ${NICK} nobody No_such_nick`);
  });
  const received: Received = { messages: [], errors: [] };
  const { agent, user } = await userOn(port, received);
  try {
    await user.logon();
    const channel = ROOM;
    await user.join(channel);
    assert.deepEqual(await user.say(channel, 'hi all', 'all'), { ok: true, recipients: 2 }, 'bob (a middle-parameter 353) and carol both counted');
    const refused = await user.message('nobody', 'hello');
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.reason, 'offline', 'a 401 without a trailing text still names its target');
    assert.ok(heard.includes('PRIVMSG #room :hi all'), heard.join('\n'));
    assert.deepEqual(received.errors, []);
  } finally {
    user.destroy();
    await agent.close();
    server.close();
  }
});

test('commands in lower case are the same commands: ping, pong, join, privmsg', { timeout: 10_000 }, async () => {
  const { server, port } = await scriptedIrcServer((m, reply) => {
    if (m.command === 'USER') {
      reply(`:srv 001 ${NICK} :Welcome`);
      reply(`:srv ping :keepalive-1`);
    } else if (m.command === 'PING') reply(`:srv pong srv :${m.params[0]}`);
    else if (m.command === 'JOIN') {
      reply(`:${NICK}!u@h join ${m.params[0]}`);
      reply(`:srv 353 ${NICK} = ${m.params[0]} :${NICK}`);
      reply(`:srv 366 ${NICK} ${m.params[0]} :End of NAMES`);
      reply(`:bob!b@h join :${m.params[0]}`);
      reply(`:bob!b@h privmsg ${m.params[0]} :hello room`);
      reply(`:bob!b@h PrivMsg ${NICK} hello`);
    }
  });
  const received: Received = { messages: [], errors: [] };
  const { agent, user } = await userOn(port, received);
  try {
    await user.logon();
    const channel = ROOM;
    await user.join(channel);
    // The next barrier's pong comes after bob's lines: they have all been read by then.
    assert.deepEqual(await user.say(channel, 'hi', 'all'), { ok: true, recipients: 1 }, 'bob joined by a lower-case join');
    assert.deepEqual(received.messages, ['bob #room: hello room', 'bob: hello']);
    assert.deepEqual(received.errors, []);
  } finally {
    user.destroy();
    await agent.close();
    server.close();
  }
});

/** Registers and answers PING; `echo` decides whether our own PRIVMSGs come back to us. */
function privateMessageServer(echo: boolean) {
  return scriptedIrcServer((m, reply) => {
    if (m.command === 'USER') reply(`:srv 001 ${NICK} :Welcome`);
    else if (m.command === 'PING') reply(`:srv PONG srv :${m.params[0]}`);
    else if (m.command === 'PRIVMSG' && echo) reply(`:${NICK}!u@h PRIVMSG ${m.params[0]} :${m.params[1]}`);
  });
}

test('a server that never echoes a PRIVMSG: the send is acknowledged by the PING barrier alone', { timeout: 10_000 }, async () => {
  const { server, port, heard } = await privateMessageServer(false);
  const received: Received = { messages: [], errors: [] };
  const { agent, user } = await userOn(port, received);
  try {
    await user.logon();
    assert.deepEqual(await user.message('bob', 'one'), { ok: true, recipients: 1 });
    assert.deepEqual(await user.message('bob', 'two'), { ok: true, recipients: 1 });
    const sent = heard.filter((l) => l.startsWith('PRIVMSG '));
    assert.deepEqual(sent, ['PRIVMSG bob :one', 'PRIVMSG bob :two']);
    // Each send is followed by its own PING: that, not an echo, is what acknowledges it.
    assert.match(heard[heard.indexOf('PRIVMSG bob :one') + 1] ?? '', /^PING :imload-\d+$/);
    assert.deepEqual(received.messages, []);
  } finally {
    user.destroy();
    await agent.close();
    server.close();
  }
});

test('a server that echoes our PRIVMSG: the echo is not a message received', { timeout: 10_000 }, async () => {
  const { server, port } = await privateMessageServer(true);
  const received: Received = { messages: [], errors: [] };
  const { agent, user } = await userOn(port, received);
  try {
    await user.logon();
    assert.deepEqual(await user.message('bob', 'one'), { ok: true, recipients: 1 });
    assert.deepEqual(received.messages, [], 'our own line coming back is not counted as a delivery');
  } finally {
    user.destroy();
    await agent.close();
    server.close();
  }
});

test('433 nick in use: the next NICK appends `_`, and our own line echoed under that nick is not a delivery', { timeout: 10_000 }, async () => {
  const { server, port, heard } = await scriptedIrcServer((m, reply) => {
    if (m.command === 'NICK' && m.params[0] === NICK) reply(`:srv 433 * ${NICK} :Nickname is already in use`);
    else if (m.command === 'NICK') reply(`:srv 001 ${m.params[0]} Welcome`);
    else if (m.command === 'PING') reply(`:srv PONG srv :${m.params[0]}`);
    else if (m.command === 'PRIVMSG') {
      reply(`:${NICK}_!u@h PRIVMSG ${m.params[0]} :${m.params[1]}`);
      reply(`:bob!b@h PRIVMSG ${NICK}_ :${m.params[1]}`);
    }
  });
  const received: Received = { messages: [], errors: [] };
  const { agent, user } = await userOn(port, received);
  try {
    await user.logon();
    assert.deepEqual(heard.filter((l) => l.startsWith('NICK ')), [`NICK ${NICK}`, `NICK ${NICK}_`]);
    assert.ok(received.errors.some((e) => e.startsWith('nick-in-use')), received.errors.join('\n'));
    assert.deepEqual(await user.message('bob', 'hi'), { ok: true, recipients: 1 });
    assert.deepEqual(received.messages, ['bob: hi'], 'bob\'s message counts, the echo of ours does not');
  } finally {
    user.destroy();
    await agent.close();
    server.close();
  }
});

test('a UTF-8 character split between two TCP chunks arrives whole', { timeout: 10_000 }, async () => {
  // The first part ends inside 'é' (0xC3 | 0xA9) and goes out with the PONG that ends our logon;
  // the rest only once we send something after it, so the two cannot arrive as one chunk.
  const line = Buffer.from(`:bob!b@h PRIVMSG ${NICK} :café au lait\r\n`);
  const split = line.indexOf(0xa9);
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
        const [command, ...params] = buffered.slice(0, end).replace(/\r$/, '').split(' ');
        buffered = buffered.slice(end + 1);
        if (command === 'USER') socket.write(`:srv 001 ${NICK} :Welcome\r\n`);
        else if (command === 'PING' && params[0] === ':imload-ready') socket.write(Buffer.concat([Buffer.from(`:srv PONG srv :imload-ready\r\n`), line.subarray(0, split)]));
        else if (command === 'PING') socket.write(Buffer.concat([line.subarray(split), Buffer.from(`:srv PONG srv ${params[0]}\r\n`)]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const received: Received = { messages: [], errors: [] };
  const { agent, user } = await userOn((server.address() as { port: number }).port, received);
  try {
    await user.logon();
    assert.deepEqual(await user.message('bob', 'hi'), { ok: true, recipients: 1 });
    assert.deepEqual(received.messages, ['bob: café au lait']);
    assert.deepEqual(received.errors, []);
  } finally {
    user.destroy();
    await agent.close();
    server.close();
  }
});
