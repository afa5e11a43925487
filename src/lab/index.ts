/**
 * The lab: real servers on loopback for tests, the demo and product testers. `startLabFor`
 * starts what a scenario target names (`lab:`) and says how to point the target at it. The lab
 * server kinds, and the code that starts each, belong to the protocols (their descriptors'
 * `lab` entries, found through the registry); this folder holds what they share.
 */
import { LAB_KINDS, labServerOf } from '../protocols/registry.js';
import { which } from './process.js';
import { LabError, type LabContext, type LabTarget } from './types.js';

export type { LabContext, LabTarget };
export { LAB_KINDS };

/** A lab server kind's name, e.g. `inspircd` (the registry lists them: LAB_KINDS). */
export type LabKind = string;

export async function startLabFor(kind: LabKind, context: LabContext = {}): Promise<LabTarget> {
  const server = labServerOf(kind);
  if (!server) throw new LabError(`unknown lab server "${kind}" (known: ${LAB_KINDS.join(', ')})`, kind);
  const missing = missingPrograms([kind])[0];
  if (missing) throw new LabError(missing.problem, kind, missing.remedy);
  return server.start(context);
}

/** A lab server kind whose programs this host lacks: what is missing, said for a person, and how to get it. */
export interface MissingPrograms {
  readonly kind: LabKind;
  readonly problem: string;
  readonly remedy: string;
}

/**
 * The kinds (of those given, each once) whose programs are not installed here. Checked before a lab
 * starts anything, so a host without, say, Kamailio hears it in one line, not from a helper that exits
 * after half a lab of several servers is up.
 */
export function missingPrograms(kinds: readonly LabKind[]): MissingPrograms[] {
  return [...new Set(kinds)].flatMap((kind) => {
    const server = labServerOf(kind);
    const absent = server?.executables.filter((program) => which(program) === undefined) ?? [];
    if (!server || absent.length === 0) return [];
    const packages = server.packages.join(' ');
    return [{
      kind,
      problem: `${absent.join(' and ')} ${absent.length === 1 ? 'is' : 'are'} not installed (the lab's ${server.title} runs ${absent.length === 1 ? 'it' : 'them'})`,
      remedy: `install the Debian package${server.packages.length === 1 ? '' : 's'} '${packages}' (imload lab install)`,
    }];
  });
}
