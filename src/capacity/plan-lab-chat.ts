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
import { designRoleServers, type RoleGroup, type RoleLabDesign, type RoleLabServer, type RoleSession } from './plan-lab-roles.js';
import type { Placement } from './plan-sites.js';

/** The documented chat workload: 2 channel messages per user-hour (issue #19 § Scale, limits.md). */
export const CHAT_CHANNEL_MESSAGES_PER_HOUR = 2;
/** Lab channels: one per this many chat users of a server, each user in two of them. */
const CHAT_USERS_PER_CHANNEL = 25;
const CHANNELS_PER_USER = 2;

/** One chat server of the lab: its users, their segments, its prediction, and its channels. */
export type ChatLabServer = RoleLabServer & { readonly channels: number };
export type ChatLabDesign = RoleLabDesign<ChatLabServer>;

/** What the lab's chat is and how it is predicted and measured, for the design's notes. */
export function chatNote(chat: ChatLabDesign): string {
  const servers = chat.servers.map((s) => `${s.at} (${s.users} users in ${s.channels} channel(s))`).join(', ');
  return `Chat: one ${chat.title} server, not linked, per place the plan puts chat servers — ${servers}. Every lab user also chats (the plan has no chat workload: the documented ${CHAT_CHANNEL_MESSAGES_PER_HOUR} channel messages per user-hour, ${CHANNELS_PER_USER} channels each, one channel per ${CHAT_USERS_PER_CHANNEL} users of a server). Predicted: the ${chat.byteModel} byte model on each chat server's own schedule, a site's share by its users; measured: the chat port's packets, counted apart on the link (htb classes inside the shaper).`;
}

/** Where a group's users chat: at their site when the plan gives it chat servers, else central. */
export function chatWhere(placement: Placement, group: Pick<RoleGroup, 'name' | 'site'>): 'site' | 'central' {
  return group.site ? (placement.sites.find((s) => s.name === group.name)?.placement.chatServer.where ?? 'central') : 'central';
}

/**
 * The chat servers and their scenarios, or undefined when no protocol with a lab serves the
 * chat-server role. `session` is the home-server scenario's, so both run side by side.
 */
export function designChat(placement: Placement, groups: readonly RoleGroup[], session: RoleSession): ChatLabDesign | undefined {
  return designRoleServers({
    role: 'chatServer',
    slug: 'chat',
    groups,
    where: (g) => chatWhere(placement, g),
    session,
    scenario: (users) => {
      const channels = Math.max(1, Math.round(users / CHAT_USERS_PER_CHANNEL));
      const perUser = Math.min(CHANNELS_PER_USER, channels);
      return {
        population: { contacts: 0, channels: { count: channels, perUser: { min: perUser, max: perUser } } },
        // Instant messages and presence go through the home servers: chat users only talk in channels.
        behaviour: { messagesPerHour: 0, presenceChangesPerHour: 0, channelMessagesPerHour: CHAT_CHANNEL_MESSAGES_PER_HOUR },
        extra: { channels },
      };
    },
  });
}
