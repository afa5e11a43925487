import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Datagrams the kernel dropped on some processes' UDP sockets (receive buffer full): what was
 * sent to them that their host lost before they read it. For imload's own workers
 * (`ofThisProcess`): answers a server sent that imload's host lost — whatever protocol opened the
 * sockets, the generator's loss, not the server's (docs/metrics.md § Generator health). For the
 * lab server's processes (`ofProcesses`): what the server did not read in time. Linux only:
 * elsewhere, or where /proc cannot be read, it counts nothing.
 *
 * Why it reads the network namespace's /proc/…/net/udp{,6} every second but the processes'
 * descriptors only when a socket it has not placed yet shows drops: the tables list every UDP
 * socket of the namespace (a few lines: the lab servers' and imload's), while a worker may hold
 * 20,000 descriptors (IRC), and resolving each one every second would cost more than the sample.
 * Measured here: ~0.2 ms a sample (the kernel walks its whole UDP hash table to print the two
 * short tables), so ~0.02 % of a core at one sample a second.
 */
export class UdpSocketDrops {
  /** Socket inode → whether it is one of the processes', and the drops already counted (its counter is cumulative). */
  private readonly sockets = new Map<string, { own: boolean; counted: number }>();

  /** `tables`: the namespace's UDP tables; `socketInodes`: the inodes of the processes' sockets now. */
  constructor(
    private readonly tables: () => readonly string[],
    private readonly socketInodes: () => ReadonlySet<string>,
  ) {}

  /** This process's sockets (a worker's). */
  static ofThisProcess(): UdpSocketDrops {
    return new UdpSocketDrops(() => NAMESPACE_TABLES('self'), () => socketInodesOf(['self']));
  }

  /** The sockets of `pids()` (a lab server's process tree, in the first one's namespace); nothing while it is empty. */
  static ofProcesses(pids: () => readonly number[]): UdpSocketDrops {
    return new UdpSocketDrops(
      () => {
        const first = pids()[0];
        return first === undefined ? [] : NAMESPACE_TABLES(String(first));
      },
      () => socketInodesOf(pids().map(String)),
    );
  }

  /** Drops on the processes' UDP sockets since the last call (since construction, on the first). */
  sample(): number {
    const listed = new Map<string, number>();
    for (const table of this.tables()) readDrops(table, listed);
    let owned: ReadonlySet<string> | undefined;
    let dropped = 0;
    for (const [inode, drops] of listed) {
      let socket = this.sockets.get(inode);
      if (!socket) {
        // A socket without drops is placed only once it has some: most never will.
        if (drops === 0) continue;
        owned ??= this.socketInodes();
        socket = { own: owned.has(inode), counted: 0 };
        this.sockets.set(inode, socket);
      }
      if (socket.own && drops > socket.counted) dropped += drops - socket.counted;
      socket.counted = drops;
    }
    // A closed socket's inode may be reused by another.
    for (const inode of this.sockets.keys()) if (!listed.has(inode)) this.sockets.delete(inode);
    return dropped;
  }
}

const NAMESPACE_TABLES = (pid: string): string[] => [`/proc/${pid}/net/udp`, `/proc/${pid}/net/udp6`];

/** Columns of /proc/net/udp after the header: … `inode` is the 10th, `drops` the 13th (the last). */
const INODE_COLUMN = 9;
const DROPS_COLUMN = 12;

function readDrops(table: string, into: Map<string, number>): void {
  let text: string;
  try {
    text = readFileSync(table, 'latin1');
  } catch {
    return;
  }
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const columns = lines[i]!.trim().split(/\s+/);
    if (columns.length <= DROPS_COLUMN) continue;
    into.set(columns[INODE_COLUMN]!, Number(columns[DROPS_COLUMN]));
  }
}

/** The inodes of the processes' sockets: their descriptors that link to `socket:[inode]`. */
function socketInodesOf(pids: readonly string[]): ReadonlySet<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
      } catch {
        // Closed between the listing and the link: not a socket it holds.
      }
    }
  }
  return inodes;
}
