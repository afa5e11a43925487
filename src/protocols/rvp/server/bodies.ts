/**
 * XML bodies the server writes, in the shape Miranda and Net::RVP read (research/rvp.md §5):
 * `d`/`r`/`a` prefixes declared on the root, `d:timeout`, flattened `r:state`.
 */
import { ROOT_NS, XML_DECL, NS_DAV, NS_RVP, NS_ACL, escapeXml } from '../wire/xml.js';
import type { ExtraProperty, PrincipalNode, Subscription } from './store.js';

const OK_STATUS = '<d:status>HTTP/1.1 200 Successful</d:status>';
const MISSING_STATUS = '<d:status>HTTP/1.1 404 Not Found</d:status>';

/** Names of the per-principal properties Exchange exposes (§4), plus any extras set on the node. */
export interface PropertyName {
  readonly ns: string;
  readonly local: string;
}

export function stateXml(state: string): string {
  return `<r:state><r:${state}/></r:state>`;
}

/** One extra property as an element, declaring its namespace unless it is d/r/a. */
export function extraXml(property: ExtraProperty): string {
  const prefix = prefixOf(property.ns);
  if (prefix !== undefined) return `<${prefix}:${property.local}>${escapeXml(property.text)}</${prefix}:${property.local}>`;
  return `<x:${property.local} xmlns:x="${escapeXml(property.ns)}">${escapeXml(property.text)}</x:${property.local}>`;
}

function prefixOf(ns: string): string | undefined {
  return ns === NS_DAV ? 'd' : ns === NS_RVP ? 'r' : ns === NS_ACL ? 'a' : undefined;
}

/** The property set of a node for PROPFIND and the 207 of an update/propchange SUBSCRIBE. */
export function nodeProperties(node: PrincipalNode, domain: string): Map<string, string> {
  const props = new Map<string, string>([
    [`${NS_DAV} displayname`, `<d:displayname>${escapeXml(node.alias)}</d:displayname>`],
    [`${NS_RVP} state`, stateXml(node.state)],
    [`${NS_RVP} email`, `<r:email>${escapeXml(`${node.alias}@${emailDomain(domain)}`)}</r:email>`],
    [`${NS_RVP} mobile-state`, '<r:mobile-state>0</r:mobile-state>'],
    [`${NS_RVP} mobile-description`, '<r:mobile-description></r:mobile-description>'],
  ]);
  for (const [key, property] of node.extra) props.set(key, extraXml(property));
  return props;
}

/** `im.example.com` → `example.com` (the IM domain is `im.` + the e-mail domain, §1). */
function emailDomain(domain: string): string {
  return domain.toLowerCase().startsWith('im.') ? domain.slice(3) : domain;
}

/** A 207 body: found properties in one 200 propstat, each missing one in its own 404 (§6.4). */
export function multistatus(href: string, found: readonly string[], missing: readonly PropertyName[] = []): string {
  let body = `${XML_DECL}<d:multistatus ${ROOT_NS}><d:response><d:href>${escapeXml(href)}</d:href>`;
  if (found.length > 0) body += `<d:propstat><d:prop>${found.join('')}</d:prop>${OK_STATUS}</d:propstat>`;
  for (const name of missing) {
    const prefix = prefixOf(name.ns);
    const element = prefix !== undefined ? `<${prefix}:${name.local}/>` : `<x:${name.local} xmlns:x="${escapeXml(name.ns)}"/>`;
    body += `<d:propstat><d:prop>${element}</d:prop>${MISSING_STATUS}</d:propstat>`;
  }
  return `${body}</d:response></d:multistatus>`;
}

/** The leased-value echo of a PROPPATCH 207, with the assigned view-id (§5). */
export function leasedStateXml(value: string, defaultValue: string, timeoutSeconds: number, viewId: string): string {
  return (
    `<r:state><r:leased-value><r:value><r:${value}/></r:value><r:default-value><r:${defaultValue}/></r:default-value>` +
    `<d:timeout>${timeoutSeconds}</d:timeout></r:leased-value><r:view-id>${viewId}</r:view-id></r:state>`
  );
}

function contact(href: string): string {
  return `<r:contact><d:href>${escapeXml(href)}</d:href><r:description/></r:contact>`;
}

/** A presence NOTIFY body from the changed principal to one watcher (§5). */
export function propNotification(fromUrl: string, toUrl: string, propsXml: string): string {
  return (
    `${XML_DECL}<r:notification ${ROOT_NS}><r:propnotification>` +
    `<r:notification-from>${contact(fromUrl)}</r:notification-from><r:notification-to>${contact(toUrl)}</r:notification-to>` +
    `<d:propertyupdate><d:set><d:prop>${propsXml}</d:prop></d:set></d:propertyupdate></r:propnotification></r:notification>`
  );
}

export function subscriptionsList(entries: readonly { readonly subscription: Subscription; readonly principalUrl: string; readonly remaining: number }[]): string {
  let body = `${XML_DECL}<r:subscriptions ${ROOT_NS}>`;
  for (const { subscription, principalUrl, remaining } of entries) {
    body +=
      `<r:subscription><r:subscription-id>${subscription.id}</r:subscription-id><d:href>${escapeXml(subscription.callBack)}</d:href>` +
      `<a:principal><a:rvp-principal>${escapeXml(principalUrl)}</a:rvp-principal></a:principal><d:timeout>${remaining}</d:timeout></r:subscription>`;
  }
  return `${body}</r:subscriptions>`;
}

const ALL_RIGHTS = '<a:read/><a:write/><a:readacl/><a:writeacl/><a:send-to/><a:presence/><a:list/><a:receive-from/><a:subscriptions/><a:subscribe-others/>';

/** The node's ACL (§5): one deny ACE per restricted principal, everyone else, then the owner. */
export function aclXml(node: PrincipalNode, ownerUrl: string, principalUrl: (alias: string) => string): string {
  let aces = '';
  const restricted = new Set([...node.denySendTo, ...node.denyPresence]);
  for (const alias of restricted) {
    const rights = (node.denySendTo.has(alias) ? '<a:send-to/>' : '') + (node.denyPresence.has(alias) ? '<a:presence/>' : '');
    aces +=
      `<a:ace><a:principal><a:rvp-principal>${escapeXml(principalUrl(alias))}</a:rvp-principal>` +
      `<a:credentials><a:assertion/><a:digest/><a:ntlm/></a:credentials></a:principal><a:grant/><a:deny>${rights}</a:deny></a:ace>`;
  }
  aces +=
    '<a:ace><a:principal><a:allprincipals/><a:credentials><a:any/></a:credentials></a:principal>' +
    '<a:grant><a:list/><a:read/><a:send-to/><a:presence/></a:grant><a:deny/></a:ace>';
  aces +=
    `<a:ace><a:principal><a:rvp-principal>${escapeXml(ownerUrl)}</a:rvp-principal><a:credentials><a:assertion/></a:credentials></a:principal>` +
    `<a:grant>${ALL_RIGHTS}</a:grant><a:deny/></a:ace>`;
  return `${XML_DECL}<a:rvpacl ${ROOT_NS}><a:acl><a:inheritance>none</a:inheritance>${aces}</a:acl></a:rvpacl>`;
}
