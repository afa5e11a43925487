/**
 * Kamailio's own count of registered users, read over its ctl socket with `kamcmd`
 * (`stats.get_statistics registered_users`, printed as `usrloc:registered_users = N`), to cross-check the harness's online count.
 */
import { execFile } from 'node:child_process';

const QUERY_TIMEOUT_MS = 5000;

/** Raised when kamcmd fails or prints something other than the statistic. */
export class KamcmdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KamcmdError';
  }
}

/** `ctl` is a kamcmd -s address: `unixs:/path`, `tcp:host:port`, or a bare socket path. */
export function registeredUsers(kamcmd: string, ctl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      kamcmd,
      ['-s', ctl, 'stats.get_statistics', 'registered_users'],
      { timeout: QUERY_TIMEOUT_MS },
      (error, stdout, stderr) => {
        if (error) {
          reject(new KamcmdError(`kamcmd -s ${ctl}: ${stderr.trim() || error.message}`));
          return;
        }
        const count = parseRegisteredUsers(stdout);
        if (count === undefined) reject(new KamcmdError(`unexpected kamcmd output: ${stdout.slice(0, 200)}`));
        else resolve(count);
      },
    );
  });
}

/** Reads `usrloc:registered_users = N` from kamcmd's output. */
function parseRegisteredUsers(output: string): number | undefined {
  const match = /usrloc:registered_users\s*=\s*(\d+)/.exec(output);
  return match ? Number(match[1]) : undefined;
}
