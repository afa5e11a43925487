/** A real server the lab started on loopback. Every protocol's lab starter returns one. */
export interface LabServer {
  /** Server software, e.g. a lab kind of the protocol's descriptor, or a role of it (`rvp-home`). */
  readonly kind: string;
  /** Short name used in scenario targets and `imload lab status`. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Target URL as a scenario would name it, e.g. irc://127.0.0.1:6667 */
  readonly url: string;
  readonly pid: number;
  /** Working folder: generated config, logs, pid file. */
  readonly dir: string;
  /** Server version as the server reports it, when known. */
  readonly version?: string;
  /** The server process's open-file limit (caps how many clients one process can hold). */
  readonly fdLimit?: number;
  /** Stops the server by PID (TERM, then KILL after a grace period) and reaps it. */
  stop(): Promise<void>;
  /** Lets the server outlive this imload process (`imload lab up`); stop it later by PID. */
  keep?(): void;
}

/** Raised when a lab server cannot be started: binary missing, config rejected, never ready. */
export class LabError extends Error {
  constructor(
    message: string,
    readonly kind: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

/** What the lab needs to know about the run to serve it (users to provision, transport, ...). */
export interface LabContext {
  readonly users?: number;
  readonly namePattern?: string;
  readonly domain?: string;
  /** Password every user logs on with; authentication is on when set. */
  readonly password?: string;
  readonly transport?: 'tcp' | 'udp' | 'tls';
  /** Home servers behind the router, for `rvp-cluster`. */
  readonly homes?: number;
  /** Let the servers outlive this process (`imload lab up`). */
  readonly keep?: boolean;
  /**
   * Where to listen instead of a free port on 127.0.0.1: a network namespace's own address and
   * port (netns.ts), admitting clients from `allow` (CIDR). Honoured by the lab servers that can
   * run in a namespace (InspIRCd; Kamailio listens there and admits anyone).
   */
  readonly host?: string;
  readonly port?: number;
  readonly allow?: string;
  /** Servers in a linked network lab (`inspircd-network`). */
  readonly servers?: number;
  /**
   * One server of a deployment spread over network namespaces (`imload plan --lab`), listening
   * on `host`/`port`: honoured by the lab servers of the home-server plan role, and by Kamailio
   * as one of federated pools (`homes` are then the pools, `role` is `home`).
   */
  readonly deployment?: LabDeploymentRole;
}

/** A home server of a deployment spread over sites, and the users it holds. */
export interface LabHome {
  /** Its base URL (http://HOST:PORT), as clients and its peers reach it. */
  readonly url: string;
  /** Its users: those whose index mod the deployment's modulus is one of these, i.e. the users `imload run --segment r+1/modulus` runs. */
  readonly residues: readonly number[];
}

export interface LabDeploymentRole {
  /** A home server, the router in front of the homes, or one server doing both (a single home). */
  readonly role: 'home' | 'router' | 'combined';
  /** Every home server of the deployment (none for `combined`). */
  readonly homes: readonly LabHome[];
  readonly modulus: number;
  /** A home's own URL, as it appears in `homes`. */
  readonly self?: string;
}

/** A server-to-server link of a lab network, carried through a counting proxy. */
export interface LabLink {
  /** e.g. `s1-s2`. */
  readonly name: string;
  /** Indexes in `LabTarget.servers` of the server dialled (parent) and the dialler (child). */
  readonly parent: number;
  readonly child: number;
  readonly proxy: {
    stats(): { readonly upstreamBytes: number; readonly downstreamBytes: number; readonly accepted: number; readonly dropped: number; readonly open: number };
    cut(ms: number): number;
  };
}

/** A started lab and how a target reaches it. */
export interface LabTarget {
  /** The server a target connects to. */
  readonly primary: LabServer;
  readonly servers: readonly LabServer[];
  readonly url: string;
  /** A linked network: every server's client URL (`url` is the first), the target's users spread over them. */
  readonly urls?: readonly string[];
  /** A linked network's server-to-server links. */
  readonly links?: readonly LabLink[];
  /** A linked network: resolves once every server sees the whole network again (after a netsplit). */
  waitWhole?(timeoutMs: number): Promise<void>;
  readonly transport?: 'tcp' | 'udp' | 'tls';
  readonly domain?: string;
  /** Extra agent options, e.g. Kamailio's ctl socket for the online-count cross-check. */
  readonly options?: Readonly<Record<string, unknown>>;
  readonly ca?: string;
  stop(): Promise<void>;
  /**
   * Server faults: stop a server, and start it again on the same port (where supported). A lab of
   * several servers names those it can kill (`servers`, the first the default), and is told which.
   */
  readonly outage?: { readonly servers?: readonly string[]; down(server?: string): Promise<void>; up(server?: string): Promise<void> };
  /** The server processes' ids now (a restarted server has a new one), for the run to sample. */
  serverPids(): readonly number[];
}

/** What `imload lab up` starts besides the protocols' servers: a receiver for `--out prometheus=…`. */
export const LAB_TOOLS = ['prometheus'] as const;
