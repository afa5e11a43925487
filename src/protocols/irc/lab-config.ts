/**
 * Load-test configurations for the lab IRC servers: no per-address limits, flood control lifted
 * for the test clients, no DNS or ident lookups (research/irc.md § 2; lab-results.md).
 */

export interface IrcLabConfig {
  readonly port: number;
  readonly dir: string;
  /** Server-wide client cap (0 = up to the process's file limit). */
  readonly maxClients?: number;
  /** InspIRCd only: address to listen on (default 127.0.0.1), e.g. a network namespace's (netns.ts). */
  readonly host?: string;
  /** InspIRCd only: clients the load-test connect class admits, default all of loopback. */
  readonly allow?: string;
}

/** InspIRCd extras, off by default: a TLS listener and a connect password. */
export interface InspircdLabConfig extends IrcLabConfig {
  /** A second client listener speaking TLS (module ssl_gnutls, the one the Debian build ships). */
  readonly tls?: { readonly port: number; readonly certificateFile: string; readonly privateKeyFile: string };
  /** Every client must send this with PASS. It ends up in the config: write that file 0600. */
  readonly password?: string;
  /** A server that paces registrations like a stock production one: see `ConnectThrottle`. */
  readonly throttle?: ConnectThrottle;
  /** One server of a linked network (module spanningtree): its name, id and links. */
  readonly link?: SpanningTreeConfig;
}

/** A server's place in a linked lab network (research: InspIRCd 3 `<link>`, `<autoconnect>`). */
export interface SpanningTreeConfig {
  /** Server name, unique in the network, e.g. `s2.imload.lab`. */
  readonly name: string;
  /** Server id (SID): a digit and two letters or digits, unique in the network. */
  readonly sid: string;
  /** Port this server accepts server links on (type="servers"). */
  readonly linkPort: number;
  /** Shared link password (the lab's own, both directions). */
  readonly password: string;
  /** The servers it links with: `autoconnect` for the one it dials (its parent in the tree). */
  readonly peers: readonly { readonly name: string; readonly host: string; readonly port: number; readonly autoconnect: boolean }[];
}

/**
 * InspIRCd's connect throttle (module connflood): once `maxConnections` users register within
 * `periodSeconds`, every registration is refused with `ERROR :... (Throttled)` for `timeoutSeconds`.
 * Server-wide, not per address, so it paces the whole load generator as it would a botnet.
 */
export interface ConnectThrottle {
  readonly maxConnections: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
}

export function inspircdConfig({ port, dir, maxClients, tls, password, throttle, link, host = '127.0.0.1', allow = '127.0.0.0/8' }: InspircdLabConfig): string {
  const modules = [
    'cap',
    'auditorium',
    'ircv3',
    'ircv3_servertime',
    'ircv3_echomessage',
    'ircv3_msgid',
    'ircv3_ctctags',
    'ircv3_batch',
    'ircv3_labeledresponse',
    'namesx',
  ];
  return [
    link
      ? `<server name="${link.name}" description="imload lab" network="ImloadLab" id="${link.sid}">`
      : '<server name="insp.imload.lab" description="imload lab" network="ImloadLab">',
    '<admin name="imload" nick="imload" email="imload@localhost">',
    `<path configdir="${dir}" datadir="${dir}" logdir="${dir}">`,
    `<pid file="${dir}/inspircd.pid">`,
    `<bind address="${host}" port="${port}" type="clients">`,
    // One class for all of loopback (or the namespace subnet): no clone limits, no fakelag, huge
    // command rate; pings rare so idle virtual users are not disconnected, registration timeout generous.
    `<connect name="imload" allow="${allow}" maxchans="100" timeout="120" pingfreq="3600"`,
    '         hardsendq="16M" softsendq="1M" recvq="64K" threshold="1000000" commandrate="100000000"',
    `         fakelag="no" localmax="0" globalmax="0" maxconnwarn="no" limit="${maxClients ?? 0}"`,
    ...(password !== undefined ? [`         password="${configValue(password)}" hash="plaintext"`] : []),
    '         resolvehostnames="no" useident="no" usednsbl="no">',
    // softlimit: the process's own cap (20000 files here); the kernel stops it first anyway.
    `<performance softlimit="${maxClients && maxClients > 0 ? maxClients : 20000}" somaxconn="4096" clonesonconnect="no">`,
    '<channels users="100" opers="100">',
    // "o" makes a channel's creator its operator, which the auditorium hosts rely on.
    '<options defaultmodes="not">',
    ...modules.map((name) => `<module name="${name}">`),
    // Presenters (ops) see everyone; listeners see the presenters and themselves.
    '<auditorium opvisible="yes" opcansee="yes" opercansee="yes">',
    ...(throttle
      ? [
          '<module name="connflood">',
          // bootwait 0: throttle from the start (the default lets the first 10 s to 2 min through).
          `<connflood maxconns="${throttle.maxConnections}" period="${throttle.periodSeconds}" timeout="${throttle.timeoutSeconds}" bootwait="0" quitmsg="Throttled">`,
        ]
      : []),
    ...(link ? spanningTree(link, host) : []),
    `<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="${dir}/ircd.log">`,
    ...(tls
      ? [
          '<module name="ssl_gnutls">',
          // dhfile="": ECDHE only; the lab's certificate is a P-256 key.
          `<sslprofile name="imload" provider="gnutls" certfile="${tls.certificateFile}" keyfile="${tls.privateKeyFile}" dhfile="" hash="sha256" requestclientcert="no">`,
          `<bind address="127.0.0.1" port="${tls.port}" type="clients" sslprofile="imload">`,
        ]
      : []),
    '',
  ].join('\n');
}

/**
 * The server-to-server part: a link listener, a `<link>` per neighbour (both ends of a link
 * need one), and `<autoconnect>` to the parent, which the server retries every 2 s after a split.
 */
function spanningTree(link: SpanningTreeConfig, host: string): string[] {
  const password = configValue(link.password);
  const dialled = link.peers.filter((p) => p.autoconnect);
  return [
    '<module name="spanningtree">',
    `<bind address="${host}" port="${link.linkPort}" type="servers">`,
    ...link.peers.map(
      (peer) =>
        `<link name="${peer.name}" ipaddr="${peer.host}" port="${peer.port}" allowmask="${peer.host}/32" timeout="5s" sendpass="${password}" recvpass="${password}">`,
    ),
    ...dialled.map((peer) => `<autoconnect period="2s" server="${peer.name}">`),
  ];
}

/** InspIRCd config values are double-quoted with no escapes: refuse what would break out. */
function configValue(value: string): string {
  if (/["\r\n]/.test(value)) throw new Error('InspIRCd lab: a connect password cannot contain " or line breaks');
  return value;
}

export function ngircdConfig({ port, dir, maxClients }: IrcLabConfig): string {
  return [
    '[Global]',
    '\tName = ng.imload.lab',
    '\tInfo = imload lab',
    '\tListen = 127.0.0.1',
    `\tPorts = ${port}`,
    '\tMotdPhrase = "imload lab"',
    `\tPidFile = ${dir}/ngircd.pid`,
    '[Limits]',
    `\tMaxConnections = ${maxClients ?? 0}`,
    '\tMaxConnectionsIP = 0',
    '\tMaxJoins = 0',
    '\tMaxNickLength = 30',
    // 0 turns the per-command penalty off (ngIRCd warns it is "not recommended": that is the point).
    '\tMaxPenaltyTime = 0',
    '\tPingTimeout = 3600',
    // PongTimeout is also the registration timeout.
    '\tPongTimeout = 600',
    '[Options]',
    '\tDNS = no',
    '\tIdent = no',
    '\tPAM = no',
    // +F lifts the per-loop command limit for every client.
    '\tDefaultUserModes = F',
    `\tIncludeDir = ${dir}/conf.d`,
    '',
  ].join('\n');
}
