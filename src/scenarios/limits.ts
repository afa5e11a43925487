/**
 * Built-in limit profiles: documented per-server figures as data, each with its source and the
 * wording it paraphrases (../shared/limits.md). Scenario files may add their own under
 * `profiles:` (a vendor's figures, or a capacity measured earlier); those win over built-ins.
 */
import type { LimitProfile } from './schema.js';

const EX2000 = 'Microsoft Exchange 2000 Server Resource Kit, ch. 19, Chat and Instant Messaging Services';
const LCS2005 = 'Microsoft IT Showcase: How Microsoft IT deployed and operates a reliable, enterprise-grade, real-time presence and instant messaging infrastructure (LCS 2005)';

export const BUILT_IN_PROFILES: Readonly<Record<string, LimitProfile>> = {
  'exchange2000-chat': {
    title: 'Exchange 2000 Chat Service (IRC/IRCX), one chat server',
    version: '1',
    protocol: 'irc',
    figures: [
      {
        id: 'users-per-chat-server',
        metric: 'users.peakOnline',
        kind: 'atLeast',
        value: 20_000,
        unit: 'concurrent users',
        source: EX2000,
        wording: 'These changes permit up to 20,000 concurrent users per server.',
      },
    ],
  },
  'exchange2000-im': {
    title: 'Exchange 2000 Instant Messaging (RVP), one home server',
    version: '1',
    protocol: 'rvp',
    figures: [
      {
        id: 'users-per-home-server',
        metric: 'users.peakOnline',
        kind: 'atLeast',
        value: 10_000,
        unit: 'online users',
        source: EX2000,
        wording: 'Each Instant Messaging home server can support approximately 10,000 online users.',
      },
    ],
  },
  'exchange2000-im-router': {
    title: 'Exchange 2000 Instant Messaging (RVP), one router',
    version: '1',
    protocol: 'rvp',
    figures: [
      {
        id: 'users-per-router',
        metric: 'users.peakOnline',
        kind: 'atLeast',
        value: 50_000,
        unit: 'online users',
        source: EX2000,
        wording: 'Each Instant Messaging router can support approximately 50,000 online users.',
      },
    ],
  },
  'exchange2000-im-router-sp2': {
    title: 'Exchange 2000 SP2 admin help: one IM router',
    version: '1',
    protocol: 'rvp',
    figures: [
      {
        id: 'users-per-router-sp2',
        metric: 'users.peakOnline',
        kind: 'atLeast',
        value: 20_000,
        unit: 'online users',
        source: 'Exchange 2000 SP2 administrator help',
        wording: 'one Instant Messaging router per 20,000 concurrent users',
      },
    ],
  },
  lcs2005: {
    title: 'Live Communications Server 2005 (SIP/SIMPLE), Enterprise Edition pool',
    version: '1',
    protocol: 'sip',
    figures: [
      {
        id: 'bandwidth-per-user',
        metric: 'bandwidth.kbpsPerUser',
        kind: 'atMost',
        value: 1.6,
        unit: 'kbit/s per user',
        source: LCS2005,
        wording: 'consumes, on average, 1.6 kilobits per second (Kbps) of network bandwidth per user over an eight-hour period',
      },
      {
        id: 'users-per-pool',
        metric: 'users.peakOnline',
        kind: 'atLeast',
        value: 100_000,
        unit: 'simultaneously active users',
        source: LCS2005,
        wording: 'capable of supporting over 100,000 simultaneously active users',
      },
    ],
  },
};

export function findProfile(name: string, custom: Readonly<Record<string, LimitProfile>>): LimitProfile | undefined {
  return custom[name] ?? BUILT_IN_PROFILES[name];
}
