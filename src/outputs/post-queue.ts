/**
 * One receiver's queue of request bodies: POSTed in order, one at a time (a series' samples
 * must arrive in time order), over one kept-alive connection; the oldest dropped when the
 * receiver falls `maxQueue` seconds behind. What the Prometheus and OTLP outputs send through.
 *
 * node:http with a keep-alive agent rather than fetch: a POST of a second's 6 KB costs a fifth to
 * a third of fetch's CPU (98–256 µs against 378–1,273 µs a request, client and server in one
 * process, bench/output-post.bench.ts), and the coordinator sends one per output every second.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PostTotals {
  readonly sent: number;
  readonly failed: number;
  /** The first failure, in words. */
  readonly error?: string;
}

const TIMEOUT_MS = 10_000;

export class PostQueue {
  private readonly queue: Array<string | Uint8Array> = [];
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private sending?: Promise<void>;
  private sent = 0;
  private failed = 0;
  private error?: string;

  constructor(
    private readonly url: URL,
    private readonly headers: Readonly<Record<string, string>>,
    private readonly maxQueue = 300,
  ) {
    const https = url.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    this.send = https ? httpsRequest : httpRequest;
  }

  push(body: string | Uint8Array): void {
    this.queue.push(body);
    while (this.queue.length > this.maxQueue) {
      this.queue.shift();
      this.failed++;
      this.error ??= 'the receiver fell behind: oldest seconds dropped';
    }
    this.sending ??= this.drain();
  }

  /** Waits for the queue to empty, then closes the connection. */
  async stop(): Promise<PostTotals> {
    while (this.sending) await this.sending;
    this.agent.destroy();
    return { sent: this.sent, failed: this.failed, ...(this.error ? { error: this.error } : {}) };
  }

  private async drain(): Promise<void> {
    try {
      for (let body = this.queue.shift(); body !== undefined; body = this.queue.shift()) {
        try {
          const { status, text } = await this.post(body);
          if (status >= 200 && status < 300) this.sent++;
          else {
            this.failed++;
            this.error ??= `HTTP ${status}: ${text.trim().slice(0, 300)}`;
          }
        } catch (e) {
          this.failed++;
          this.error ??= (e as Error).message;
        }
      }
    } finally {
      this.sending = undefined;
    }
  }

  private post(body: string | Uint8Array): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      const request = this.send(this.url, { method: 'POST', agent: this.agent, headers: { ...this.headers, 'Content-Length': length }, timeout: TIMEOUT_MS }, (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`no answer from ${this.url.host} within ${TIMEOUT_MS / 1000} s`)));
      request.on('error', reject);
      request.end(body);
    });
  }
}
