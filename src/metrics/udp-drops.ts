import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Datagrams the kernel dropped on this process's own UDP sockets (receive buffer full): answers a
 * server sent that imload's host lost before imload read them. Whatever protocol opened the
 * sockets, a drop there is the generator's loss, not the server's (docs/metrics.md § Generator
 * health). Linux only: elsewhere, or where /proc cannot be read, it counts nothing.
 *
 * Why it reads /proc/self/net/udp{,6} every second but this process's descriptors only when a
 * socket it has not placed yet shows drops: the tables list every UDP socket of the network
 * namespace (a few lines: the lab servers' and imload's), while a worker may hold 20,000
 * descriptors (IRC), and resolving each one every second would cost more than the sample.
 * Measured here: ~0.2 ms a sample (the kernel walks its whole UDP hash table to print the two
 * short tables), so ~0.02 % of a worker's core at one sample a second.
 */
export class OwnUdpDrops {
  /** Socket inode → whether it is this process's, and the drops already counted (its counter is cumulative). */
  private readonly sockets = new Map<string, { own: boolean; counted: number }>();

  constructor(
    private readonly tables: readonly string[] = ['/proc/self/net/udp', '/proc/self/net/udp6'],
    private readonly ownSocketInodes: () => ReadonlySet<string> = socketInodesOfThisProcess,
  ) {}

  /** Drops on this process's UDP sockets since the last call (since construction, on the first). */
  sample(): number {
    const listed = new Map<string, number>();
    for (const table of this.tables) readDrops(table, listed);
    let owned: ReadonlySet<string> | undefined;
    let dropped = 0;
    for (const [inode, drops] of listed) {
      let socket = this.sockets.get(inode);
      if (!socket) {
        // A socket without drops is placed only once it has some: most never will.
        if (drops === 0) continue;
        owned ??= this.ownSocketInodes();
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

/** The inodes of this process's sockets: its descriptors that link to `socket:[inode]`. */
function socketInodesOfThisProcess(): ReadonlySet<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
    } catch {
      // Closed between the listing and the link: not a socket we hold.
    }
  }
  return inodes;
}
