/**
 * A worker process: runs its part of the population (a `WorkerRun`) and ships a metrics snapshot
 * every second. Started by the coordinator with an IPC channel; never run by hand.
 */
import type { FromWorker, ToWorker } from './messages.js';
import { WorkerRun } from './worker-run.js';

const send = (message: FromWorker) => process.send?.(message);

// Ctrl-C reaches the whole process group; the coordinator decides how the run stops.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

const run = new WorkerRun(send);
let workerIndex: number | undefined;

// A bug that escapes a socket or timer callback (in an agent or a user script): the coordinator
// stops the run as failed, naming it, while this worker logs its users off and ships what it
// measured, rather than dying with its last second and its users' sessions.
// Only the first is reported: a bug on a hot path would otherwise throw once per datagram.
let internalErrorReported = false;
process.on('uncaughtException', (thrown: unknown) => {
  if (internalErrorReported) return;
  internalErrorReported = true;
  // Anything can be thrown (a string has no name, message or stack); Node wraps an unhandled
  // rejection's non-Error reason in an Error itself.
  const error = thrown instanceof Error ? thrown : new Error(String(thrown));
  const where = workerIndex === undefined ? 'worker' : `worker ${workerIndex}`;
  const debug = process.env.IMLOAD_DEBUG ? `\n${error.stack}` : '';
  process.stderr.write(`imload: internal error in ${where}: ${error.message}${debug}\n`);
  // After the coordinator has disconnected (the run is over) there is nobody left to tell.
  if (process.connected) send({ type: 'fatal', kind: 'internal-error', message: `${where}: ${error.name}: ${error.message}` });
});

process.on('message', (message: ToWorker) => {
  if (message.type === 'init') {
    workerIndex = message.worker;
    void run.init(message).catch(fatal);
  } else if (message.type === 'stop') void run.stop().catch(fatal);
  else if (message.type === 'query-online') send({ type: 'online', id: message.id, count: run.online });
});
process.on('disconnect', () => {
  // The coordinator is gone (killed): drop everything rather than linger as an orphan.
  run.destroyAll();
  process.exit(0);
});

function fatal(error: unknown): void {
  send({ type: 'fatal', kind: (error as { kind?: string }).kind ?? 'worker-error', message: (error as Error).message });
}
