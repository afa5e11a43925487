import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { LabError } from './types.js';

export interface ForegroundProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  stop(graceMs?: number): Promise<void>;
  /** Last lines of the server's log, for error messages. */
  tail(lines?: number): string;
}

/**
 * Starts a server in the foreground with stdin from /dev/null and stdout+stderr to a log file.
 * All three must be redirected: a server that inherits a pipe keeps the caller's subshell open
 * (lab-results.md § 3 gotcha 6). Detached puts it in its own process group so Ctrl-C on the
 * terminal reaches imload first and imload stops the server cleanly.
 */
export function startForeground(
  kind: string,
  command: string,
  args: string[],
  logFile: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ForegroundProcess {
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', out, out],
      detached: true,
    });
  } finally {
    closeSync(out);
  }
  if (child.pid === undefined) {
    throw new LabError(`could not start ${command}`, kind);
  }
  // The server must not keep imload alive, but must not outlive it either (unless kept for `lab up`).
  child.unref();
  running.add(child);
  child.once('exit', () => running.delete(child));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', () => resolve('spawn-error'));
  });
  const tail = (lines = 15) => {
    if (!existsSync(logFile)) return '';
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  };
  const pid = child.pid;
  const stop = async (graceMs = 3000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Hold the event loop while stopping: the child is unref'd so it never keeps imload alive.
    child.ref();
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      signalGroup(pid, 'SIGKILL');
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
    const outcome = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      signalGroup(pid, 'SIGKILL');
      await exited;
    }
    // Servers that fork workers (Kamailio) leave them in the group: none may outlive the server.
    signalGroup(pid, 'SIGKILL');
  };
  return { child, pid, logFile, exited, stop, tail };
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
});

/** Signals a detached server's whole process group (its pid is the group id). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Lets a server outlive this process (`imload lab up`); it is then stopped by PID. */
export function keepRunning(process: ForegroundProcess): void {
  running.delete(process.child);
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether an executable is on PATH (or is an existing absolute path). */
export function which(command: string): string | undefined {
  if (command.startsWith('/')) return existsSync(command) ? command : undefined;
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const path = `${dir}/${command}`;
    if (existsSync(path)) return path;
  }
  for (const dir of ['/usr/sbin', '/sbin']) {
    if (existsSync(`${dir}/${command}`)) return `${dir}/${command}`;
  }
  return undefined;
}

/** The soft "Max open files" of a process, from /proc: caps how many clients one server process holds. */
export function readFdLimit(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const value = line?.split(/\s{2,}/)[1];
    return value && /^\d+$/.test(value) ? Number(value) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits until a started server serves clients: `probe` (a real client exchange, not a port
 * check) is tried until it resolves, every `retryMs`, each try given at most `attemptMs`; fails
 * as soon as the process exits, or with the last probe's error after `timeoutMs`.
 */
export async function waitUntilReady(
  proc: ForegroundProcess,
  probe: (timeoutMs: number) => Promise<void>,
  { timeoutMs, attemptMs = 5000, retryMs = 100 }: { timeoutMs: number; attemptMs?: number; retryMs?: number },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | string | undefined;
  void proc.exited.then((code) => (exitCode = code));
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`the server exited (${exitCode})`);
    try {
      await probe(Math.min(attemptMs, deadline - Date.now()));
      return;
    } catch (error) {
      lastError = (error as Error).message;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
  throw new Error(`not ready within ${timeoutMs} ms (${lastError})`);
}
