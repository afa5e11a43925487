/**
 * UDP with many users multiplexed over a few connected sockets, as SIPp's `-t u1` does: a
 * 100k-user pool needs 100k AoRs, not 100k sockets. Responses find their user through the index
 * in the Via branch; requests (NOTIFY, MESSAGE) through the user part of the Request-URI, which
 * is the Contact the user registered or subscribed with.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { parseNameAddr, uriUser, viaBranch } from './address.js';
import { parseSipMessage } from './codec.js';
import { buildResponse } from './responses.js';
import { SipParseError } from './message.js';
import { userIndexFromBranch, type SipChannel, type SipReceiver } from './channel.js';

interface Attached {
  readonly receiver: SipReceiver;
  readonly name: string;
}

/** Datagrams no user could be found for; reported by the agent, not silently dropped. */
export interface UnroutedCounter {
  /** Malformed datagrams and socket errors: errors. */
  unrouted(reason: string, wireBytes: number): void;
  /**
   * Well-formed traffic for a user that is gone: a NOTIFY the notifier sent while the
   * un-SUBSCRIBE crossed it, a retransmitted final response. Answered, counted, not an error.
   */
  late(description: string, wireBytes: number, answerBytes: number): void;
}

class UdpSocketSlot {
  constructor(
    readonly socket: Socket,
    readonly localHost: string,
    readonly localPort: number,
  ) {}
}

export class UdpHub {
  private readonly byIndex = new Map<number, Attached>();
  private readonly byName = new Map<string, Attached>();
  private closed = false;

  private constructor(
    private readonly slots: UdpSocketSlot[],
    private readonly counter: UnroutedCounter,
  ) {
    for (const slot of slots) slot.socket.on('message', (data) => this.dispatch(data));
  }

  /** Opens `count` sockets connected to the server, so each has a definite local address. */
  static async open(host: string, port: number, count: number, counter: UnroutedCounter): Promise<UdpHub> {
    const slots: UdpSocketSlot[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
        slots.push(await connectSocket(socket, host, port, counter));
      }
    } catch (error) {
      for (const slot of slots) slot.socket.close();
      throw error;
    }
    return new UdpHub(slots, counter);
  }

  /** Gives a user a channel on one of the shared sockets (chosen by index, so it is stable). */
  attach(index: number, name: string, receiver: SipReceiver): SipChannel {
    const slot = this.slots[index % this.slots.length]!;
    const entry: Attached = { receiver, name };
    this.byIndex.set(index, entry);
    this.byName.set(name, entry);
    const detach = (): void => {
      if (this.byIndex.get(index) === entry) this.byIndex.delete(index);
      if (this.byName.get(name) === entry) this.byName.delete(name);
    };
    let open = true;
    return {
      transport: 'UDP',
      reliable: false,
      localHost: slot.localHost,
      localPort: slot.localPort,
      send: (data) => {
        if (!open || this.closed) return false;
        slot.socket.send(data);
        return true;
      },
      close: () => {
        open = false;
        detach();
      },
    };
  }

  private dispatch(data: Buffer): void {
    const message = parseSipMessage(data);
    if (message instanceof SipParseError) {
      this.counter.unrouted(`malformed datagram: ${message.message}`, data.length);
      return;
    }
    let target: Attached | undefined;
    if (message.kind === 'response') {
      const index = userIndexFromBranch(viaBranch(message.headers.get('Via')));
      if (index !== undefined) target = this.byIndex.get(index);
    } else {
      // A proxy normally retargets to the registered Contact (our user part); one that leaves
      // the AoR in place still names the user in To.
      const user = uriUser(message.uri);
      if (user !== undefined) target = this.byName.get(user);
      target ??= this.byName.get(uriUser(parseNameAddr(message.headers.get('To') ?? '')?.uri ?? '') ?? '');
    }
    if (target === undefined) {
      let answered = 0;
      if (message.kind === 'request' && message.method !== 'ACK') {
        // § 8.2.2.1/§ 12.2.2: a request for a dialog or user that no longer exists gets 481,
        // so the notifier stops retransmitting instead of timing out.
        const answer = buildResponse(message, 481, 'Call/Transaction Does Not Exist', 'gone');
        this.slots[0]!.socket.send(answer);
        answered = answer.length;
      }
      this.counter.late(message.kind === 'response' ? `${message.status} response` : message.method, data.length, answered);
      return;
    }
    target.receiver.receive(message, data.length);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) slot.socket.close();
    this.byIndex.clear();
    this.byName.clear();
  }
}

function connectSocket(socket: Socket, host: string, port: number, counter: UnroutedCounter): Promise<UdpSocketSlot> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => {
      socket.close();
      reject(error);
    };
    socket.once('error', fail);
    socket.connect(port, host, () => {
      socket.off('error', fail);
      // ICMP errors (server gone) arrive as 'error' events: count them rather than crash.
      socket.on('error', (error) => counter.unrouted(`socket error: ${error.message}`, 0));
      const address = socket.address();
      resolve(new UdpSocketSlot(socket, address.address, address.port));
    });
  });
}
