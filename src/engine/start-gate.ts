/**
 * A start gate: several runs started together (the segments of one run, the lab's nine runs of a
 * plan) start their clocks at one moment chosen once every one of them is ready, instead of at a
 * `--start-at` guessed ahead of time. It is a directory both sides can see: each run, once its
 * workers have loaded and built their users, writes `ready-<pid>` there and waits for `start`;
 * whoever started the runs (src/lab/netns.ts, or a person on hosts sharing the directory) writes
 * `start` — an epoch time in ms — once all are ready. Files, not a socket: the runs may be in
 * other network namespaces, and a person can open the gate with `echo`.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

const START_FILE = 'start';
const READY_PREFIX = 'ready-';
/**
 * Who will open the gate (StartGate writes it; a gate opened by hand has none): a run waiting on
 * this host sees when that process has died without opening it — the lab killed outright leaves
 * its runs behind in their namespaces, and they would otherwise wait out the whole timeout.
 */
const OPENER_FILE = 'opener';
/** Runs of this process that waited at a gate: a second run in one process (tests, the API) gets a ready file of its own. */
let readyFiles = 0;
/**
 * How often the waiting side looks for the file it waits for. A run's start message reaches its
 * workers in well under the half second the opener leaves (nextClockStart), so 25 ms of polling
 * costs nothing that matters; fs.watch is not reliable on every file system a gate may be on.
 */
const POLL_MS = 25;

/** The gate was not opened in time, or its start file does not hold a time. */
export class StartGateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartGateError';
  }
}

/** The next whole second at least half a second away: time for the start message to reach every worker. */
export function nextClockStart(now = Date.now()): number {
  return Math.ceil((now + 500) / 1000) * 1000;
}

/** Writes a file whole or not at all (the other side polls for it). */
function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function readStart(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, START_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The time in the gate's start file, or undefined while there is none. */
function startTime(dir: string): number | undefined {
  // Empty: a person's `echo > start` has created the file and not yet written to it.
  const text = readStart(dir)?.trim();
  if (text === undefined || text === '') return undefined;
  const at = Number(text);
  if (!Number.isSafeInteger(at) || at <= 0) throw new StartGateError(`the start gate's ${join(dir, START_FILE)} holds "${text.slice(0, 40)}", not an epoch time in ms`);
  return at;
}

/** Why a gate nobody will open is abandoned, or undefined while it may still open. */
function abandoned(dir: string, opener: { host: string; pid: number } | undefined): string | undefined {
  if (!existsSync(dir)) return `the start gate ${dir} was removed before it opened (whoever started the runs sharing it has ended)`;
  if (opener === undefined || opener.host !== hostname()) return undefined;
  try {
    process.kill(opener.pid, 0);
    return undefined;
  } catch (error) {
    // EPERM: alive, someone else's.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') return undefined;
    return `the process that opens the start gate ${dir} (pid ${opener.pid}) has exited without opening it`;
  }
}

function readOpener(dir: string): { host: string; pid: number } | undefined {
  try {
    const opener = JSON.parse(readFileSync(join(dir, OPENER_FILE), 'utf8')) as { host?: unknown; pid?: unknown };
    return typeof opener.host === 'string' && Number.isSafeInteger(opener.pid) ? { host: opener.host, pid: opener.pid as number } : undefined;
  } catch {
    return undefined;
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The run's side: says this process is ready, then waits for the gate to open. Resolves with the
 * start time written, or undefined when `signal` aborted first; throws StartGateError when the
 * gate stays shut for `timeoutMs`, its start file holds no time, or nobody is left to open it (the
 * directory removed, or the opener's process on this host gone).
 */
export async function waitAtStartGate(dir: string, options: { signal?: AbortSignal; timeoutMs: number }): Promise<number | undefined> {
  try {
    writeAtomically(join(dir, `${READY_PREFIX}${process.pid}.${++readyFiles}`), `${Date.now()}\n`);
  } catch (error) {
    throw new StartGateError(`cannot write to the start gate ${dir}: ${(error as Error).message}`);
  }
  const deadline = Date.now() + options.timeoutMs;
  const opener = readOpener(dir);
  for (;;) {
    if (options.signal?.aborted) return undefined;
    // Looked for before the start file: an opener that writes it and exits between the two looks has opened the gate.
    const gone = abandoned(dir, opener);
    const at = startTime(dir);
    if (at !== undefined) return at;
    if (gone !== undefined) throw new StartGateError(gone);
    if (Date.now() >= deadline) throw new StartGateError(`the start gate ${dir} was not opened within ${Math.round(options.timeoutMs / 1000)} s (the other runs sharing it never all became ready)`);
    await pause(POLL_MS, options.signal);
  }
}

/**
 * The starting side: a gate for runs this process starts. `expect` each run, `ended` each one that
 * exits (a run that fails before it is ready never writes its ready file), then `openWhenReady`.
 */
export class StartGate {
  readonly dir: string;
  private expected = 0;
  private readonly endedPids = new Set<number>();

  constructor(dir = mkdtempSync(join(tmpdir(), 'imload-gate-'))) {
    this.dir = dir;
    writeAtomically(join(dir, OPENER_FILE), `${JSON.stringify({ host: hostname(), pid: process.pid })}\n`);
  }

  /** `count` more runs will wait at this gate. */
  expect(count: number): void {
    this.expected += count;
  }

  /** A run (by its process id) exited: it no longer needs to be ready for the gate to open. */
  ended(pid: number | undefined): void {
    if (pid !== undefined) this.endedPids.add(pid);
  }

  /** Runs ready, or gone without being ready. */
  private accountedFor(): number {
    const ready = readdirSync(this.dir).filter((name) => name.startsWith(READY_PREFIX) && !name.endsWith('.tmp'));
    const readyPids = new Set(ready.map((name) => Number.parseInt(name.slice(READY_PREFIX.length), 10)));
    let gone = 0;
    for (const pid of this.endedPids) if (!readyPids.has(pid)) gone++;
    return ready.length + gone;
  }

  /**
   * Opens the gate once every expected run is ready or gone, or once `timeoutMs` has passed (a
   * run still loading then starts late and its journal says so: `start-late`): writes the start
   * time, the next whole second at least half a second away. Returns it, and how many runs were
   * neither ready nor gone when it opened.
   */
  async openWhenReady(options: { timeoutMs: number; signal?: AbortSignal }): Promise<{ readonly at: number; readonly notReady: number }> {
    const deadline = Date.now() + options.timeoutMs;
    while (this.accountedFor() < this.expected && Date.now() < deadline && !options.signal?.aborted) await pause(POLL_MS, options.signal);
    const notReady = Math.max(0, this.expected - this.accountedFor());
    const at = nextClockStart();
    writeAtomically(join(this.dir, START_FILE), `${at}\n`);
    return { at, notReady };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
