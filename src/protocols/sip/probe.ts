/**
 * Is a SIP server answering over UDP? Without a connection there is nothing to refuse, so a run
 * against a port where nothing listens would otherwise start and book every request as a
 * timeout. The probe sends OPTIONS (RFC 3261 § 11: a UAS or proxy must answer it) from a
 * connected socket and waits for any response: any status, even 404 or 483, proves a SIP
 * element listens. The kernel reports an ICMP port unreachable on a connected socket as
 * ECONNREFUSED, so a closed local port fails at once.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { AgentTarget } from '../types.js';
import { BRANCH_COOKIE } from './channel.js';
import { parseSipMessage } from './codec.js';
import { readSettings } from './settings.js';

const hostForUri = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

/** Undefined when a SIP server answered within `timeoutMs`, else what went wrong. */
export function probeSipUdp(target: AgentTarget, timeoutMs: number): Promise<string | undefined> {
  const { t1Ms, t2Ms } = readSettings(target).timers;
  const socket = createSocket(isIP(target.host) === 6 ? 'udp6' : 'udp4');
  const branch = `${BRANCH_COOKIE}probe.${randomBytes(6).toString('hex')}`;
  return new Promise((resolve) => {
    let retransmit: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => finish(`no SIP response to OPTIONS over UDP within ${timeoutMs} ms`), timeoutMs);
    function finish(problem: string | undefined): void {
      clearTimeout(deadline);
      clearTimeout(retransmit);
      socket.close();
      resolve(problem);
    }
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(
        error.code === 'ECONNREFUSED' ? 'nothing listens on this UDP port (ICMP port unreachable in answer to a SIP OPTIONS)'
        : error.code === 'ENOTFOUND' ? 'host name not found'
        : error.message,
      ),
    );
    socket.on('message', (data) => {
      const message = parseSipMessage(data);
      if ('kind' in message && message.kind === 'response' && message.branch === branch) finish(undefined);
    });
    socket.connect(target.port, target.host, () => {
      const local = socket.address();
      const request = Buffer.from(
        `OPTIONS sip:${hostForUri(target.host)}:${target.port} SIP/2.0\r\n` +
          `Via: SIP/2.0/UDP ${hostForUri(local.address)}:${local.port};branch=${branch};rport\r\n` +
          'Max-Forwards: 70\r\n' +
          `From: <sip:imload-probe@${hostForUri(local.address)}>;tag=${randomBytes(4).toString('hex')}\r\n` +
          `To: <sip:${hostForUri(target.host)}:${target.port}>\r\n` +
          `Call-ID: ${branch}@imload\r\n` +
          'CSeq: 1 OPTIONS\r\n' +
          'Accept: application/sdp\r\n' +
          'User-Agent: imload\r\n' +
          'Content-Length: 0\r\n\r\n',
        'utf8',
      );
      // § 17.1.2.2 Timer E: again after T1, doubling up to T2, until the deadline.
      const send = (interval: number): void => {
        socket.send(request);
        retransmit = setTimeout(() => send(Math.min(interval * 2, t2Ms)), interval);
      };
      send(t1Ms);
    });
  });
}
