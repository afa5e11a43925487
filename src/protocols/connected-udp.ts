/**
 * A UDP socket connected to one server: the SIP agent's shared sockets. Two implementations
 * behind one interface:
 *
 * - `native`: imload's own addon (native/udp, built by scripts/build-native.mjs, which
 *   `imload lab install` runs). Datagrams are read with recvmmsg into
 *   buffers this module owns, one call into JavaScript per batch, and written with send(2) from
 *   the caller's Buffer; node:dgram allocates 64 KiB, a Buffer and a remote-address object per
 *   datagram read and a request object per datagram sent. Measured per SIP REGISTER: imload warm
 *   costs 0.84–0.89× what it costs over node:dgram (bench/RESULTS.md).
 * - `node:dgram`: Node's own, when the addon is not built here (no C compiler or Node headers, or
 *   a published package nobody built it in) or `IMLOAD_UDP=node` asks for it (the bench compares
 *   the two).
 *
 * Either way the caller gets each datagram as a Buffer of its own (the parser keeps views of
 * message bodies, so the receive buffers are never handed out).
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

export type ConnectedUdpBackend = 'native' | 'node:dgram';

export interface ConnectedUdpHandlers {
  /** One datagram the server sent; the Buffer is the caller's to keep. */
  datagram(data: Buffer): void;
  /** An error after connecting: an ICMP error for a datagram sent, or a failed send. */
  error(error: NodeJS.ErrnoException): void;
}

export interface ConnectedUdpSocket {
  readonly backend: ConnectedUdpBackend;
  readonly localHost: string;
  readonly localPort: number;
  /** Datagrams read since `takeReads` last asked (the transaction timers wait for a full batch). */
  takeReads(): number;
  /** Datagrams sent that wait for room in the kernel's send buffer (a slow link's queue is full). */
  queuedSends(): number;
  send(data: Buffer): void;
  close(): void;
}

/**
 * Datagrams one socket delivers per event-loop turn at most: libuv's uv__udp_recvmsg stops after
 * 32, and the addon reads 32 (its READ_BATCH). A socket that delivered this many since it was last
 * asked probably has more waiting.
 */
export const UDP_READ_BATCH = 32;

interface NativeUdp {
  readonly slotBytes: number;
  readonly readBatch: number;
  open(host: string, port: number, family: 4 | 6, recvBufferSize: number, slots: ArrayBuffer, lengths: Int32Array, onEvent: (kind: number, value: number) => void): [unknown, string, number];
  send(handle: unknown, data: Buffer): number;
  wantWritable(handle: unknown, on: boolean): void;
  close(handle: unknown): void;
}

/** The addon's events (native/udp/imload_udp.c `enum event_kind`). */
const EVENT_DATAGRAMS = 0;
const EVENT_ERROR = 1;
const EVENT_WRITABLE = 2;

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));
const EAGAIN = constants.errno.EAGAIN;

/** Where scripts/build-native.mjs puts the addon (the same from src/ and from the published dist/). */
const NATIVE_UDP_ADDON = new URL('../../native/udp/build/imload_udp.node', import.meta.url);
const BUILD_SCRIPT = new URL('../../scripts/build-native.mjs', import.meta.url);

let nativeAddon: NativeUdp | null | undefined;
let nativeLoadError: string | undefined;

function loadNative(): NativeUdp | null {
  if (nativeAddon !== undefined) return nativeAddon;
  if (!existsSync(NATIVE_UDP_ADDON)) {
    nativeLoadError = `it is not built here: imload lab install or node ${fileURLToPath(BUILD_SCRIPT)} builds it`;
    return (nativeAddon = null);
  }
  try {
    nativeAddon = createRequire(import.meta.url)(fileURLToPath(NATIVE_UDP_ADDON)) as NativeUdp;
    if (nativeAddon.readBatch !== UDP_READ_BATCH) throw new Error(`the addon reads ${nativeAddon.readBatch} datagrams a turn, this module expects ${UDP_READ_BATCH}: rebuild it (node ${fileURLToPath(BUILD_SCRIPT)})`);
  } catch (error) {
    nativeLoadError = (error as Error).message.split('\n')[0];
    nativeAddon = null;
  }
  return nativeAddon;
}

/** Which implementation a socket opened now uses by default, and why not the addon if not. */
export function connectedUdpBackend(): { backend: ConnectedUdpBackend; reason?: string } {
  if (process.env.IMLOAD_UDP === 'node') return { backend: 'node:dgram', reason: 'IMLOAD_UDP=node' };
  return loadNative() === null ? { backend: 'node:dgram', reason: nativeLoadError } : { backend: 'native' };
}

function errnoError(syscall: string, errno: number): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
  const error: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  error.code = code;
  error.errno = -errno;
  error.syscall = syscall;
  return error;
}

export interface ConnectedUdpOptions {
  /** SO_RCVBUF: a burst of answers to thousands of users waits there. */
  readonly recvBufferSize: number;
  /** Default: the addon when it is built here (connectedUdpBackend). Tests ask for each. */
  readonly backend?: ConnectedUdpBackend;
}

export async function openConnectedUdp(host: string, port: number, options: ConnectedUdpOptions, handlers: ConnectedUdpHandlers): Promise<ConnectedUdpSocket> {
  const backend = options.backend ?? connectedUdpBackend().backend;
  if (backend === 'node:dgram') return openDgram(host, port, options.recvBufferSize, handlers);
  const native = loadNative();
  if (native === null) throw new Error(`imload's UDP addon is not available: ${nativeLoadError}`);
  const address = isIP(host) === 0 ? (await lookup(host)).address : host;
  return new NativeConnectedUdp(native, address, port, options.recvBufferSize, handlers);
}

class NativeConnectedUdp implements ConnectedUdpSocket {
  readonly backend = 'native';
  readonly localHost: string;
  readonly localPort: number;
  private readonly handle: unknown;
  private readonly slots: Buffer;
  private readonly lengths: Int32Array;
  /** Datagrams the kernel would not take yet (its buffer full), sent in order once it will. */
  private readonly backlog: Buffer[] = [];
  private reads = 0;
  private closed = false;

  constructor(
    private readonly native: NativeUdp,
    host: string,
    port: number,
    recvBufferSize: number,
    private readonly handlers: ConnectedUdpHandlers,
  ) {
    const slots = new ArrayBuffer(native.readBatch * native.slotBytes);
    this.slots = Buffer.from(slots);
    this.lengths = new Int32Array(native.readBatch);
    try {
      [this.handle, this.localHost, this.localPort] = native.open(host, port, isIP(host) === 6 ? 6 : 4, recvBufferSize, slots, this.lengths, (kind, value) => this.onEvent(kind, value));
    } catch (error) {
      const errno = (error as { errno?: number }).errno;
      throw errno === undefined ? error : errnoError((error as { syscall?: string }).syscall ?? 'connect', errno);
    }
  }

  private onEvent(kind: number, value: number): void {
    if (this.closed) return;
    if (kind === EVENT_DATAGRAMS) {
      this.reads += value;
      const slotBytes = this.native.slotBytes;
      for (let i = 0; i < value && !this.closed; i++) {
        const length = this.lengths[i]!;
        const start = i * slotBytes;
        // A copy from Node's Buffer pool (< 4 KiB: a slice of a shared slab, no allocation of its
        // own), made straight from the slot: no view of it is created first.
        const copy = Buffer.allocUnsafe(length);
        this.slots.copy(copy, 0, start, start + length);
        this.handlers.datagram(copy);
      }
    } else if (kind === EVENT_ERROR) {
      this.handlers.error(errnoError('recvmmsg', value));
    } else if (kind === EVENT_WRITABLE) {
      this.flushBacklog();
    }
  }

  takeReads(): number {
    const reads = this.reads;
    this.reads = 0;
    return reads;
  }

  queuedSends(): number {
    return this.backlog.length;
  }

  send(data: Buffer): void {
    if (this.closed) return;
    if (this.backlog.length > 0 || !this.sendNow(data)) this.backlog.push(data);
  }

  /** Sends one datagram; false when the kernel's buffer is full and it must wait for writable. */
  private sendNow(data: Buffer): boolean {
    const result = this.native.send(this.handle, data);
    if (result >= 0) return true;
    if (-result === EAGAIN) {
      this.native.wantWritable(this.handle, true);
      return false;
    }
    // An ICMP error from an earlier datagram is reported on this send; this one is not sent, as
    // node:dgram's send would fail it.
    this.handlers.error(errnoError('send', -result));
    return true;
  }

  private flushBacklog(): void {
    while (this.backlog.length > 0 && !this.closed && this.sendNow(this.backlog[0]!)) this.backlog.shift();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.backlog.length = 0;
    this.native.close(this.handle);
  }
}

function openDgram(host: string, port: number, recvBufferSize: number, handlers: ConnectedUdpHandlers): Promise<ConnectedUdpSocket> {
  const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', recvBufferSize });
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => {
      socket.close();
      reject(error);
    };
    socket.once('error', fail);
    socket.connect(port, host, () => {
      socket.off('error', fail);
      socket.on('error', (error: NodeJS.ErrnoException) => handlers.error(error));
      resolve(new DgramConnectedUdp(socket, handlers));
    });
  });
}

class DgramConnectedUdp implements ConnectedUdpSocket {
  readonly backend = 'node:dgram';
  readonly localHost: string;
  readonly localPort: number;
  private reads = 0;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    handlers: ConnectedUdpHandlers,
  ) {
    const address = socket.address();
    this.localHost = address.address;
    this.localPort = address.port;
    socket.on('message', (data) => {
      this.reads++;
      handlers.datagram(data);
    });
  }

  takeReads(): number {
    const reads = this.reads;
    this.reads = 0;
    return reads;
  }

  queuedSends(): number {
    return this.closed ? 0 : this.socket.getSendQueueCount();
  }

  send(data: Buffer): void {
    if (!this.closed) this.socket.send(data);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}
