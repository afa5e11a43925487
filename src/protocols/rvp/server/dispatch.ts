/**
 * Turns one parsed request into a reply: the stats endpoint, method classes (§6.8), router
 * referrals (302 to the physical URL, §1), authentication (401) and the RVP methods.
 */
import type { Authenticator } from '../wire/auth.js';
import { reply, type NodeRequest, type Reply, type ServerContext } from './context.js';
import { parseNodeUrl, physicalPath } from './directory.js';
import type { HttpRequest } from '../wire/http1.js';
import { notify } from './methods-notify.js';
import { acl, propfind, proppatch } from './methods-props.js';
import { subscribe, subscriptions, unsubscribe } from './methods-subscribe.js';

export const STATS_PATH = '/imload/stats';

type Handler = (ctx: ServerContext, req: NodeRequest) => Reply | Promise<Reply>;

const RVP_METHODS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['SUBSCRIBE', subscribe],
  ['UNSUBSCRIBE', unsubscribe],
  ['SUBSCRIPTIONS', subscriptions],
  ['NOTIFY', notify],
  ['PROPFIND', propfind],
  ['PROPPATCH', proppatch],
  ['ACL', acl],
]);
const NOT_IMPLEMENTED = new Set(['GET', 'HEAD', 'POST', 'PUT', 'LOCK', 'UNLOCK', 'OPTIONS']);
const NOT_ALLOWED = new Set(['COPY', 'MOVE']);

export interface Dispatcher {
  dispatch(request: HttpRequest, remoteAddress: string): Reply | Promise<Reply>;
}

export function createDispatcher(ctx: ServerContext, auth: Authenticator | undefined, stats: () => Promise<unknown>): Dispatcher {
  const { domain, role } = ctx.options;
  return {
    dispatch(request, remoteAddress) {
      if (isStatsRequest(request)) {
        return stats().then((snapshot) => reply(200, [['Content-Type', 'application/json']], JSON.stringify(snapshot)));
      }
      const handler = RVP_METHODS.get(request.method);
      if (handler === undefined) {
        if (NOT_ALLOWED.has(request.method)) return reply(405, [['Allow', [...RVP_METHODS.keys()].join(', ')]]);
        return reply(501, [], NOT_IMPLEMENTED.has(request.method) ? `${request.method} is not part of RVP` : 'unknown method');
      }
      const ref = parseNodeUrl(request.target, domain);
      const alias = ref === undefined ? undefined : ctx.directory.canonical(ref.alias);
      if (alias === undefined) return reply(404, [], 'no such node');

      const home = role === 'router' ? routerHome(ctx, alias) : ctx.remoteHome(alias);
      if (role === 'router' || home !== undefined) {
        if (home === undefined) return reply(404, [], 'no home server for this node');
        ctx.stats.redirects++;
        return reply(302, [['Location', `${home}${physicalPath(domain, alias)}`]]);
      }

      let principal: string | undefined;
      if (auth !== undefined && !isPeerRelay(ctx, request, remoteAddress)) {
        const result = auth.verify(request.method, request.target, request.headers.map.get('authorization'));
        if (!result.ok) {
          return reply(401, auth.challenges(result.stale).map((c) => ['WWW-Authenticate', c] as const), 'authentication required');
        }
        principal = result.alias;
      } else {
        const from = request.headers.map.get('rvp-from-principal');
        const fromRef = from === undefined ? undefined : parseNodeUrl(from.trim(), domain);
        principal = fromRef === undefined ? undefined : ctx.directory.canonical(fromRef.alias);
      }
      return handler(ctx, { request, node: ctx.store.node(alias), principal, now: Date.now() });
    },
  };
}

/** A router always refers; without a home map every node is unroutable. */
function routerHome(ctx: ServerContext, alias: string): string | undefined {
  return ctx.options.homes === undefined ? undefined : ctx.remoteHome(alias);
}

/**
 * Presence NOTIFYs forwarded by a peer home server (hop ≥ 2) carry no user credentials.
 * Peers are trusted by address: loopback only, and only when a home map says peers exist.
 */
function isPeerRelay(ctx: ServerContext, request: HttpRequest, remoteAddress: string): boolean {
  if (request.method !== 'NOTIFY' || ctx.options.homes === undefined) return false;
  if (Number(request.headers.map.get('rvp-hop-count') ?? '1') < 2) return false;
  return remoteAddress.startsWith('127.') || remoteAddress === '::1' || remoteAddress.startsWith('::ffff:127.');
}

/** The monitoring endpoint; it bypasses the inbound queue so overload stays observable. */
export function isStatsRequest(request: HttpRequest): boolean {
  return request.method === 'GET' && pathOf(request.target) === STATS_PATH;
}

function pathOf(target: string): string {
  const absolute = target.replace(/^https?:\/\/[^/]*/i, '');
  const query = absolute.indexOf('?');
  return query < 0 ? absolute : absolute.slice(0, query);
}
