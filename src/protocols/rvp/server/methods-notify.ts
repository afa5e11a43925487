/**
 * NOTIFY (research/rvp.md §6.6): instant messages relayed to the recipient's login callbacks
 * and acknowledged only once a callback answered 2xx (DeepOr), and presence fan-out to every
 * `update/propchange` subscriber of a node whose properties changed.
 */
import { propNotification, stateXml } from './bodies.js';
import { reply, type NodeRequest, type Reply, type ServerContext } from './context.js';
import { parseNodeUrl, physicalPath } from './directory.js';
import { ClientError } from '../wire/http-client.js';
import { NOTIFY_PROPCHANGE, type PrincipalNode } from './store.js';
import { NS_DAV, NS_RVP, XmlError, child, is, parseXml, path } from '../wire/xml.js';

/** Above this hop count a NOTIFY is assumed to be looping between servers. */
const MAX_HOPS = 8;

export async function notify(ctx: ServerContext, req: NodeRequest): Promise<Reply> {
  const headers = req.request.headers.map;
  const hops = Number(headers.get('rvp-hop-count') ?? '1');
  if (!Number.isInteger(hops) || hops < 1 || hops > MAX_HOPS) return reply(400, [], 'RVP-Hop-Count must be 1..8');
  let root;
  try {
    root = parseXml(req.request.body.toString('utf8'));
  } catch (error) {
    if (error instanceof XmlError) return reply(400, [], `malformed XML: ${error.message}`);
    throw error;
  }
  if (!is(root, NS_RVP, 'notification')) return reply(400, [], 'the NOTIFY body must be an r:notification');
  const message = child(root, NS_RVP, 'message');
  const propnotification = child(root, NS_RVP, 'propnotification');
  if (message === undefined && propnotification === undefined) return reply(400, [], 'r:notification needs r:message or r:propnotification');

  if (message !== undefined) {
    const fromHref = path(message, [NS_RVP, 'notification-from'], [NS_RVP, 'contact'], [NS_DAV, 'href'])?.text.trim();
    if (!fromHref) return reply(400, [], 'r:message needs r:notification-from with a d:href');
    const from = parseNodeUrl(fromHref, ctx.options.domain);
    if (req.principal !== undefined && from !== undefined && ctx.directory.canonical(from.alias) !== req.principal) {
      return reply(403, [], 'notification-from does not match the authenticated principal');
    }
    if (req.principal !== undefined && req.node.denySendTo.has(req.principal)) return reply(403, [], 'the send-to right is denied');
  }
  const callbacks = [...ctx.store.reachableLogins(req.node, req.now)].map((s) => s.callBack);
  if (callbacks.length === 0) return reply(412, [], 'the principal is not available');
  const ackType = headers.get('rvp-ack-type') ?? 'DeepOr';
  const status = await deliverToAny(ctx, callbacks, req.request.body, hops + 1, ackType);
  return status >= 200 && status < 300 ? reply(200) : reply(status === 0 ? 412 : status, [], 'delivery failed');
}

/**
 * Sends one NOTIFY to each callback at once and resolves with the first 2xx status, or with
 * the last failure status (0 when no callback answered at all).
 */
function deliverToAny(ctx: ServerContext, callbacks: readonly string[], body: Buffer, hops: number, ackType: string): Promise<number> {
  return new Promise((resolve) => {
    let outstanding = callbacks.length;
    let lastFailure = 0;
    let done = false;
    for (const callback of callbacks) {
      void deliver(ctx, callback, body, hops, ackType, undefined).then((status) => {
        outstanding--;
        if (done) return;
        if (status >= 200 && status < 300) {
          done = true;
          resolve(status);
        } else {
          if (status !== 0) lastFailure = status;
          if (outstanding === 0) resolve(lastFailure);
        }
      });
    }
  });
}

interface RelayTarget {
  readonly hostname: string;
  readonly port: number;
  readonly host: string;
  readonly path: string;
}

/** Parsed callback URLs: the same few thousand are used for every NOTIFY, so parse each once. */
const targets = new Map<string, RelayTarget | null>();
const MAX_CACHED_TARGETS = 100_000;

function relayTarget(url: string): RelayTarget | undefined {
  let target = targets.get(url);
  if (target === undefined) {
    try {
      const parsed = new URL(url);
      target = { hostname: parsed.hostname, port: parsed.port === '' ? 80 : Number(parsed.port), host: parsed.host, path: `${parsed.pathname}${parsed.search}` };
    } catch {
      target = null;
    }
    if (targets.size >= MAX_CACHED_TARGETS) targets.clear();
    targets.set(url, target);
  }
  return target ?? undefined;
}

/** Sends one NOTIFY; resolves with the callback's status, or 0 if it could not be reached. */
async function deliver(ctx: ServerContext, url: string, body: Buffer | string, hops: number, ackType: string, subscriptionId: string | undefined): Promise<number> {
  const target = relayTarget(url);
  if (target === undefined) {
    ctx.stats.errors++;
    return 0;
  }
  const headers: [string, string][] = [
    ['Host', target.host],
    ['RVP-Notifications-Version', '0.2'],
    ['RVP-From-Principal', ctx.options.domain],
    ['RVP-Hop-Count', String(hops)],
    ['RVP-Ack-Type', ackType],
    ['Content-Type', 'text/xml'],
  ];
  if (subscriptionId !== undefined) headers.push(['Subscription-Id', subscriptionId]);
  try {
    const { response } = await ctx.relay.request(target.hostname, target.port, { method: 'NOTIFY', target: target.path, headers, body }, ctx.options.relayTimeoutMs);
    if (response.status >= 200 && response.status < 300) ctx.stats.notifiesRelayed++;
    else ctx.stats.errors++;
    return response.status;
  } catch (error) {
    ctx.stats.errors++;
    if (error instanceof ClientError) {
      ctx.options.log(`notify to ${target.host} failed: ${error.kind}`);
      return 0;
    }
    throw error;
  }
}

/**
 * Tells every watcher of `node` about changed properties (§6.5, §11 fan-out). A watcher's
 * Call-Back is normally its logical URL: local watchers get the NOTIFY at their login
 * callbacks, watchers homed elsewhere via their home server (hop 2, which forwards at hop 3).
 */
export function fanOutPresence(ctx: ServerContext, node: PrincipalNode, propsXml: string, now: number): void {
  const fromUrl = ctx.logicalUrl(node.alias);
  const props = ctx.options.notifyStateOnly ? stateXml(node.state) : propsXml;
  for (const subscription of ctx.store.live(node, NOTIFY_PROPCHANGE, now)) {
    if (node.denyPresence.has(subscription.subscriber)) continue;
    const body = propNotification(fromUrl, subscription.callBack, props);
    const ref = parseNodeUrl(subscription.callBack, ctx.options.domain);
    const watcher = ref === undefined ? undefined : ctx.directory.canonical(ref.alias);
    if (watcher === undefined) {
      void deliver(ctx, subscription.callBack, body, 2, 'DeepOr', subscription.id);
      continue;
    }
    const remote = ctx.remoteHome(watcher);
    if (remote !== undefined) {
      void deliver(ctx, `${remote}${physicalPath(ctx.options.domain, watcher)}`, body, 2, 'DeepOr', subscription.id);
      continue;
    }
    const watcherNode = ctx.store.find(watcher);
    if (watcherNode === undefined) continue;
    for (const login of ctx.store.reachableLogins(watcherNode, now)) {
      void deliver(ctx, login.callBack, body, 2, 'DeepOr', subscription.id);
    }
  }
}
