/** The lab: real servers on loopback for tests, the demo and product testers. */
import { startInspircd, startNgircd } from './irc.js';
import { LabError, type LabServer } from './types.js';

export type LabKind = 'inspircd' | 'ngircd' | 'kamailio' | 'rvp' | 'rvp-cluster';

export interface LabStartOptions {
  readonly port?: number;
  readonly maxClients?: number;
  readonly quiet?: boolean;
}

export async function startLabServer(kind: LabKind, options: LabStartOptions = {}): Promise<LabServer> {
  switch (kind) {
    case 'inspircd':
      return startInspircd(options);
    case 'ngircd':
      return startNgircd(options);
    default:
      throw new LabError(`the lab cannot start ${kind} yet`, kind);
  }
}
