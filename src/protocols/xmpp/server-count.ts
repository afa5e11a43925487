/** ejabberd's own online count: `ejabberdctl connected_users_number` (sessions with a bound resource). */
import { execFile } from 'node:child_process';

/**
 * `command` is the ejabberdctl command line the lab (or the scenario's `options.ejabberdctl`)
 * gives, words separated by spaces, e.g. `/usr/sbin/ejabberdctl --config-dir /tmp/x --node ejabberd@localhost`.
 */
export function ejabberdOnlineCount(command: string, _options: Readonly<Record<string, unknown>>, timeoutMs = 8000): Promise<number | undefined> {
  const [binary, ...args] = command.split(/\s+/).filter((w) => w !== '');
  return new Promise((resolve) => {
    execFile(binary!, [...args, 'connected_users_number'], { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout) => {
      const match = /^\s*(\d+)\s*$/.exec(stdout ?? '');
      resolve(error || !match ? undefined : Number(match[1]));
    });
  });
}
