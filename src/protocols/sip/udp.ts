/**
 * UDP with many users multiplexed over a few connected sockets, as SIPp's `-t u1` does: a
 * 100k-user pool needs 100k AoRs, not 100k sockets. Responses find their user through the index
 * in the Via branch; requests (NOTIFY, MESSAGE) through the user part of the Request-URI, which
 * is the Contact the user registered or subscribed with.
 */
import { openConnectedUdp, UDP_READ_BATCH, type ConnectedUdpSocket } from '../connected-udp.js';
import { nameAddrUri, uriUser } from './address.js';
import { parseSipMessage } from './codec.js';
import { buildResponse } from './responses.js';
import { SipParseError } from './message.js';
import { userIndexFromBranch, type SipChannel, type SipReceiver, type SipTransportName } from './channel.js';

/** Datagrams no user could be found for, and errors of the shared sockets: reported by the agent, not silently dropped. */
export interface UnroutedCounter {
  /** A datagram that does not parse as SIP. */
  malformed(reason: string, wireBytes: number): void;
  /** An error a shared socket raised after connecting: an ICMP error for a datagram sent, or a failed send. */
  socketError(error: NodeJS.ErrnoException): void;
  /**
   * Well-formed traffic for a user that is gone: a NOTIFY the notifier sent while the
   * un-SUBSCRIBE crossed it, a retransmitted final response. Answered, counted, not an error.
   */
  late(description: string, wireBytes: number, answerBytes: number): void;
}

/** Each shared socket's kernel receive buffer: a burst of answers to thousands of users waits there. */
const RECEIVE_BUFFER_BYTES = 4 << 20;

/** Hubs open in this process, for udpInputWaiting. */
const openHubs = new Set<UdpHub>();

/**
 * Whether some shared socket read a whole batch since the last call, so that more datagrams are
 * probably waiting: the transaction timers wait for them (TimerWheel's inputWaiting). At a
 * steady high rate this can be true when nothing waits; the wheel then runs a turn later.
 */
export function udpInputWaiting(): boolean {
  let waiting = false;
  for (const hub of openHubs) if (hub.takeFullBatches()) waiting = true;
  return waiting;
}

/**
 * One user's share of a hub socket, and the hub's entry for routing to that user (one object
 * per user, not closures nor a separate entry: pools attach users by the 100k).
 */
class UdpChannel implements SipChannel {
  readonly transport: SipTransportName = 'UDP';
  readonly reliable = false;
  private open = true;

  constructor(
    private readonly hub: UdpHub,
    private readonly socket: ConnectedUdpSocket,
    readonly receiver: SipReceiver,
    readonly index: number,
    readonly name: string,
  ) {}

  get localHost(): string {
    return this.socket.localHost;
  }

  get localPort(): number {
    return this.socket.localPort;
  }

  send(data: Buffer): boolean {
    if (!this.open || this.hub.isClosed) return false;
    this.socket.send(data);
    return true;
  }

  close(): void {
    this.open = false;
    this.hub.detach(this);
  }
}

export class UdpHub {
  /**
   * By population index: an array, so attaching and leaving allocate nothing. A worker's indices
   * are every W-th of 0..N (W workers), close enough for V8 to keep the array's fast elements.
   */
  private readonly byIndex: Array<UdpChannel | undefined> = [];
  private readonly byName = new Map<string, UdpChannel>();
  private closed = false;

  private readonly sockets: ConnectedUdpSocket[] = [];

  private constructor(private readonly counter: UnroutedCounter) {
    openHubs.add(this);
  }

  /** @internal Whether a socket read a whole batch since the last call; starts counting again. */
  takeFullBatches(): boolean {
    let full = false;
    for (const socket of this.sockets) if (socket.takeReads() >= UDP_READ_BATCH) full = true;
    return full;
  }

  /** Opens `count` sockets connected to the server, so each has a definite local address. */
  static async open(host: string, port: number, count: number, counter: UnroutedCounter): Promise<UdpHub> {
    const hub = new UdpHub(counter);
    const handlers = { datagram: (data: Buffer) => hub.dispatch(data), error: (error: NodeJS.ErrnoException) => counter.socketError(error) };
    try {
      for (let i = 0; i < count; i++) hub.sockets.push(await openConnectedUdp(host, port, { recvBufferSize: RECEIVE_BUFFER_BYTES }, handlers));
    } catch (error) {
      hub.close();
      throw error;
    }
    return hub;
  }

  /** Gives a user a channel on one of the shared sockets (chosen by index, so it is stable). */
  attach(index: number, name: string, receiver: SipReceiver): SipChannel {
    const channel = new UdpChannel(this, this.sockets[index % this.sockets.length]!, receiver, index, name);
    this.byIndex[index] = channel;
    this.byName.set(name, channel);
    return channel;
  }

  /** @internal A channel closed: its user no longer receives (unless re-attached since). */
  detach(entry: UdpChannel): void {
    if (this.byIndex[entry.index] === entry) this.byIndex[entry.index] = undefined;
    if (this.byName.get(entry.name) === entry) this.byName.delete(entry.name);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private dispatch(data: Buffer): void {
    const message = parseSipMessage(data);
    if (message instanceof SipParseError) {
      this.counter.malformed(`malformed datagram: ${message.message}`, data.length);
      return;
    }
    let target: UdpChannel | undefined;
    if (message.kind === 'response') {
      const index = userIndexFromBranch(message.branch);
      if (index !== undefined && index >= 0 && index < this.byIndex.length) target = this.byIndex[index];
    } else {
      // A proxy normally retargets to the registered Contact (our user part); one that leaves
      // the AoR in place still names the user in To.
      const user = uriUser(message.uri);
      if (user !== undefined) target = this.byName.get(user);
      target ??= this.byName.get(uriUser(nameAddrUri(message.headers.get('To') ?? '') ?? '') ?? '');
    }
    if (target === undefined) {
      let answered = 0;
      if (message.kind === 'request' && message.method !== 'ACK') {
        // § 8.2.2.1/§ 12.2.2: a request for a dialog or user that no longer exists gets 481,
        // so the notifier stops retransmitting instead of timing out.
        const answer = buildResponse(message, 481, 'Call/Transaction Does Not Exist', 'gone');
        this.sockets[0]!.send(answer);
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
    openHubs.delete(this);
    for (const socket of this.sockets) socket.close();
    this.byIndex.length = 0;
    this.byName.clear();
  }
}
