/** The each-instance channel mode's cost as the text and HTML reports say it (one wording for both). */
import type { EachInstanceSummary } from '../analysis/each-instance.js';
import { formatNumber } from './format.js';

/** "2 servers not linked, 2 connections per user: +1,200 messages (…), +345.6 KiB (…), 98.5 % more bytes than one linked instance". */
export function describeEachInstance(e: EachInstanceSummary): string {
  const kib = (bytes: number) => `${formatNumber(bytes / 1024, 1)} KiB`;
  const ratio = e.extraBytesRatio === null ? 'no bytes on the users’ own connections to compare with' : `${formatNumber(e.extraBytesRatio * 100, 1)} % more bytes than one linked instance`;
  return (
    `${formatNumber(e.servers)} servers not linked, ${formatNumber(e.connectionsPerUser)} connections per user: ` +
    `+${formatNumber(e.extraMessages)} messages (${formatNumber(e.extraPosts)} extra posts, ${formatNumber(e.extraCopies)} extra copies received, duplicates by design), ` +
    `+${kib(e.extraBytes)} (${kib(e.extraBytesIn)} in, ${kib(e.extraBytesOut)} out), ${ratio}`
  );
}
