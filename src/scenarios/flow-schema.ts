/**
 * Scripted users: a group's `flow:` is an ordered list of protocol-neutral steps. Text may use
 * {user}, {index}, {contact:N} and {channel:N}. Same schema, same line-precise errors as the
 * rest of scenarios.yaml.
 */
import { z } from 'zod';
import { Duration } from '../metrics/duration.js';

/** A think time: fixed, uniform between min and max, or exponential around a mean. */
export const ThinkTime = z.union(
  [Duration, z.strictObject({ min: Duration, max: Duration }), z.strictObject({ mean: Duration })],
  { error: 'expected a think time: a duration (500ms, 2s), { min, max } or { mean }' },
);
export type ThinkTime = z.infer<typeof ThinkTime>;

const Channel = z.string().min(1);

const expectation = z.strictObject({
  /** A message arriving: from whom, in which channel, containing what (all optional). */
  message: z.strictObject({ from: z.string().optional(), channel: Channel.optional(), contains: z.string().optional() }).optional(),
  /** A watched contact's presence change. */
  presence: z.strictObject({ contact: z.string(), state: z.enum(['online', 'away', 'busy', 'offline']).optional() }).optional(),
  within: Duration,
});

export type FlowStep =
  | { do: 'logon' }
  | { do: 'logoff' }
  | { do: 'join'; channel: string }
  | { do: 'part'; channel: string }
  | { do: 'say'; channel: string; text: string; count: number; every?: ThinkTime }
  | { do: 'message'; to: string; text: string }
  | { do: 'presence'; state: 'online' | 'away' | 'busy' }
  | { do: 'think'; for: ThinkTime }
  | { do: 'loop'; times: number; steps: FlowStep[] }
  | { do: 'expect'; message?: { from?: string; channel?: string; contains?: string }; presence?: { contact: string; state?: 'online' | 'away' | 'busy' | 'offline' }; within: number };

export const FlowStepSchema: z.ZodType<FlowStep, unknown> = z.lazy(() =>
  z.discriminatedUnion('do', [
    z.strictObject({ do: z.literal('logon') }),
    z.strictObject({ do: z.literal('logoff') }),
    z.strictObject({ do: z.literal('join'), channel: Channel }),
    z.strictObject({ do: z.literal('part'), channel: Channel }),
    z.strictObject({
      do: z.literal('say'),
      channel: Channel,
      text: z.string().default('hello from {user}'),
      count: z.number().int().min(1).max(10_000).default(1),
      every: ThinkTime.optional(),
    }),
    z.strictObject({ do: z.literal('message'), to: z.string().min(1), text: z.string().default('hi {contact:0}, this is {user}') }),
    z.strictObject({ do: z.literal('presence'), state: z.enum(['online', 'away', 'busy']) }),
    z.strictObject({ do: z.literal('think'), for: ThinkTime }),
    z.strictObject({ do: z.literal('loop'), times: z.number().int().min(1).max(100_000), steps: z.array(FlowStepSchema).min(1) }),
    expectation.extend({ do: z.literal('expect') }).refine((e) => e.message !== undefined || e.presence !== undefined, {
      message: 'expect needs a message or a presence to wait for',
    }),
  ]),
) as z.ZodType<FlowStep, unknown>;

export const UserGroup = z.strictObject({
  name: z.string().regex(/^[A-Za-z][\w-]*$/, 'group names are letters, digits, - and _'),
  /** How many users, taken in order from the start of the population (after earlier groups). */
  users: z.number().int().min(1),
  flow: z.array(FlowStepSchema).min(1),
});
export type UserGroup = z.infer<typeof UserGroup>;
