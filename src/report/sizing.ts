/**
 * The report's sizing table uses the same arithmetic as `imload plan`: it lives in
 * src/analysis/sizing.ts and is re-exported here so the report's imports keep working.
 */
export { sizeDeployment, type SizingAnswer, type SizingQuery } from '../analysis/sizing.js';
