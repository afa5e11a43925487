/**
 * What a worker process does with what reaches it: the coordinator's messages, a bug escaping a
 * callback, the coordinator going away. All its state lives here, next to its `WorkerRun`, so a
 * test builds one with a fake process (`WorkerProcessPort`) instead of forking; worker.ts only
 * wires the real process to it.
 */
import type { FromWorker, ToWorker } from './messages.js';
import { WorkerRun, type WorkerRunOptions } from './worker-run.js';

/** The process around the worker: its IPC channel, stderr and exit. */
export interface WorkerProcessPort {
  send(message: FromWorker): void;
  /** Whether the coordinator is still connected (nobody to tell once it is not). */
  connected(): boolean;
  writeError(text: string): void;
  exit(code: number): void;
  /** Print stacks with internal errors (IMLOAD_DEBUG). */
  readonly debug?: boolean;
}

export class WorkerProcess {
  readonly run: WorkerRun;
  /** Which worker the coordinator's init made this one. */
  private workerIndex: number | undefined;
  /** Only the first escaped bug is reported: one on a hot path would throw once per datagram. */
  private internalErrorReported = false;

  constructor(
    private readonly port: WorkerProcessPort,
    options: WorkerRunOptions = {},
  ) {
    this.run = new WorkerRun((message) => port.send(message), options);
  }

  /** A message from the coordinator. */
  receive(message: ToWorker): void {
    if (message.type === 'init') {
      this.workerIndex = message.worker;
      void this.run.init(message).catch((error: unknown) => this.fatal(error));
    } else if (message.type === 'start') this.run.begin(message.startEpochMs);
    else if (message.type === 'stop') void this.run.stop().catch((error: unknown) => this.fatal(error));
    else if (message.type === 'query-online') this.port.send({ type: 'online', id: message.id, count: this.run.online });
  }

  /**
   * A bug that escaped a socket or timer callback (in an agent or a user script): the coordinator
   * stops the run as failed, naming it, while this worker logs its users off and ships what it
   * measured, rather than dying with its last second and its users' sessions.
   */
  internalError(thrown: unknown): void {
    if (this.internalErrorReported) return;
    this.internalErrorReported = true;
    // Anything can be thrown (a string has no name, message or stack); Node wraps an unhandled
    // rejection's non-Error reason in an Error itself.
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    const where = this.workerIndex === undefined ? 'worker' : `worker ${this.workerIndex}`;
    const debug = this.port.debug ? `\n${error.stack}` : '';
    this.port.writeError(`imload: internal error in ${where}: ${error.message}${debug}\n`);
    // After the coordinator has disconnected (the run is over) there is nobody left to tell.
    if (this.port.connected()) this.port.send({ type: 'fatal', kind: 'internal-error', message: `${where}: ${error.name}: ${error.message}` });
  }

  /** The coordinator is gone (killed): drop everything rather than linger as an orphan. */
  disconnected(): void {
    this.run.destroyAll();
    this.port.exit(0);
  }

  private fatal(error: unknown): void {
    this.port.send({ type: 'fatal', kind: (error as { kind?: string }).kind ?? 'worker-error', message: (error as Error).message });
  }
}
