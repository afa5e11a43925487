/**
 * One LUSERS asked as a fresh client — the network's server count (251) and its users (266
 * global, or 251's visible + invisible where a server sends no 266). The online-count
 * cross-check (index.ts) and the lab's wait for a linked network (lab.ts) both ask this way.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { readFileSync } from 'node:fs';
import { LineBuffer, parseLine } from './codec.js';

/** Where to ask: a server's client port; TLS as the target says. */
export interface LusersEndpoint {
  readonly host: string;
  readonly port: number;
  readonly transport?: string;
  readonly tls?: { readonly ca?: string; readonly insecure?: boolean };
  /** Connect password (PASS), when the server requires one. */
  readonly password?: string;
}

/** What the server said; user counts include the asking client. */
export interface LusersReply {
  /** 251 "… on N servers": the servers of the network this server sees. */
  servers?: number;
  /** 266: every server's users. */
  globalUsers?: number;
  /** 251: visible plus invisible users (ngIRCd's "services" are not users). */
  users?: number;
}

/**
 * A registered client that asks LUSERS as often as wanted. InspIRCd completes a registration
 * only on its once-a-second tick, so a fresh client per question costs ~1 s before its answer;
 * a kept observer answers in a round trip (the lab's relink wait polls with one per server).
 */
export class LusersObserver {
  private readonly lines = new LineBuffer();
  private reply: LusersReply = {};
  private asked = 0;
  private waiter: { token: string; resolve(reply: LusersReply): void; reject(error: Error): void } | undefined;
  private registered: { resolve(): void; reject(error: Error): void } | undefined;
  private failure: Error | undefined;

  private constructor(
    private readonly endpoint: LusersEndpoint,
    private readonly socket: Socket,
  ) {}

  /** Connects and registers; resolves at 001. */
  static open(endpoint: LusersEndpoint, timeoutMs = 5000): Promise<LusersObserver> {
    const options = { host: endpoint.host, port: endpoint.port };
    const socket =
      endpoint.transport === 'tls'
        ? tlsConnect({ ...options, ca: endpoint.tls?.ca ? readFileSync(endpoint.tls.ca) : undefined, rejectUnauthorized: !endpoint.tls?.insecure } as ConnectionOptions)
        : netConnect(options);
    const observer = new LusersObserver(endpoint, socket);
    return observer.within(timeoutMs, 'registration', new Promise<void>((resolve, reject) => {
      observer.registered = { resolve, reject };
      observer.start();
    })).then(() => observer);
  }

  private get where(): string {
    return `${this.endpoint.host}:${this.endpoint.port}`;
  }

  private start(): void {
    const nick = `imlobs${Math.floor(Math.random() * 1e6)}`;
    const socket = this.socket;
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error(`${this.where} closed the connection`)));
    socket.once(this.endpoint.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      const pass = this.endpoint.password !== undefined ? `PASS ${this.endpoint.password}\r\n` : '';
      socket.write(`${pass}NICK ${nick}\r\nUSER ${nick} 0 * :imload observer\r\n`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.lines.push(chunk, (line) => this.handle(line)));
  }

  private handle(line: string): void {
    const message = parseLine(line);
    if (!message) return;
    const text = message.params[message.params.length - 1] ?? '';
    if (message.command === 'PING') this.socket.write(`PONG :${text}\r\n`);
    else if (message.command === '001') {
      this.registered?.resolve();
      this.registered = undefined;
    } else if (message.command === 'PONG' && this.waiter?.token === text) {
      // The PONG marks the end of the LUSERS replies, whichever numerics this server sends.
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve(this.reply);
    } else if (message.command === '251') readUsersLine(text, this.reply);
    else if (message.command === '266') {
      const numbers = message.params.slice(1).filter((p) => /^\d+$/.test(p));
      const value = numbers[0] ?? /Current global users:?\s*(\d+)/i.exec(text)?.[1];
      if (value !== undefined) this.reply.globalUsers = Number(value);
    }
  }

  /** One LUSERS; the counts include this observer. */
  ask(timeoutMs = 5000): Promise<LusersReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('a LUSERS question is already open'));
    this.reply = {};
    const token = `imload-lusers-${++this.asked}`;
    const answer = new Promise<LusersReply>((resolve, reject) => (this.waiter = { token, resolve, reject }));
    this.socket.write(`LUSERS\r\nPING :${token}\r\n`);
    return this.within(timeoutMs, 'LUSERS answer', answer);
  }

  /** Closing the socket is enough: the server then drops the observer from its counts. */
  close(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.registered?.reject(this.failure);
    this.registered = undefined;
    this.waiter?.reject(this.failure);
    this.waiter = undefined;
  }

  /** Rejects (and closes the observer) when `promise` has not settled in `timeoutMs`. */
  private within<T>(timeoutMs: number, what: string, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what} from ${this.where} in ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([promise, timeout]).then(
      (value) => {
        clearTimeout(timer);
        return value;
      },
      (error: Error) => {
        clearTimeout(timer);
        this.fail(error);
        this.close();
        throw error;
      },
    );
  }
}

/** One LUSERS from a fresh client (about a second on InspIRCd: see LusersObserver). */
export async function queryLusers(endpoint: LusersEndpoint, timeoutMs = 5000): Promise<LusersReply> {
  const started = performance.now();
  const observer = await LusersObserver.open(endpoint, timeoutMs);
  try {
    return await observer.ask(Math.max(1, timeoutMs - (performance.now() - started)));
  } finally {
    observer.close();
  }
}

/** "There are N users and M invisible on S servers" (M invisible users count too; ngIRCd says "M services"). */
export function readUsersLine(text: string, reply: LusersReply): void {
  const users = /(\d+)\D+(\d+)\s+invisible/i.exec(text) ?? /(\d+)/.exec(text);
  if (users) reply.users = Number(users[1]) + (users[2] ? Number(users[2]) : 0);
  const servers = /on (\d+) servers?/i.exec(text);
  if (servers) reply.servers = Number(servers[1]);
}
