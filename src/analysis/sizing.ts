/**
 * Sizing arithmetic: how many servers and how much bandwidth a population needs, from a
 * per-server capacity (a documented figure or a measured peak) and a per-user bandwidth.
 *
 * `sizeDeployment` is self-contained on purpose: no imports, no helpers, no closures over module
 * state. The report page embeds its source (`sizeDeployment.toString()`) so the figures the reader
 * recomputes in the browser come from this very code. `imload plan` (plan.ts) sizes each role and
 * site with it, so the report and the plan share one model.
 */

export interface SizingQuery {
  /** Everyone who has an account. */
  readonly users: number;
  /** Fraction of `users` online at the busiest moment (corporate ≈ 1, hosting ≈ 0.05). */
  readonly peakOnlineFraction: number;
  /** Per-server capacities to size against, in online users per server. */
  readonly capacities: ReadonlyArray<{ readonly label: string; readonly perServer: number }>;
  /** Per-user bandwidths to size against, kbit/s per online user. */
  readonly bandwidths: ReadonlyArray<{ readonly label: string; readonly kbpsPerUser: number }>;
  /** One site behind a slow link (e.g. a branch office on 56 or 128 kbit/s), optional. */
  readonly site?: { readonly users: number; readonly linkKbps: number };
}

export interface SizingAnswer {
  readonly peakOnline: number;
  /** `servers` is null when the capacity is unknown or zero (nothing can be said). */
  readonly servers: ReadonlyArray<{ readonly label: string; readonly perServer: number; readonly servers: number | null }>;
  readonly bandwidth: ReadonlyArray<{
    readonly label: string;
    readonly kbpsPerUser: number;
    /** Whole population at peak, kbit/s. */
    readonly totalKbps: number;
    readonly siteKbps: number | null;
    /** Site traffic over the site's link speed (1 = the link is full). */
    readonly siteLinkUse: number | null;
  }>;
}

export function sizeDeployment(query: SizingQuery): SizingAnswer {
  const fraction = Math.min(1, Math.max(0, query.peakOnlineFraction));
  const peakOnline = Math.ceil(Math.max(0, query.users) * fraction);
  const servers = [];
  for (const capacity of query.capacities) {
    const usable = Number.isFinite(capacity.perServer) && capacity.perServer > 0;
    servers.push({
      label: capacity.label,
      perServer: capacity.perServer,
      servers: usable ? (peakOnline === 0 ? 0 : Math.ceil(peakOnline / capacity.perServer)) : null,
    });
  }
  const siteOnline = query.site ? Math.ceil(Math.max(0, query.site.users) * fraction) : null;
  const bandwidth = [];
  for (const b of query.bandwidths) {
    const siteKbps = siteOnline === null ? null : siteOnline * b.kbpsPerUser;
    const linkKbps = query.site ? query.site.linkKbps : 0;
    bandwidth.push({
      label: b.label,
      kbpsPerUser: b.kbpsPerUser,
      totalKbps: peakOnline * b.kbpsPerUser,
      siteKbps,
      siteLinkUse: siteKbps === null || !(linkKbps > 0) ? null : siteKbps / linkKbps,
    });
  }
  return { peakOnline, servers, bandwidth };
}
