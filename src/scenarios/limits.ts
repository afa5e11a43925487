/**
 * Built-in limit profiles: documented per-server figures as data, each with its source and the
 * wording it paraphrases (../shared/limits.md). Each protocol's descriptor carries the profiles of
 * the products that speak it; this gathers them, each tagged with its protocol. Scenario files may
 * add their own under `profiles:` (a vendor's figures, or a capacity measured earlier); those win
 * over built-ins.
 */
import { DESCRIPTORS } from '../protocols/registry.js';
import type { LimitProfile } from './schema.js';

export const BUILT_IN_PROFILES: Readonly<Record<string, LimitProfile>> = Object.fromEntries(
  DESCRIPTORS.flatMap((descriptor) =>
    Object.entries(descriptor.limitProfiles).map(([name, profile]): [string, LimitProfile] => [
      name,
      { title: profile.title, version: profile.version ?? '1', protocol: descriptor.name, figures: profile.figures.map((figure) => ({ ...figure })) },
    ]),
  ),
);

export function findProfile(name: string, custom: Readonly<Record<string, LimitProfile>>): LimitProfile | undefined {
  return custom[name] ?? BUILT_IN_PROFILES[name];
}
