/**
 * The lab: real servers on loopback for tests, the demo and product testers. `startLabFor`
 * starts what a scenario target names (`lab:`) and says how to point the target at it. The lab
 * server kinds, and the code that starts each, belong to the protocols (their descriptors'
 * `lab` entries, found through the registry); this folder holds what they share.
 */
import { LAB_KINDS, labServerOf } from '../protocols/registry.js';
import { LabError, type LabContext, type LabTarget } from './types.js';

export type { LabContext, LabTarget };
export { LAB_KINDS };

/** A lab server kind's name, e.g. `inspircd` (the registry lists them: LAB_KINDS). */
export type LabKind = string;

export async function startLabFor(kind: LabKind, context: LabContext = {}): Promise<LabTarget> {
  const server = labServerOf(kind);
  if (!server) throw new LabError(`unknown lab server "${kind}" (known: ${LAB_KINDS.join(', ')})`, kind);
  return server.start(context);
}
