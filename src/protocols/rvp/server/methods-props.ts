/**
 * PROPFIND, PROPPATCH (leased presence) and ACL (research/rvp.md §6.4, §6.5, §6.7).
 */
import { aclXml, extraXml, leasedStateXml, multistatus, nodeProperties, stateXml, type PropertyName } from './bodies.js';
import { reply, xmlReply, type NodeRequest, type Reply, type ServerContext } from './context.js';
import { parseNodeUrl } from './directory.js';
import { fanOutPresence } from './methods-notify.js';
import { StoreError, type PrincipalNode } from './store.js';
import { NS_ACL, NS_DAV, NS_RVP, XmlError, child, is, parseXml, type XmlElement } from '../wire/xml.js';

/** Exchange's presence lease when a client does not say (§6.5). */
const DEFAULT_LEASE_SECONDS = 1200;
const STATUS_NAME = /^[A-Za-z][A-Za-z0-9-]{0,31}$/;

class BadBody extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadBody';
  }
}

function parseBody(req: NodeRequest): XmlElement | undefined {
  const text = req.request.body.toString('utf8');
  if (text.trim().length === 0) return undefined;
  try {
    return parseXml(text);
  } catch (error) {
    if (error instanceof XmlError) throw new BadBody(`malformed XML: ${error.message}`);
    throw error;
  }
}

/** Runs a handler, turning body errors into 400 answers. */
function guarded(run: () => Reply): Reply {
  try {
    return run();
  } catch (error) {
    if (error instanceof BadBody || error instanceof StoreError) return reply(400, [], error.message);
    throw error;
  }
}

export function propfind(ctx: ServerContext, req: NodeRequest): Reply {
  if (req.request.headers.map.get('depth')?.trim() !== '0') return reply(412, [], 'Depth: 0 is required');
  return guarded(() => {
    const root = parseBody(req);
    if (root !== undefined && !is(root, NS_DAV, 'propfind')) throw new BadBody('the body must be a d:propfind');
    if (req.principal !== undefined && req.node.denyPresence.has(req.principal)) return reply(403, [], 'the presence right is denied');
    const props = nodeProperties(req.node, ctx.options.domain);
    const wanted = root === undefined ? undefined : child(root, NS_DAV, 'prop');
    if (wanted === undefined) {
      if (root !== undefined && child(root, NS_DAV, 'allprop') === undefined) throw new BadBody('d:propfind needs d:prop or d:allprop');
      return xmlReply(207, multistatus(ctx.logicalUrl(req.node.alias), [...props.values()]));
    }
    if (wanted.children.length === 0) throw new BadBody('d:prop must name at least one property');
    const found: string[] = [];
    const missing: PropertyName[] = [];
    for (const name of wanted.children) {
      const xml = props.get(`${name.ns} ${name.local}`);
      if (xml !== undefined) found.push(xml);
      else missing.push({ ns: name.ns, local: name.local });
    }
    return xmlReply(207, multistatus(ctx.logicalUrl(req.node.alias), found, missing));
  });
}

export function proppatch(ctx: ServerContext, req: NodeRequest): Reply {
  if (req.principal !== undefined && req.principal !== req.node.alias) return reply(403, [], 'only the owner may change a node');
  return guarded(() => {
    const root = parseBody(req);
    if (root === undefined || !is(root, NS_DAV, 'propertyupdate')) throw new BadBody('the body must be a d:propertyupdate');
    const echoed: string[] = [];
    let changed = false;
    for (const section of root.children) {
      if (!is(section, NS_DAV, 'set')) continue;
      const prop = child(section, NS_DAV, 'prop');
      if (prop === undefined) throw new BadBody('d:set needs d:prop');
      for (const property of prop.children) {
        if (is(property, NS_RVP, 'state')) {
          const result = applyState(ctx, req, property);
          echoed.push(result.xml);
          changed ||= result.changed;
        } else {
          const text = valueText(property);
          const key = `${property.ns} ${property.local}`;
          changed ||= req.node.extra.get(key)?.text !== text;
          const extra = { ns: property.ns, local: property.local, text };
          ctx.store.setExtra(req.node, extra);
          echoed.push(extraXml(extra));
        }
      }
    }
    if (changed) fanOutPresence(ctx, req.node, currentPropsXml(req.node), req.now);
    return xmlReply(207, multistatus(ctx.logicalUrl(req.node.alias), echoed));
  });
}

/** What watchers get in a propnotification: the state plus every extra property (e.g. the note). */
export function currentPropsXml(node: PrincipalNode): string {
  let xml = stateXml(node.state);
  for (const property of node.extra.values()) xml += extraXml(property);
  return xml;
}

function applyState(ctx: ServerContext, req: NodeRequest, state: XmlElement): { xml: string; changed: boolean } {
  const leased = child(state, NS_RVP, 'leased-value');
  const value = statusName(leased === undefined ? state : child(leased, NS_RVP, 'value'), 'r:value');
  const defaultElement = leased === undefined ? undefined : child(leased, NS_RVP, 'default-value');
  const defaultValue = defaultElement === undefined ? 'offline' : statusName(defaultElement, 'r:default-value');
  // The spec's own examples write both d:timeout and r:timeout; accept either (§14).
  const timeoutElement = leased === undefined ? undefined : (child(leased, NS_DAV, 'timeout') ?? child(leased, NS_RVP, 'timeout'));
  let timeout = DEFAULT_LEASE_SECONDS;
  if (timeoutElement !== undefined) {
    timeout = Number(timeoutElement.text.trim());
    if (!Number.isInteger(timeout) || timeout <= 0) throw new BadBody('timeout must be a positive integer');
  }
  timeout = Math.min(timeout, ctx.options.maxLeaseSeconds);
  const viewId = child(state, NS_RVP, 'view-id')?.text.trim() || undefined;
  const result = ctx.store.lease(req.node, value, defaultValue, timeout, viewId, req.now);
  return { xml: leasedStateXml(value, defaultValue, timeout, result.viewId), changed: result.changed };
}

function statusName(element: XmlElement | undefined, where: string): string {
  const status = element?.children.find((c) => c.ns === NS_RVP);
  if (status === undefined || !STATUS_NAME.test(status.local)) throw new BadBody(`${where} must hold one status element such as r:online`);
  return status.local;
}

/** A generic property's text: `<P><r:leased-value><r:value>V</r:value>…` or `<P>V</P>` (§5). */
function valueText(property: XmlElement): string {
  const leased = child(property, NS_RVP, 'leased-value');
  const value = leased === undefined ? property : child(leased, NS_RVP, 'value');
  if (value === undefined) throw new BadBody(`${property.local}: r:leased-value needs r:value`);
  if (value.text.length > 1024) throw new BadBody(`${property.local}: value longer than 1024 characters`);
  return value.text.trim();
}

export function acl(ctx: ServerContext, req: NodeRequest): Reply {
  return guarded(() => {
    const root = parseBody(req);
    if (root !== undefined) {
      if (req.principal !== undefined && req.principal !== req.node.alias) return reply(403, [], 'the writeacl right is denied');
      const error = setAcl(ctx, req.node, root);
      if (error !== undefined) return { status: 400, reason: error, body: error };
    }
    return xmlReply(200, aclXml(req.node, ctx.logicalUrl(req.node.alias), (alias) => ctx.logicalUrl(alias)));
  });
}

/**
 * Replaces the node's per-principal denies from an `a:rvpacl` body. Setting ACLs is
 * undocumented in Exchange (§6.7); we honour `send-to` and `presence` (and `all`) denies.
 */
function setAcl(ctx: ServerContext, node: PrincipalNode, root: XmlElement): string | undefined {
  const list = child(root, NS_ACL, 'acl');
  if (!is(root, NS_ACL, 'rvpacl') || list === undefined) throw new BadBody('the body must be an a:rvpacl with an a:acl');
  const sendTo = new Set<string>();
  const presence = new Set<string>();
  for (const ace of list.children) {
    if (!is(ace, NS_ACL, 'ace')) continue;
    const principal = child(ace, NS_ACL, 'principal');
    const credentials = child(principal, NS_ACL, 'credentials');
    if (credentials === undefined || credentials.children.length === 0) return 'credentials not specified';
    const url = child(principal, NS_ACL, 'rvp-principal')?.text.replace(/\s+/g, '');
    if (url === undefined) continue;
    const ref = parseNodeUrl(url, ctx.options.domain);
    const alias = ref === undefined ? undefined : ctx.directory.canonical(ref.alias);
    if (alias === undefined || alias === node.alias) continue;
    const denied = new Set((child(ace, NS_ACL, 'deny')?.children ?? []).map((r) => r.local));
    if (denied.has('send-to') || denied.has('all')) sendTo.add(alias);
    if (denied.has('presence') || denied.has('all')) presence.add(alias);
  }
  node.denySendTo.clear();
  node.denyPresence.clear();
  for (const alias of sendTo) node.denySendTo.add(alias);
  for (const alias of presence) node.denyPresence.add(alias);
  return undefined;
}
