/**
 * The heap an IRC worker's channel rosters take at a network's scale, without servers: one
 * worker's share of the users (round-robin over `--workers`), spread by range over `--servers`,
 * each in 1–3 of `--channels` channels drawn at random; users log on in index order, and every
 * join is applied as the worker sees it — the joiner's own NAMES (every member so far) and a
 * JOIN for each of the worker's views of the channel, each nick a fresh string as parsed off a
 * line. Prints the heap held after a full GC per local user.
 *
 * `--tree DIR` measures another checkout's channels.ts (e.g. the code before a change); each
 * variant runs in a fresh process, interleaved `--rounds` times:
 *
 *   node --import tsx bench/irc-roster-memory.bench.ts [--tree /tmp/before] [--users 100000] [--workers 7] [--servers 6] [--channels 5000] [--rounds 2]
 */
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({
  options: {
    tree: { type: 'string' },
    users: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '7' },
    servers: { type: 'string', default: '6' },
    channels: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '2' },
    /** Internal: measure one tree in this process. */
    measure: { type: 'string' },
  },
});
const users = Number(values.users);
const workers = Number(values.workers);
const servers = Number(values.servers);
const channels = Number(values.channels);

/** What both versions of channels.ts offer, adapted: a user's view of one channel. */
interface View {
  addName(entry: string, features: unknown): void;
}

async function measure(tree: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the measuring child with --expose-gc');
  const module = (await import(pathToFileURL(resolve(tree, 'src/protocols/irc/channels.ts')).href)) as Record<string, unknown>;
  const { ServerFeatures } = (await import(pathToFileURL(resolve(tree, 'src/protocols/irc/features.ts')).href)) as { ServerFeatures: new () => unknown };
  const SharedRosters = module.SharedRosters as new (servers?: number) => unknown;
  const ChannelView = module.ChannelView as new (assignment: unknown, rosters: unknown, key: string, server?: number) => View;
  // The bit-per-server version takes the server count and the user's server; the older one had a roster set per server.
  const shared = 'SERVERS_PER_ROSTER' in module;
  const features = new ServerFeatures();
  let seed = 19;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const serverOf = (index: number) => Math.min(servers - 1, Math.floor((index * servers) / users));
  const nick = (index: number) => `u${String(index + 1).padStart(6, '0')}`;

  gc();
  const before = process.memoryUsage().heapUsed;
  const rosterSets = shared ? [new SharedRosters(servers)] : Array.from({ length: servers }, () => new SharedRosters());
  const members = Array.from({ length: channels }, () => [] as number[]);
  /** Per channel, the worker's users' views in it by server: a JOIN reaches every one of them. */
  const local = Array.from({ length: channels }, () => new Map<number, View[]>());
  const views: View[] = [];
  let localUsers = 0;
  for (let index = 0; index < users; index++) {
    const mine = index % workers === 0;
    if (mine) localUsers++;
    const server = serverOf(index);
    const count = 1 + Math.floor(random() * 3);
    const joined = new Set<number>();
    for (let k = 0; k < count; k++) joined.add(Math.floor(random() * channels));
    for (const channel of joined) {
      // The JOIN, seen by each of the worker's views of the channel (on every server).
      for (const onServer of local[channel]!.values()) for (const view of onServer) view.addName(nick(index), features);
      members[channel]!.push(index);
      if (!mine) continue;
      const key = `#room-${channel}`;
      const view = shared ? new ChannelView(undefined, rosterSets[0], key, server) : new ChannelView(undefined, rosterSets[server], key);
      for (const member of members[channel]!) view.addName(nick(member), features);
      views.push(view);
      const onServer = local[channel]!.get(server) ?? [];
      onServer.push(view);
      local[channel]!.set(server, onServer);
    }
  }
  // What only the simulation holds (member lists, the views' index) is not the worker's cost.
  members.length = 0;
  local.length = 0;
  gc();
  const held = process.memoryUsage().heapUsed - before;
  console.log(
    JSON.stringify({ tree, shared, users, workers, servers, channels, localUsers, views: views.length, rosterSets: rosterSets.length, heapBytes: held, bytesPerLocalUser: Math.round(held / localUsers) }),
  );
}

if (values.measure) {
  await measure(values.measure);
} else {
  const here = resolve(import.meta.dirname, '..');
  const trees = values.tree ? [resolve(values.tree), here] : [here];
  console.log(`irc roster memory: ${users} users, ${workers} workers (one measured), ${servers} servers, ${channels} channels, 1-3 per user`);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const tree of trees) {
      const args = ['--expose-gc', '--import', 'tsx', resolve(here, 'bench/irc-roster-memory.bench.ts'), '--measure', tree];
      args.push('--users', String(users), '--workers', String(workers), '--servers', String(servers), '--channels', String(channels));
      process.stdout.write(execFileSync(process.execPath, args, { encoding: 'utf8', cwd: here }));
    }
  }
}
