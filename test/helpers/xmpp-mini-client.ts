/**
 * A few-line XMPP client for provisioning tests: plain TCP, SASL PLAIN, resource binding and a
 * roster get. Not the agent: it only proves that a server accepts provisioned credentials and
 * serves the provisioned roster. Regex-level XML; enough for the servers' own answers.
 */
import { connect } from 'node:net';

export interface MiniSession {
  readonly roster: readonly { jid: string; subscription: string }[];
  close(): Promise<void>;
}

export class AuthFailed extends Error {}

export async function miniLogin(port: number, domain: string, user: string, password: string, timeoutMs = 10_000): Promise<MiniSession> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setEncoding('utf8');
  let buffer = '';
  let closed = false;
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (const waiter of waiters.splice(0)) waiter();
  });
  const closedPromise = new Promise<void>((resolve) => socket.once('close', () => ((closed = true), resolve(), waiters.splice(0).forEach((w) => w()))));
  socket.on('error', () => undefined);
  const deadline = Date.now() + timeoutMs;
  async function waitFor(pattern: RegExp): Promise<RegExpExecArray> {
    for (;;) {
      const match = pattern.exec(buffer);
      if (match) {
        buffer = buffer.slice(match.index + match[0].length);
        return match;
      }
      if (closed) throw new Error(`connection closed waiting for ${pattern}: ${buffer.slice(0, 300)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${pattern}: ${buffer.slice(0, 300)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }
  const open = () =>
    socket.write(`<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    open();
    await waitFor(/<\/stream:features>/);
    const token = Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
    socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${token}</auth>`);
    const outcome = await waitFor(/<(success|failure)[\s>/]/);
    if (outcome[1] === 'failure') throw new AuthFailed(`${user}: SASL failure`);
    open();
    await waitFor(/<\/stream:features>/);
    socket.write(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>mini</resource></bind></iq>`);
    await waitFor(/<\/jid>/);
    socket.write(`<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>`);
    const answer = await waitFor(/<iq[^>]*id=['"]r1['"][^>]*>([\s\S]*?)<\/iq>/);
    const roster = [...answer[1]!.matchAll(/<item\s([^>]*?)\/?>/g)].map((item) => ({
      jid: /jid=['"]([^'"]+)['"]/.exec(item[1]!)?.[1] ?? '',
      subscription: /subscription=['"]([^'"]+)['"]/.exec(item[1]!)?.[1] ?? 'none',
    }));
    return {
      roster,
      close: async () => {
        if (!closed) socket.end('</stream:stream>');
        const timer = setTimeout(() => socket.destroy(), 5000);
        await closedPromise;
        clearTimeout(timer);
      },
    };
  } catch (error) {
    socket.destroy();
    throw error;
  }
}
