/**
 * SUBSCRIBE, UNSUBSCRIBE and SUBSCRIPTIONS (research/rvp.md §6.1–6.3).
 */
import { multistatus, nodeProperties, subscriptionsList } from './bodies.js';
import { reply, xmlReply, type NodeRequest, type Reply, type ServerContext } from './context.js';
import { NOTIFY_LOGIN, NOTIFY_PROPCHANGE, type Subscription } from './store.js';
import { parseNodeUrl } from './directory.js';

export function subscribe(ctx: ServerContext, req: NodeRequest): Reply {
  const headers = req.request.headers.map;
  const lifetime = grantedLifetime(ctx, headers.get('subscription-lifetime'));
  if (lifetime === undefined) return reply(400, [], 'Subscription-Lifetime must be a positive integer');
  const existingId = headers.get('subscription-id');
  if (existingId !== undefined) return renew(ctx, req, existingId, lifetime);

  const type = headers.get('notification-type')?.trim().toLowerCase();
  const callBack = headers.get('call-back')?.trim();
  if (!type) return reply(400, [], 'Notification-Type is required for a new subscription');
  if (!callBack || !isHttpUrl(callBack)) return reply(400, [], 'Call-Back must be an absolute http URL');
  const subscriber = req.principal ?? callbackAlias(ctx, callBack) ?? '';

  if (type === NOTIFY_LOGIN && req.principal !== undefined && req.principal !== req.node.alias) {
    return reply(403, [], 'a login subscription can only be made on your own node');
  }
  if (type === NOTIFY_PROPCHANGE && req.node.denyPresence.has(subscriber)) {
    return reply(403, [], 'the presence right is denied');
  }
  const subscription = ctx.store.subscribe(req.node, type, callBack, subscriber, lifetime, req.now);
  const granted: [string, string][] = [
    ['Subscription-Id', subscription.id],
    ['Subscription-Lifetime', String(lifetime)],
  ];
  if (type !== NOTIFY_PROPCHANGE) return reply(200, granted);
  const props = [...nodeProperties(req.node, ctx.options.domain).values()];
  return xmlReply(207, multistatus(ctx.logicalUrl(req.node.alias), props), granted);
}

/** Renewal: same URL, Subscription-Id and Subscription-Lifetime only; 200 without a body. */
function renew(ctx: ServerContext, req: NodeRequest, id: string, lifetime: number): Reply {
  const existing = req.node.subscriptions.get(id.trim());
  if (existing === undefined || existing.expiresAt <= req.now) return reply(412, [], 'no such subscription (expired?)');
  if (!mayManage(req, existing)) return reply(403, [], 'not your subscription');
  ctx.store.renew(req.node, existing.id, lifetime, req.now);
  return reply(200, [
    ['Subscription-Id', existing.id],
    ['Subscription-Lifetime', String(lifetime)],
  ]);
}

export function unsubscribe(ctx: ServerContext, req: NodeRequest): Reply {
  const id = req.request.headers.map.get('subscription-id')?.trim();
  if (!id) return reply(400, [], 'Subscription-Id is required');
  const existing = req.node.subscriptions.get(id);
  if (existing === undefined || existing.expiresAt <= req.now) return reply(412, [], 'no such subscription');
  if (!mayManage(req, existing)) return reply(403, [], 'not your subscription');
  // Exchange answers 501 for the login subscription: it simply expires (§6.2 [OBS Net::RVP]).
  if (existing.type === NOTIFY_LOGIN) return reply(501, [], 'login subscriptions expire; they cannot be cancelled');
  ctx.store.unsubscribe(req.node, id, req.now);
  return reply(200);
}

/** "Who watches me": only the node's owner may list its subscriptions. */
export function subscriptions(ctx: ServerContext, req: NodeRequest): Reply {
  if (req.principal !== undefined && req.principal !== req.node.alias) return reply(403, [], 'the subscriptions right is denied');
  const type = req.request.headers.map.get('notification-type')?.trim().toLowerCase() ?? NOTIFY_PROPCHANGE;
  const entries = [];
  for (const subscription of ctx.store.live(req.node, type, req.now)) {
    entries.push({
      subscription,
      principalUrl: subscription.subscriber ? ctx.logicalUrl(subscription.subscriber) : subscription.callBack,
      remaining: ctx.store.remainingSeconds(subscription, req.now),
    });
  }
  return xmlReply(200, subscriptionsList(entries));
}

function mayManage(req: NodeRequest, subscription: Subscription): boolean {
  return req.principal === undefined || req.principal === subscription.subscriber || req.principal === req.node.alias;
}

function grantedLifetime(ctx: ServerContext, header: string | undefined): number | undefined {
  // Exchange rejects static subscriptions, so a missing lifetime gets the longest lease instead.
  if (header === undefined) return ctx.options.maxSubscriptionLifetime;
  if (!/^\s*\d{1,9}\s*$/.test(header)) return undefined;
  const asked = Number(header);
  if (asked <= 0) return undefined;
  return Math.min(asked, ctx.options.maxSubscriptionLifetime);
}

function isHttpUrl(text: string): boolean {
  try {
    return new URL(text).protocol === 'http:';
  } catch {
    return false;
  }
}

function callbackAlias(ctx: ServerContext, callBack: string): string | undefined {
  const ref = parseNodeUrl(callBack, ctx.options.domain);
  return ref === undefined ? undefined : ctx.directory.canonical(ref.alias);
}
