/**
 * Whether a lab XMPP server serves clients: a stream opened to it gets `<stream:features>` back
 * (RFC 6120 § 4.3.2), not merely an open port. Shared by the Prosody and ejabberd lab starters.
 */
import { connect } from 'node:net';
import { XmlStreamParser, child } from './xml.js';

/** One try: opens a stream to `domain` and resolves on its features (offering STARTTLS, if required). */
export function streamFeaturesOnce(host: string, port: number, domain: string, timeoutMs: number, requireStarttls = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => done(new Error('no stream features in time')), timeoutMs);
    let settled = false;
    function done(error?: Error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    }
    const parser = new XmlStreamParser({
      streamStart() {},
      element: (e) =>
        done(
          e.name !== 'stream:features' ? new Error(`got <${e.name}>`)
          : requireStarttls && !child(e, 'starttls') ? new Error('stream features without STARTTLS')
          : undefined,
        ),
      streamEnd: () => done(new Error('the stream ended')),
      error: (message) => done(new Error(message)),
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => parser.push(chunk));
    socket.on('error', (error) => done(error));
    socket.on('close', () => done(new Error('closed before features')));
    socket.on('connect', () =>
      socket.write(`<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`),
    );
  });
}
