/**
 * A worker process: runs its part of the population and ships a metrics snapshot every second.
 * Started by the coordinator with an IPC channel; never run by hand. Everything it holds is in
 * its `WorkerProcess` (worker-process.ts); this file only wires the process to it.
 */
import type { ToWorker } from './messages.js';
import { WorkerProcess } from './worker-process.js';

const worker = new WorkerProcess({
  send: (message) => process.send?.(message),
  connected: () => process.connected,
  writeError: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
  debug: Boolean(process.env.IMLOAD_DEBUG),
});

// Ctrl-C reaches the whole process group; the coordinator decides how the run stops.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('uncaughtException', (thrown: unknown) => worker.internalError(thrown));
process.on('message', (message: ToWorker) => worker.receive(message));
process.on('disconnect', () => worker.disconnected());
