/**
 * Chat servers in `imload plan --lab`: where the plan puts them (a site the plan made a hub, or
 * the central data centre), each site's users chatting on theirs, and the chat traffic that
 * crosses each link, predicted from the chat protocol's byte model on the chat scenario's own
 * schedule (capacity/simulate.ts, what `imload simulate` prints). Protocol-neutral: the chat
 * protocol is the descriptor whose plan role is `chatServer`.
 *
 * The lab's chat servers are not linked: a chat server at a site hosts that site's channels
 * ("regional or departmental chat servers keep logon and channel traffic local"), the central
 * one everybody else's. So a site with its own chat server puts no chat traffic on its link, and
 * a site chatting centrally puts all of its chat users' traffic on it.
 */
import { stringify } from 'yaml';
import { DESCRIPTORS } from '../protocols/registry.js';
import { parseScenarioText } from '../scenarios/load.js';
import { predictTraffic } from './simulate.js';
import type { Placement } from './plan-sites.js';

/** The documented chat workload: 2 channel messages per user-hour (issue #19 § Scale, limits.md). */
export const CHAT_CHANNEL_MESSAGES_PER_HOUR = 2;
/** Lab channels: one per this many chat users of a server, each user in two of them. */
const CHAT_USERS_PER_CHANNEL = 25;
const CHANNELS_PER_USER = 2;

/** One chat server of the lab, the groups whose users chat on it and their segments of its scenario. */
export interface ChatLabServer {
  /** A site's name, or `central`. */
  readonly at: string;
  readonly users: number;
  /** Segments of its scenario (`imload run --segment i/modulus`). */
  readonly modulus: number;
  /** Each group's segments of this server's scenario (1-based, of `modulus`). */
  readonly groups: readonly { readonly name: string; readonly users: number; readonly segments: readonly number[] }[];
  readonly scenarioName: string;
  /** Application bytes its whole population exchanges in the lab session (the byte model on its schedule). */
  readonly predictedBytes: number;
  readonly channels: number;
}

export interface ChatLabDesign {
  readonly protocol: string;
  readonly title: string;
  readonly scheme: string;
  readonly labKind: string;
  readonly servers: readonly ChatLabServer[];
  /** Every chat server's scenario (YAML; the target's URL is replaced by each server's). */
  readonly scenarioYaml: string;
  readonly targetName: string;
  /** The chat protocol's shortest timer, seconds (the design refuses a session that sees one fire). */
  readonly shortestTimerSeconds: number;
  readonly byteModel: string;
}

/** What the lab's chat is and how it is predicted and measured, for the design's notes. */
export function chatNote(chat: ChatLabDesign): string {
  const servers = chat.servers.map((s) => `${s.at} (${s.users} users in ${s.channels} channel(s))`).join(', ');
  return `Chat: one ${chat.title} server, not linked, per place the plan puts chat servers — ${servers}. Every lab user also chats (the plan has no chat workload: the documented ${CHAT_CHANNEL_MESSAGES_PER_HOUR} channel messages per user-hour, ${CHANNELS_PER_USER} channels each, one channel per ${CHAT_USERS_PER_CHANNEL} users of a server). Predicted: the ${chat.byteModel} byte model on each chat server's own schedule, a site's share by its users; measured: the chat port's packets, counted apart on the link (htb classes inside the shaper).`;
}

/** The part of a lab group this file reads. */
interface Group {
  readonly name: string;
  readonly site: boolean;
  readonly users: number;
  readonly segments: readonly number[];
}

/** Where a group's users chat: at their site when the plan gives it chat servers, else central. */
export function chatWhere(placement: Placement, group: Group): 'site' | 'central' {
  return group.site ? (placement.sites.find((s) => s.name === group.name)?.placement.chatServer.where ?? 'central') : 'central';
}

/**
 * The chat servers and their scenarios, or undefined when no protocol with a lab serves the
 * chat-server role. `phases` are the home-server scenario's, so both run side by side.
 */
export function designChat(placement: Placement, groups: readonly Group[], session: { readonly timeScale: number; readonly phases: readonly object[]; readonly activity: object; readonly seed: number }): ChatLabDesign | undefined {
  const descriptor = DESCRIPTORS.find((d) => d.planRole === 'chatServer' && d.lab.length > 0);
  if (!descriptor) return undefined;
  const scheme = descriptor.schemes.find((s) => !s.tls)?.scheme ?? descriptor.name;
  const atSite = groups.filter((g) => chatWhere(placement, g) === 'site');
  const central = groups.filter((g) => chatWhere(placement, g) === 'central');
  const hosts = [...atSite.map((g) => ({ at: g.name, groups: [g] })), ...(central.length > 0 ? [{ at: 'central', groups: central }] : [])];

  const targetName = 'chat';
  const scenarios: Record<string, object> = {};
  const planned = hosts.map((host) => {
    let next = 1;
    const members = host.groups.map((g) => ({ name: g.name, users: g.users, segments: g.segments.map(() => next++) }));
    const users = members.reduce((n, g) => n + g.users, 0);
    const channels = Math.max(1, Math.round(users / CHAT_USERS_PER_CHANNEL));
    const perUser = Math.min(CHANNELS_PER_USER, channels);
    const scenarioName = `plan-lab-chat-${host.at}`;
    scenarios[scenarioName] = {
      description: `imload plan --lab: the chat users of the chat server at ${host.at}, one session compressed ${session.timeScale.toFixed(1)}×`,
      target: targetName,
      seed: session.seed,
      timeScale: session.timeScale,
      population: { users, contacts: 0, channels: { count: channels, perUser: { min: perUser, max: perUser } } },
      phases: session.phases,
      // Instant messages and presence go through the home servers: chat users only talk in channels.
      behaviour: { ...session.activity, messagesPerHour: 0, presenceChangesPerHour: 0, channelMessagesPerHour: CHAT_CHANNEL_MESSAGES_PER_HOUR },
    };
    return { at: host.at, users, modulus: next - 1, groups: members, scenarioName, channels };
  });
  const scenarioYaml = stringify({ version: 1, targets: { [targetName]: { url: `${scheme}://127.0.0.1:1` } }, scenarios });
  const parsed = parseScenarioText(scenarioYaml, 'plan-lab-chat.yaml');
  const servers = planned.map((p) => {
    const prediction = predictTraffic(parsed.scenarios[p.scenarioName]!, descriptor.name);
    const timerBytes = prediction.seconds.reduce((n, s) => n + s.timerBytes, 0);
    return { ...p, predictedBytes: prediction.totals.bytes - timerBytes };
  });
  return {
    protocol: descriptor.name,
    title: descriptor.lab[0]!.title,
    scheme,
    labKind: descriptor.lab[0]!.kind,
    servers,
    scenarioYaml,
    targetName,
    shortestTimerSeconds: Math.min(...descriptor.byteModel.timers.map((t) => t.everySeconds)),
    byteModel: descriptor.byteModel.fittedAgainst,
  };
}
