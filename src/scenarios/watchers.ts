/**
 * Who watches whom: every user's contact list inverted (compressed rows, an offset per user into
 * one array). Presence accounting needs it at the first presence change, and building it draws
 * every user's contacts from the seeded generator: 0.2 s of CPU at 100,000 users in an idle
 * process. Built at that moment, in every worker at once and keeping each user's list until the
 * end, it coincided with the pool runs' event-loop stalls at the start of the hold (0.85–1.4 s in
 * one run, 1.9 s in another; heap +45 MB in that second, scavenges of 100 ms). A worker now builds
 * it a slice of users per event-loop turn as the run starts, copying each list into one typed
 * array, and only what is left when it is first needed is done at once.
 *
 * A worker asks only for its own users' watchers (a user's presence change is counted by the
 * worker that runs the user), so it inverts only the edges that point at them: at 101,000 users
 * and 20 contacts in six workers, a worker's index went from 8.4 MiB to 1.8 MiB, and the drawn
 * lists (another 8 MiB while building) are let go once inverted.
 */

export interface WatcherIndex {
  readonly offsets: Int32Array;
  readonly watchers: Int32Array;
}

export class WatcherIndexBuilder {
  /** Each user's contacts, `perUser` slots a user (unused slots stay -1); emptied once inverted. */
  private contacts: Int32Array;
  private next = 0;
  private built: WatcherIndex | undefined;

  constructor(
    private readonly users: number,
    private readonly perUser: number,
    private readonly contactsOf: (user: number) => readonly number[],
    /** The users whose watchers will be asked for (all when absent): only edges to them are kept. */
    private readonly kept?: (user: number) => boolean,
  ) {
    this.contacts = new Int32Array(users * perUser).fill(-1);
  }

  get done(): boolean {
    return this.built !== undefined;
  }

  /** Draws the contacts of up to `count` more users; inverts them all once every user is drawn. */
  step(count: number): void {
    if (this.built !== undefined) return;
    const end = Math.min(this.users, this.next + count);
    for (let user = this.next; user < end; user++) {
      const drawn = this.contactsOf(user);
      for (let i = 0; i < drawn.length && i < this.perUser; i++) this.contacts[user * this.perUser + i] = drawn[i]!;
    }
    this.next = end;
    if (end === this.users) {
      this.built = this.invert();
      this.contacts = new Int32Array(0);
    }
  }

  /** The whole index, finishing the build first if need be. */
  index(): WatcherIndex {
    this.step(this.users);
    return this.built!;
  }

  /** Users who have `user` among their contacts; only for a kept user (an empty list otherwise would be a lie). */
  watchersOf(user: number): Int32Array {
    if (this.kept && !this.kept(user)) throw new Error(`watchers of user ${user} were not kept by this index`);
    const { offsets, watchers } = this.index();
    return watchers.subarray(offsets[user]!, offsets[user + 1]!);
  }

  /** Builds the index a slice of users at a time, yielding to the event loop between slices. */
  async buildInSlices(sliceUsers: number): Promise<void> {
    while (!this.done) {
      this.step(sliceUsers);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private invert(): WatcherIndex {
    const { users, perUser, contacts, kept } = this;
    const offsets = new Int32Array(users + 1);
    for (let i = 0; i < contacts.length; i++) {
      const contact = contacts[i]!;
      if (contact < 0) continue;
      if (kept && !kept(contact)) contacts[i] = -1;
      else offsets[contact + 1]!++;
    }
    for (let u = 0; u < users; u++) offsets[u + 1]! += offsets[u]!;
    const watchers = new Int32Array(offsets[users]!);
    const fill = offsets.slice(0, users);
    for (let i = 0; i < contacts.length; i++) {
      const contact = contacts[i]!;
      if (contact >= 0) watchers[fill[contact]!++] = Math.floor(i / perUser);
    }
    return { offsets, watchers };
  }
}
