/**
 * A virtual user that does nothing and succeeds at everything, and an agent of them: for engine
 * tests about scheduling and bookkeeping, where the protocol must stay out of the way. Give
 * `overrides` for the one action a test watches.
 */
import type { ProtocolAgent, VirtualUser } from '../../src/protocols/types.js';

export function quietUser(overrides: Partial<VirtualUser> = {}): VirtualUser {
  return {
    logon: async () => undefined,
    join: async () => undefined,
    say: async () => ({ ok: true }),
    message: async () => ({ ok: true }),
    setPresence: async () => undefined,
    part: async () => undefined,
    logoff: async () => undefined,
    destroy: () => undefined,
    ...overrides,
  };
}

/** An agent for instant messages only whose users are quietUser(overrides). */
export function quietAgentOf(overrides: () => Partial<VirtualUser> = () => ({})): ProtocolAgent {
  return {
    capabilities: { channels: false, presence: false, instantMessages: true },
    createUser: () => quietUser(overrides()),
    close: async () => undefined,
  };
}
