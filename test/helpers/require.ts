import type { TestContext } from 'node:test';
import { which } from '../../src/lab/process.js';

/**
 * Integration tests need real servers. In CI a missing server is a failure (the CI script
 * installs them); on a developer machine the test is skipped and says what to install.
 * Returns false when the caller should return early.
 */
export function requireBinary(t: TestContext, binary: string, debianPackage: string): boolean {
  if (which(binary)) return true;
  const message = `${binary} not found: install the Debian package '${debianPackage}' (imload lab install)`;
  if (process.env.CI) throw new Error(message);
  t.skip(message);
  return false;
}
