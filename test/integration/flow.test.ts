/**
 * Scripted users: a YAML flow against real InspIRCd produces exactly the expected sequence on the
 * server side, as an independent raw IRC client watching the channel sees it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { runCommand } from '../../src/commands/run.js';
import { startInspircd } from '../../src/protocols/irc/lab.js';
import { LineBuffer, nickOf, parseLine } from '../../src/protocols/irc/codec.js';
import { requireBinary } from '../helpers/require.js';
import { writeScenario } from '../helpers/scenario.js';

/** A plain IRC client that joins a channel and keeps every JOIN/PART/PRIVMSG it sees there. */
function watcher(port: number, channel: string): Promise<{ seen: string[]; close(): void }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const lines = new LineBuffer();
    const seen: string[] = [];
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('connect', () => socket.write('NICK watcher\r\nUSER watcher 0 * :watcher\r\n'));
    socket.on('data', (chunk: string) =>
      lines.push(chunk, (line) => {
        const m = parseLine(line);
        if (!m) return;
        if (m.command === 'PING') socket.write(`PONG :${m.params[0]}\r\n`);
        else if (m.command === '001') socket.write(`JOIN ${channel}\r\n`);
        else if (m.command === '366') resolve({ seen, close: () => socket.destroy() });
        else if (['JOIN', 'PART', 'PRIVMSG'].includes(m.command) && m.params[0] === channel && nickOf(m.prefix) !== 'watcher') {
          const text = m.command === 'PRIVMSG' ? ` ${m.params[1]!.replace(/^\[imload [^\]]*\] /, '')}` : '';
          seen.push(`${nickOf(m.prefix)} ${m.command}${text}`);
        }
      }),
    );
  });
}

test('a YAML flow produces exactly the scripted sequence on the server', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, 'inspircd', 'inspircd')) return;
  const server = await startInspircd();
  const watch = await watcher(server.port, '#sales');
  try {
    const { file, dir } = writeScenario(`version: 1
targets:
  chat: { url: ${server.url} }
scenarios:
  scripted:
    target: chat
    seed: 3
    population:
      users: 5
      groups:
        - name: sales
          users: 3
          flow:
            - { do: logon }
            - { do: join, channel: '#sales' }
            - { do: say, channel: '#sales', text: 'hello from {user}', count: 2, every: 300ms }
            - { do: think, for: { min: 100ms, max: 300ms } }
            - { do: loop, times: 2, steps: [{ do: say, channel: '{channel:0}', text: 'loop {index}' }] }
            - { do: part, channel: '#sales' }
            - { do: logoff }
    phases:
      - { phase: rampUp, rate: 2 }
      - { phase: hold, duration: 8s }
    behaviour: { messagesPerHour: 0, channelMessagesPerHour: 0 }
`);
    const { result } = await runCommand({ file, scenario: 'scripted', quiet: true, out: join(dir, 'run'), signal: new AbortController().signal });
    assert.equal(result.summary.messages.channelSent, 12, '3 users × 4 scripted channel messages');
    for (const [i, user] of ['u000001', 'u000002', 'u000003'].entries()) {
      assert.deepEqual(
        watch.seen.filter((line) => line.startsWith(`${user} `)),
        [`${user} JOIN`, `${user} PRIVMSG hello from ${user}`, `${user} PRIVMSG hello from ${user}`, `${user} PRIVMSG loop ${i + 1}`, `${user} PRIVMSG loop ${i + 1}`, `${user} PART`],
      );
    }
    assert.ok(!watch.seen.some((line) => /^u00000[45] /.test(line)), 'users outside the group never came to #sales');
  } finally {
    watch.close();
    await server.stop();
  }
});
