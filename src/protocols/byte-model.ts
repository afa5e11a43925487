/**
 * The shape of a protocol's byte model: application bytes on the wire (both directions, as imload
 * counts them) per event. Each protocol's descriptor carries its constants; `simulate` and the
 * bandwidth normalisation (src/analysis/) apply them.
 */
export interface TimedTraffic {
  /** What the timer is (a keep-alive, a refresh). */
  readonly what: string;
  /** Bytes per user each time it fires. */
  readonly bytes: number;
  /** Bytes per contact each time it fires (subscription refreshes). */
  readonly bytesPerContact: number;
  /** Period in wall seconds: protocol timers run on wall time whatever the timeScale. */
  readonly everySeconds: number;
}

export interface ByteModel {
  readonly protocol: string;
  /** The server the constants were fitted against. */
  readonly fittedAgainst: string;
  /**
   * The IM domain of the fitting runs, for protocols that name it in every address: each address
   * carries its length, so a run on another domain differs by a few per cent (a SIP exchange names
   * it four to six times). `imload plan --lab` runs the protocol on it.
   */
  readonly domain?: string;
  readonly channels: boolean;
  readonly presence: boolean;
  /** Logon: fixed part, plus per contact subscribed (RVP, SIP). */
  readonly logon: number;
  readonly logonPerContact: number;
  /** Per channel joined, plus per member already there (the JOIN announced to each, their names to the joiner). */
  readonly join: number;
  readonly joinPerMember: number;
  readonly logoff: number;
  readonly logoffPerContact: number;
  /** Per member of the leaver's channels told of the QUIT. */
  readonly logoffPerMember: number;
  /** An instant message: the sender's request and its acknowledgement, then each delivery. */
  readonly message: number;
  readonly messageDelivery: number;
  readonly channelMessage: number;
  readonly channelDelivery: number;
  /** A presence change: the publication, then the notification to each online watcher. */
  readonly presenceChange: number;
  readonly presenceNotify: number;
  /**
   * A presence notification one server relays to another for a watcher homed there (request and
   * answer), where sites have servers of their own (`imload plan`'s WAN per link); default
   * presenceNotify.
   */
  readonly presenceRelay?: number;
  /** Copies of the message body on the wire per send and per delivery (to follow messageBytes). */
  readonly bodyCopiesPerSend: number;
  readonly bodyCopiesPerDelivery: number;
  readonly timers: readonly TimedTraffic[];
}

