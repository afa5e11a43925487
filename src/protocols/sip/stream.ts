/**
 * TCP and TLS: one connection per user, as a Messenger client holds one. The user's Contact is
 * the connection's own local address, so the server can send NOTIFY and MESSAGE back over it
 * (research/sip.md § 0.4) without dialling out.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { AgentTarget } from '../types.js';
import { AgentError, classifySocketError, socketErrorDetail, type ErrorKind } from '../errors.js';
import { StreamFramer } from './framing.js';
import type { SipChannel, SipReceiver } from './channel.js';

const CRLF = Buffer.from('\r\n', 'latin1');

export interface StreamOptions {
  readonly sourceAddress?: string;
  readonly connectTimeoutMs: number;
  /** PEM of the CA to trust, read once per agent rather than per connection. */
  readonly ca?: Buffer;
}

/**
 * Connects one user's stream; rejects with an AgentError of the socket failure's kind
 * (connect-refused, connect-timeout, tls-error, …: errors.ts's classifier, as every agent).
 */
export function openStream(target: AgentTarget, options: StreamOptions, receiver: SipReceiver): Promise<SipChannel> {
  const endpoint = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const socket = createConnection(target, options);
    socket.setNoDelay(true);
    let settled = false;
    let closedByUs = false;
    /** The socket error that is ending the connection, reported with its close. */
    let lost: { kind: ErrorKind; detail: string; code?: string } | undefined;
    const timer = setTimeout(() => {
      fail(new AgentError('connect-timeout', `no connection within ${options.connectTimeoutMs} ms`, endpoint));
      socket.destroy();
    }, options.connectTimeoutMs);
    const fail = (error: AgentError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };
    const framer = new StreamFramer({
      message: (message, wireBytes) => receiver.receive(message, wireBytes),
      framingError: (error) => {
        receiver.receive(error, 0);
        socket.destroy();
      },
      ping: () => {
        socket.write(CRLF);
      },
    });
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const kind = classifySocketError(error, { connecting: !settled });
      lost ??= { kind, detail: socketErrorDetail(error), code: error.code };
      fail(new AgentError(kind, socketErrorDetail(error), endpoint, error.code));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!settled) fail(new AgentError('unexpected-close', 'connection closed before it was established', endpoint));
      else if (!closedByUs) {
        if (lost === undefined) receiver.closed('connection closed by the server', 'unexpected-close');
        else receiver.closed(`connection lost: ${lost.detail}`, lost.kind, lost.code);
      }
    });
    socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        transport: target.transport === 'tls' ? 'TLS' : 'TCP',
        reliable: true,
        localHost: socket.localAddress ?? '127.0.0.1',
        localPort: socket.localPort ?? 0,
        send: (data) => {
          if (socket.destroyed || !socket.writable) return false;
          socket.write(data);
          return true;
        },
        close: () => {
          closedByUs = true;
          socket.end();
          // A peer that never closes its side must not hold the descriptor.
          setTimeout(() => socket.destroy(), 1000).unref();
        },
      });
    });
  });
}

function createConnection(target: AgentTarget, options: StreamOptions): Socket {
  if (target.transport !== 'tls') {
    return netConnect({ host: target.host, port: target.port, localAddress: options.sourceAddress });
  }
  const tls = target.tls ?? {};
  // tls.connect cannot bind a source address itself, so TLS runs over a TCP socket that does.
  const raw = netConnect({ host: target.host, port: target.port, localAddress: options.sourceAddress });
  const secure = tlsConnect({
    socket: raw,
    servername: tls.serverName ?? (isIpLiteral(target.host) ? undefined : target.host),
    ca: options.ca,
    rejectUnauthorized: tls.insecure !== true,
  });
  raw.on('error', (error) => secure.destroy(error));
  return secure;
}

const isIpLiteral = (host: string): boolean => /^[\d.]+$/.test(host) || host.includes(':');
