/**
 * Live outputs (`imload run --out kind=target`, docs/outputs.md): the k6 shape. The coordinator
 * calls `start` once with the journal header, `addSecond` once per journaled second (the same
 * JournalSecond it appends to journal.ndjson, never blocked on: an output buffers and sends in
 * the background), and `stop` once at the end (flush what is left). A live page is one more
 * subscriber of the same shape.
 */
import type { JournalEntry, JournalHeader, JournalSecond } from '../metrics/journal.js';

export interface Output {
  /** Shown in messages: `prometheus=http://…`. */
  readonly description: string;
  /** Before the first second; may open connections. A rejection stops the run before it starts. */
  start(header: JournalHeader): Promise<void>;
  /** One journaled second; synchronous and cheap (queue the work). */
  addSecond(second: JournalSecond): void;
  /** Optional: every journal entry in order (header, notes, seconds, steps, faults, end), after it is appended. */
  addEntry?(entry: JournalEntry): void;
  /** After the last second (and the end entry); flush and close. Never rejects: errors are reported in the result. */
  stop(end?: { readonly reason: string }): Promise<OutputStopResult>;
}

/** Where an output's run stands among the runs of one command (`run --repeat`). */
export interface OutputContext {
  /** Labels every point carries besides run, scenario, protocol and segment (`repeat`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** A later run of the same command: a json file is written on after the earlier runs' seconds, not emptied. */
  readonly continuing?: boolean;
}

export interface OutputStopResult {
  /** Seconds delivered and failed; a failure's message (the first). */
  readonly sent: number;
  readonly failed: number;
  readonly error?: string;
}

/** The coordinator's list of per-second subscribers: every call goes to each; one failing never stops the others. */
export class OutputSet {
  constructor(readonly outputs: readonly Output[]) {}

  async start(header: JournalHeader): Promise<void> {
    await Promise.all(this.outputs.map((o) => o.start(header)));
  }

  addSecond(second: JournalSecond): void {
    for (const o of this.outputs) {
      try {
        o.addSecond(second);
      } catch {
        // An output's own fault never stops the run; its stop() reports it.
      }
    }
  }

  addEntry(entry: JournalEntry): void {
    for (const o of this.outputs) {
      try {
        o.addEntry?.(entry);
      } catch {
        // as above
      }
    }
  }

  private stopping?: Promise<Array<OutputStopResult & { readonly description: string }>>;

  /** Once: later calls return the first call's results. */
  stop(end?: { readonly reason: string }): Promise<Array<OutputStopResult & { readonly description: string }>> {
    this.stopping ??= Promise.all(this.outputs.map(async (o) => ({ description: o.description, ...(await o.stop(end).catch((e: Error) => ({ sent: 0, failed: 1, error: e.message }))) })));
    return this.stopping;
  }
}
