/** Helpers the protocols' lab starters share to describe a started lab as a `LabTarget`. */
import type { LabServer, LabTarget } from './types.js';

/** Listeners of one process share its pid: each process once. */
export function distinctPids(servers: readonly LabServer[]): number[] {
  return [...new Set(servers.map((s) => s.pid))];
}

/** A single-process server that can be killed and started again on its port. */
export function restartable(first: LabServer, start: (port: number) => Promise<LabServer>): Pick<LabTarget, 'stop' | 'serverPids' | 'outage'> {
  let current: LabServer | undefined = first;
  const port = first.port;
  return {
    serverPids: () => (current ? [current.pid] : []),
    stop: async () => {
      await current?.stop();
      current = undefined;
    },
    outage: {
      down: async () => {
        await current?.stop();
        current = undefined;
      },
      up: async () => {
        current ??= await start(port);
      },
    },
  };
}
