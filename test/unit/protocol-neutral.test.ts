/**
 * The protocol-neutral folders learn about protocols only from the registry of descriptors: none
 * imports a protocol's folder (`src/protocols/<name>/`), and none writes a protocol's name, URL
 * scheme or lab server kind as a string literal (a hand-written list or branch). The names come
 * from the registry, so a new protocol is covered as soon as its registry line exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_KINDS, PROTOCOLS, URL_SCHEMES } from '../../src/protocols/registry.js';

const NEUTRAL = ['engine', 'metrics', 'analysis', 'report', 'capacity', 'scenarios', 'commands', 'lab'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** The code without comments, so a comment may still say "IRC 001" or `sip://`. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const NAMES = new Set([...PROTOCOLS, ...URL_SCHEMES.map((s) => s.scheme), ...LAB_KINDS]);
/** An import (static or dynamic) of anything inside a folder under src/protocols/. */
const FOLDER_IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"][^'"]*\bprotocols\/[^/'"]+\//;
const LITERAL = /'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`$\\\n]*)`/g;

test('engine, metrics, analysis, report, capacity, scenarios, commands and lab import no protocol folder and name no protocol', () => {
  const problems: string[] = [];
  for (const folder of NEUTRAL) {
    for (const file of sources(join('src', folder))) {
      const lines = code(readFileSync(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (FOLDER_IMPORT.test(line)) {
          problems.push(`${file}:${i + 1}: imports a protocol folder: ${line.trim()}`);
        }
        for (const match of line.matchAll(LITERAL)) {
          const literal = match[1] ?? match[2] ?? match[3] ?? '';
          if (NAMES.has(literal)) problems.push(`${file}:${i + 1}: names ${literal}: ${line.trim()}`);
        }
      });
    }
  }
  assert.deepEqual(problems, []);
});

test('the check sees a protocol name and a protocol folder import where they are written', () => {
  const line = code(`const x = protocol === 'sip' ? 'udp' : 'tcp'; // 'irc' in a comment is fine`);
  assert.deepEqual([...line.matchAll(LITERAL)].map((m) => m[1]).filter((l) => NAMES.has(l!)), ['sip']);
  assert.ok(FOLDER_IMPORT.test(`import { startInspircd } from '../protocols/irc/lab.js';`));
  assert.ok(FOLDER_IMPORT.test(`  const { main } = await import('../protocols/rvp/server/main.js');`));
  assert.ok(!FOLDER_IMPORT.test(`import { loadProtocol } from '../protocols/registry.js';`));
});
