/**
 * The virtual user a script drives: YAML flows and TypeScript user functions both go through
 * this object, so a scripted send is stamped, timed, recorded and counted exactly like a
 * scheduled one. Its randomness comes from the user's own seeded stream.
 */
import type { PresenceState } from '../protocols/types.js';
import { Random } from '../scenarios/random.js';
import type { ThinkTime } from '../scenarios/flow-schema.js';
import type { ScriptEvent } from './expectations.js';
import type { VuScript } from './vu-script.js';

export interface ExpectMessage {
  readonly from?: string;
  readonly channel?: string;
  readonly contains?: string;
  /** Milliseconds to wait. */
  readonly within: number;
}

export interface ExpectPresence {
  readonly contact: string;
  readonly state?: PresenceState;
  readonly within: number;
}

export class Vu {
  private readonly rng: Random;

  constructor(private readonly script: VuScript) {
    this.rng = new Random(script.runSeed, script.identity.index, 'script');
  }

  /** User name, e.g. u000001. */
  get name(): string {
    return this.script.identity.name;
  }

  /** Index in the population (0-based). */
  get index(): number {
    return this.script.identity.index;
  }

  get contacts(): readonly string[] {
    return this.script.identity.contacts;
  }

  /** Uniform in [0, 1), from this user's seeded stream: the same every run with the same seed. */
  random(): number {
    return this.rng.next();
  }

  /** Logs on; resolves true once the user is ready. */
  logon(): Promise<boolean> {
    return this.script.logonNow();
  }

  logoff(): Promise<void> {
    return this.script.logoff();
  }

  join(channel: string): Promise<boolean> {
    return this.script.joinChannel(channel);
  }

  part(channel: string): Promise<void> {
    return this.script.partChannel(channel);
  }

  /** Says `text` in a channel the user joined; delivery to every member is measured. */
  async say(channel: string, text: string): Promise<void> {
    const assignment = this.script.channelNamed(channel);
    if (!assignment) {
      this.script.error('not-in-channel', `say in ${channel}, which ${this.name} has not joined`);
      return;
    }
    await this.script.act({ kind: 'say', at: this.script.sinceStart(), channel: assignment, text });
  }

  /** Sends an instant message; `to` is a user name (e.g. one of `contacts`). */
  async message(to: string, text: string): Promise<void> {
    await this.script.act({ kind: 'message', at: this.script.sinceStart(), to, toIndex: this.script.indexOf(to), text });
  }

  async presence(state: 'online' | 'away' | 'busy'): Promise<void> {
    await this.script.act({ kind: 'presence', at: this.script.sinceStart(), state });
  }

  /** Waits: a fixed time in ms, uniform between min and max, or exponential around a mean. */
  think(time: number | ThinkTime): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.thinkMs(time)));
  }

  thinkMs(time: number | ThinkTime): number {
    if (typeof time === 'number') return time;
    if ('mean' in time) return this.rng.exponential(1 / Math.max(1, time.mean));
    return time.min + this.rng.next() * Math.max(0, time.max - time.min);
  }

  /** Waits for a message; false (and an `expect-timeout` error) if none matches in time. */
  expectMessage(expected: ExpectMessage): Promise<boolean> {
    return this.script.expect(
      (e: ScriptEvent) =>
        e.kind === 'message' &&
        (expected.from === undefined || e.from === expected.from) &&
        (expected.channel === undefined || e.channel?.toLowerCase() === expected.channel.toLowerCase()) &&
        (expected.contains === undefined || e.text.includes(expected.contains)),
      expected.within,
    );
  }

  expectPresence(expected: ExpectPresence): Promise<boolean> {
    return this.script.expect(
      (e: ScriptEvent) => e.kind === 'presence' && e.contact === expected.contact && (expected.state === undefined || e.state === expected.state),
      expected.within,
    );
  }
}
