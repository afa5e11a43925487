/**
 * Presence and subscription state of the principals homed on one server
 * (research/rvp.md §6.1–6.5, §16.2). Time is counted in server "seconds" of `secondMs`
 * milliseconds, so tests can shrink leases and lifetimes without sleeping for real minutes.
 * Expiry is driven by `sweep`, called once per server second: subscriptions vanish silently,
 * leases fall back to their default value and report the change.
 */

export const NOTIFY_LOGIN = 'pragma/notify';
export const NOTIFY_PROPCHANGE = 'update/propchange';

export interface Subscription {
  readonly id: string;
  readonly alias: string;
  readonly type: string;
  /** Where NOTIFYs go: a raw callback URL or a watcher's logical URL (§6.1). */
  readonly callBack: string;
  /** Authenticated subscriber alias (or the RVP-From-Principal when auth is off). */
  readonly subscriber: string;
  /** When it was made, in the store's order of events (see `reachableLogins`). */
  readonly order: number;
  expiresAt: number;
}

interface Lease {
  readonly viewId: string;
  value: string;
  defaultValue: string;
  expiresAt: number;
  setAt: number;
}

/** A property other than r:state, kept as text keyed by `namespace local-name`. */
export interface ExtraProperty {
  readonly ns: string;
  readonly local: string;
  readonly text: string;
}

export interface PrincipalNode {
  readonly alias: string;
  readonly subscriptions: Map<string, Subscription>;
  leases: Lease[];
  /** The state watchers see (§6.5 multi-view rule applied). */
  state: string;
  readonly extra: Map<string, ExtraProperty>;
  /** Principals (aliases) denied `send-to` / `presence` by the owner's ACL. */
  readonly denySendTo: Set<string>;
  readonly denyPresence: Set<string>;
  online: boolean;
  /**
   * When the node last came to show `offline` by a state it set (a logoff, or its lease falling
   * back to an `offline` default), in the store's order of events; 0 while it never did. The
   * `offline` a node shows before it ever sets a state is no logoff.
   */
  offlineOrder: number;
}

/** States that do not override a principal still online at another view (§6.5). */
const WEAK_STATES = new Set(['offline', 'idle']);
const MAX_EXTRA_PROPERTIES = 16;

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export type StateChangeListener = (node: PrincipalNode) => void;

export class PresenceStore {
  private readonly nodes = new Map<string, PrincipalNode>();
  private readonly leased = new Set<PrincipalNode>();
  /** What a node shows once every lease has run out: the default of the last one to expire. */
  private readonly fallback = new WeakMap<PrincipalNode, string>();
  private nextSubscriptionId = 1;
  private nextViewId = 3577;
  /** Orders login subscriptions and logoffs: two may fall in the same millisecond. */
  private nextOrder = 1;
  private subscriptionCount = 0;
  private onlineCount = 0;

  constructor(
    private readonly secondMs: number,
    private readonly onStateChange: StateChangeListener,
  ) {}

  get online(): number {
    return this.onlineCount;
  }

  get subscriptions(): number {
    return this.subscriptionCount;
  }

  node(alias: string): PrincipalNode {
    let node = this.nodes.get(alias);
    if (node === undefined) {
      node = { alias, subscriptions: new Map(), leases: [], state: 'offline', extra: new Map(), denySendTo: new Set(), denyPresence: new Set(), online: false, offlineOrder: 0 };
      this.nodes.set(alias, node);
    }
    return node;
  }

  find(alias: string): PrincipalNode | undefined {
    return this.nodes.get(alias);
  }

  subscribe(node: PrincipalNode, type: string, callBack: string, subscriber: string, lifetimeSeconds: number, now: number): Subscription {
    const subscription: Subscription = {
      id: String(this.nextSubscriptionId++),
      alias: node.alias,
      type,
      callBack,
      subscriber,
      order: this.nextOrder++,
      expiresAt: now + lifetimeSeconds * this.secondMs,
    };
    node.subscriptions.set(subscription.id, subscription);
    this.subscriptionCount++;
    this.refreshOnline(node, now);
    return subscription;
  }

  renew(node: PrincipalNode, id: string, lifetimeSeconds: number, now: number): Subscription | undefined {
    const subscription = node.subscriptions.get(id);
    if (subscription === undefined || subscription.expiresAt <= now) return undefined;
    subscription.expiresAt = now + lifetimeSeconds * this.secondMs;
    return subscription;
  }

  unsubscribe(node: PrincipalNode, id: string, now: number): boolean {
    if (!node.subscriptions.delete(id)) return false;
    this.subscriptionCount--;
    this.refreshOnline(node, now);
    return true;
  }

  /** Live subscriptions of one type on a node (expired ones are never returned). */
  *live(node: PrincipalNode, type: string, now: number): IterableIterator<Subscription> {
    for (const subscription of node.subscriptions.values()) {
      if (subscription.type === type && subscription.expiresAt > now) yield subscription;
    }
  }

  /**
   * The login subscriptions NOTIFYs for this node (IMs, and presence it watches) go to. The
   * login subscription binds the node to a client (S00 §5.1.4), which is reachable whether or
   * not it has set a state; a node showing `offline` by a state it set has logged off, and only
   * logins made since (a new session) reach it (research/rvp.md § 412).
   */
  *reachableLogins(node: PrincipalNode, now: number): IterableIterator<Subscription> {
    const since = node.state === 'offline' ? node.offlineOrder : 0;
    for (const login of this.live(node, NOTIFY_LOGIN, now)) if (login.order > since) yield login;
  }

  remainingSeconds(subscription: Subscription, now: number): number {
    return Math.max(0, Math.ceil((subscription.expiresAt - now) / this.secondMs));
  }

  /**
   * Applies a leased r:state value for one view. Returns the view-id (assigned when the
   * request had none or an unknown one) and whether the effective state changed.
   */
  lease(node: PrincipalNode, value: string, defaultValue: string, timeoutSeconds: number, viewId: string | undefined, now: number): { viewId: string; changed: boolean } {
    let lease = viewId === undefined ? undefined : node.leases.find((l) => l.viewId === viewId);
    if (lease === undefined) {
      lease = { viewId: String(this.nextViewId++), value, defaultValue, expiresAt: 0, setAt: 0 };
      node.leases.push(lease);
    }
    lease.value = value;
    lease.defaultValue = defaultValue;
    lease.expiresAt = now + timeoutSeconds * this.secondMs;
    lease.setAt = now;
    this.leased.add(node);
    const changed = this.recompute(node, now);
    // Setting offline again is a logoff too, though watchers see no change.
    if (node.state === 'offline') node.offlineOrder = this.nextOrder++;
    return { viewId: lease.viewId, changed };
  }

  setExtra(node: PrincipalNode, property: ExtraProperty): void {
    const key = `${property.ns} ${property.local}`;
    if (!node.extra.has(key) && node.extra.size >= MAX_EXTRA_PROPERTIES) {
      throw new StoreError(`at most ${MAX_EXTRA_PROPERTIES} extra properties per node`);
    }
    node.extra.set(key, property);
  }

  /** Expires subscriptions and leases; lease expiries that change the state are reported. */
  sweep(now: number): void {
    for (const node of this.leased) {
      const before = node.leases.length;
      let lastExpired: Lease | undefined;
      node.leases = node.leases.filter((lease) => {
        if (lease.expiresAt > now) return true;
        if (lastExpired === undefined || lease.setAt > lastExpired.setAt) lastExpired = lease;
        return false;
      });
      if (node.leases.length === before) continue;
      if (node.leases.length === 0) {
        this.leased.delete(node);
        this.fallback.set(node, lastExpired!.defaultValue);
      }
      if (!this.recompute(node, now)) continue;
      if (node.state === 'offline') node.offlineOrder = this.nextOrder++;
      this.onStateChange(node);
    }
    for (const node of this.nodes.values()) {
      if (node.subscriptions.size === 0) continue;
      let removed = false;
      for (const [id, subscription] of node.subscriptions) {
        if (subscription.expiresAt <= now) {
          node.subscriptions.delete(id);
          this.subscriptionCount--;
          removed = true;
        }
      }
      if (removed) this.refreshOnline(node, now);
    }
  }

  /** Recomputes the effective state (§6.5); returns whether it changed. */
  private recompute(node: PrincipalNode, now: number): boolean {
    let strongest: Lease | undefined;
    let newest: Lease | undefined;
    for (const lease of node.leases) {
      if (lease.expiresAt <= now) continue;
      if (newest === undefined || lease.setAt >= newest.setAt) newest = lease;
      if (!WEAK_STATES.has(lease.value) && (strongest === undefined || lease.setAt >= strongest.setAt)) strongest = lease;
    }
    const state = (strongest ?? newest)?.value ?? this.fallback.get(node) ?? 'offline';
    if (state === node.state) return false;
    node.state = state;
    this.refreshOnline(node, now);
    return true;
  }

  /** Online = holds a live login subscription and shows a state other than offline. */
  private refreshOnline(node: PrincipalNode, now: number): void {
    let loggedIn = false;
    for (const subscription of node.subscriptions.values()) {
      if (subscription.type === NOTIFY_LOGIN && subscription.expiresAt > now) {
        loggedIn = true;
        break;
      }
    }
    const online = loggedIn && node.state !== 'offline' && node.state !== 'invisible';
    if (online !== node.online) {
      node.online = online;
      this.onlineCount += online ? 1 : -1;
    }
  }
}
