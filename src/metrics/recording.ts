/**
 * events.ndjson.gz: what each virtual user actually did and when — logons, joins, sends,
 * presence changes, logoffs; not what it received. `imload replay` re-issues exactly that.
 * Each worker writes its own gzip member; the coordinator concatenates them (a multi-member
 * gzip file is one valid gzip stream).
 */
import { createReadStream, createWriteStream, existsSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import type { PresenceState } from './names.js';

/**
 * `u` is the user's population index, `t` ms since the run's start. Sends carry the stamp's `seq`
 * (per sender), so a receipt (`recv`, written by the recipient) matches its send exactly; `sent`
 * is a send's outcome with the recipients the sender's agent counted (`n`), or why it failed.
 * `disconnect` is a connection the user lost (not one imload closed); `error` a failure booked as
 * the server's (each counted error, by kind); `retried` a transaction the deployment retried on
 * another server (a protocol's `retry` metric); `stop` marks the moment the run began stopping, as
 * this worker saw it. Replay reads only the actions.
 */
export type RecordedEvent =
  | { readonly u: number; readonly t: number; readonly k: 'logon' | 'logoff' }
  | { readonly u: number; readonly t: number; readonly k: 'join' | 'part'; readonly ch: string }
  | { readonly u: number; readonly t: number; readonly k: 'message'; readonly to: string; readonly toIndex: number; readonly seq?: number; readonly text?: string }
  | { readonly u: number; readonly t: number; readonly k: 'say'; readonly ch: string; readonly seq?: number; readonly text?: string }
  | { readonly u: number; readonly t: number; readonly k: 'presence'; readonly state: PresenceState }
  | { readonly u: number; readonly t: number; readonly k: 'sent'; readonly seq: number; readonly n: number }
  | { readonly u: number; readonly t: number; readonly k: 'send-failed'; readonly seq: number; readonly reason: string }
  | { readonly u: number; readonly t: number; readonly k: 'recv'; readonly from: number; readonly seq: number; readonly ch?: string }
  | { readonly u: number; readonly t: number; readonly k: 'disconnect'; readonly reason: string }
  | { readonly u: number; readonly t: number; readonly k: 'error'; readonly kind: string }
  | { readonly u: number; readonly t: number; readonly k: 'retried'; readonly metric: string }
  | { readonly u: number; readonly t: number; readonly k: 'stop' };

/** An event without who and when: what the recorder is told. */
export type RecordedAction = RecordedEvent extends infer E ? (E extends RecordedEvent ? Omit<E, 'u' | 't'> : never) : never;

/** A logon burst records thousands of events a second: past this, a batch goes to gzip at once. */
const FLUSH_AT_CHARS = 64 * 1024;

export class EventRecorder {
  private readonly gzip: Gzip;
  private readonly done: Promise<void>;
  /** Once closed, records are dropped: a late callback (a receipt, a cut-off send) must not write after end. */
  private closed = false;

  constructor(readonly path: string) {
    this.gzip = createGzip();
    const out = createWriteStream(path);
    this.gzip.pipe(out);
    this.done = new Promise((resolve, reject) => {
      out.on('finish', resolve);
      out.on('error', reject);
    });
  }

  /**
   * Lines not yet handed to gzip. A write a line was the largest thing a quiet hold kept past a
   * young collection: a chat-20k hold of 2,500 users a worker promoted ~4.9 KB/s recording a
   * line at a time, ~3.5 batched, ~2.9 not recording (`--trace-gc-nvp`, bench/RESULTS.md), and what is promoted is what
   * saw-tooths a long run's old space. The worker hands them over once a second (flush) and at
   * its end; a process killed between loses at most that second, as gzip's own buffer did.
   */
  private batch = '';

  record(event: RecordedEvent): void {
    if (this.closed) return;
    this.batch += `${JSON.stringify(event)}\n`;
    if (this.batch.length >= FLUSH_AT_CHARS) this.flush();
  }

  /** Hands the lines recorded so far to gzip. */
  flush(): void {
    if (this.batch.length === 0 || this.closed) return;
    this.gzip.write(this.batch);
    this.batch = '';
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.flush();
      this.gzip.end();
    }
    this.closed = true;
    return this.done;
  }
}

/** Joins the workers' parts into one events.ndjson.gz and removes the parts. */
export function joinRecordings(parts: readonly string[], path: string): void {
  writeFileSync(path, '');
  for (const part of parts) {
    if (!existsSync(part)) continue;
    appendFileSync(path, readFileSync(part));
    rmSync(part);
  }
}

/** Streams a recording's events in file order to `visit`; a truncated tail is dropped. */
export async function forEachRecordedEvent(path: string, visit: (event: RecordedEvent) => void): Promise<void> {
  const lines = createInterface({ input: createReadStream(path).pipe(createGunzip()), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (!line) continue;
      let event: RecordedEvent;
      try {
        event = JSON.parse(line) as RecordedEvent;
      } catch {
        break; // the generator died mid-line
      }
      visit(event);
    }
  } catch (error) {
    // A recording cut off by a killed run ends with a truncated gzip member: keep what was read.
    if ((error as NodeJS.ErrnoException).code !== 'Z_BUF_ERROR') throw error;
  }
}

/** Reads a recording, grouped by user and sorted by time; a truncated tail is dropped. */
export async function readRecording(path: string): Promise<Map<number, RecordedEvent[]>> {
  const byUser = new Map<number, RecordedEvent[]>();
  await forEachRecordedEvent(path, (event) => {
    let list = byUser.get(event.u);
    if (!list) byUser.set(event.u, (list = []));
    list.push(event);
  });
  for (const list of byUser.values()) list.sort((a, b) => a.t - b.t);
  return byUser;
}
