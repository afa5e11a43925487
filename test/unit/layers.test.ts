/**
 * The layer rules (issue #18: "layers that point one way"), checked over every
 * src/**\/*.ts file, static imports, re-exports, `import type`, dynamic `import()` and `require()`:
 *
 *   base (text, faults, exit-codes, version, runtime) < metrics < protocols and the lab's tools
 *     < scenarios < analysis < {engine, capacity, report, the lab's starters} < commands < cli, api
 *
 * - A file imports only from its own layer or below; among the peers, report and capacity never
 *   import each other and the engine imports neither.
 * - Above the protocols, only the protocols' neutral API is imported: the files at the root of
 *   src/protocols/ (types, descriptor, registry, errors, byte-model, deadline, …), which are
 *   themselves held to the neutral rules below; never a protocol folder `src/protocols/<name>/`,
 *   which only registry.ts imports. No protocol folder imports another.
 * - The protocol-neutral folders (NEUTRAL) and the protocols' neutral API name no protocol — not
 *   in an identifier, a string, a template or a regular expression (comments are free): a name is
 *   a whole word of a token (split at non-letters and camelCase), so `sipp` in a bench path or
 *   `InspIRCd` is no protocol, while `sip`, `SIP_PORT`, `ircServer` and `'rvps://'` are.
 *
 * TypeScript 7's package has no compiler API, so a scanner reads the tokens: comments, strings,
 * templates (with nested `${}`), regular expressions, identifiers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { LAB_KINDS, PROTOCOLS, URL_SCHEMES } from '../../src/protocols/registry.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');

/**
 * Protocol names and their URL schemes, as words, from the registry: a new protocol is covered as
 * soon as its registry line exists.
 */
const PROTOCOL_WORDS = new Set([...PROTOCOLS, ...URL_SCHEMES.map((s) => s.scheme)]);
/** Lab server kinds ('inspircd', 'kamailio-pool', …): a whole string naming one is a hand-written branch. */
const LAB_KIND_NAMES = new Set<string>(LAB_KINDS);

/** Folders (under src/) that must not name or import a protocol. */
const NEUTRAL = ['engine', 'metrics', 'analysis', 'report', 'capacity', 'scenarios', 'commands', 'outputs', 'live'];
/** Folders that may name a protocol in an identifier but must not branch on a lab kind's literal name. */
const NO_LAB_KIND_LITERALS = [...NEUTRAL, 'lab'];

/**
 * The protocols' neutral API, which layers above may import: the files at the root of
 * src/protocols/ (types, descriptor, registry, errors, …), not a protocol folder.
 */
const isProtocolApi = (path: string): boolean => /^protocols\/[^/]+\.ts$/.test(path);
/** The one neutral file that imports protocol folders: the list of descriptors. */
const REGISTRY = 'protocols/registry.ts';

/**
 * The lab's starters (which server kinds to start, topologies in network namespaces) read the
 * registry and scenarios, and only commands use them; the rest of src/lab/ are the tools the
 * protocols' lab starters use (processes, ports, TLS, types), below the protocols' layer.
 */
const LAB_STARTERS = new Set(['lab/index.ts', 'lab/netns.ts']);

/** Rank of each layer; peers share a rank. */
const RANK: Record<string, number> = {
  base: 0,
  metrics: 1,
  protocols: 2,
  'lab tools': 2,
  scenarios: 3,
  analysis: 4,
  outputs: 4,
  engine: 5,
  live: 5,
  capacity: 5,
  report: 5,
  'lab starters': 5,
  commands: 6,
  cli: 7,
};

/** Peers of one rank that must not import each other (importer → imported). */
const FORBIDDEN_PEERS: ReadonlyArray<readonly [string, string]> = [
  ['report', 'capacity'],
  ['capacity', 'report'],
  ['engine', 'report'],
  ['engine', 'capacity'],
];

// ---- the scanner ----

type TokenKind = 'ident' | 'string' | 'template' | 'regex' | 'number' | 'punct';

interface Token {
  readonly kind: TokenKind;
  /** Identifier name, string or template chunk contents, regex source, punctuator. */
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

export function scan(source: string): Token[] {
  const tokens: Token[] = [];
  /** Open `{` (false) and template substitutions `${` (true), innermost last. */
  const braces: boolean[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const push = (kind: TokenKind, text: string, at: number, atLine: number, atLineStart: number): void => {
    tokens.push({ kind, text, line: atLine, column: at - atLineStart + 1 });
  };
  const newlines = (from: number, to: number): void => {
    for (let k = from; k < to; k++) {
      if (source[k] === '\n') {
        line++;
        lineStart = k + 1;
      }
    }
  };
  /** Reads template characters from `i` up to the closing backtick or a `${`; returns the chunk. */
  const templateChunk = (): void => {
    const start = i;
    const startLine = line;
    const startLineStart = lineStart;
    let text = '';
    while (i < source.length) {
      const c = source[i]!;
      if (c === '\\') {
        text += source.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (c === '`') {
        i++;
        break;
      }
      if (c === '$' && source[i + 1] === '{') {
        i += 2;
        braces.push(true);
        break;
      }
      text += c;
      i++;
    }
    newlines(start, i);
    push('template', text, start, startLine, startLineStart);
  };
  const regexAllowed = (): boolean => {
    const previous = tokens[tokens.length - 1];
    if (previous === undefined) return true;
    if (previous.kind === 'ident') return REGEX_AFTER_WORDS.has(previous.text);
    if (previous.kind === 'punct') return !(previous.text === ')' || previous.text === ']' || previous.text === '}');
    return false;
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      newlines(i, stop);
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      const start = i;
      let text = '';
      i++;
      while (i < source.length && source[i] !== c && source[i] !== '\n') {
        if (source[i] === '\\') {
          text += source.slice(i, i + 2);
          i += 2;
        } else text += source[i++];
      }
      i++;
      push('string', text, start, line, lineStart);
      continue;
    }
    if (c === '`') {
      i++;
      templateChunk();
      continue;
    }
    if (c === '{') {
      braces.push(false);
      push('punct', c, i, line, lineStart);
      i++;
      continue;
    }
    if (c === '}') {
      if (braces.pop() === true) {
        // The end of a `${…}`: the template goes on.
        i++;
        templateChunk();
        continue;
      }
      push('punct', c, i, line, lineStart);
      i++;
      continue;
    }
    if (c === '/' && regexAllowed()) {
      // A regular expression literal ends on its line; a `/` that finds no end is division.
      let j = i + 1;
      let inClass = false;
      let closed = false;
      while (j < source.length && source[j] !== '\n') {
        const d = source[j]!;
        if (d === '\\') {
          j += 2;
          continue;
        }
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) {
          closed = true;
          break;
        }
        j++;
      }
      if (closed) {
        push('regex', source.slice(i + 1, j), i, line, lineStart);
        i = j + 1;
        while (i < source.length && /[a-z]/i.test(source[i]!)) i++;
        continue;
      }
    }
    const word = /^#?[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/u.exec(source.slice(i, i + 200));
    if (word !== null) {
      push('ident', word[0].replace(/^#/, ''), i, line, lineStart);
      i += word[0].length;
      continue;
    }
    const number = /^(?:0[xob][\da-f_]+|\d[\d_]*(?:\.[\d_]*)?(?:e[+-]?\d+)?|\.\d[\d_]*)n?/i.exec(source.slice(i, i + 100));
    if (number !== null) {
      push('number', number[0], i, line, lineStart);
      i += number[0].length;
      continue;
    }
    push('punct', c, i, line, lineStart);
    i++;
  }
  return tokens;
}

/** The words of a token: split at anything not a letter or digit, and at camelCase humps. */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(/[^\p{L}\p{N}]+/u)) {
    for (const hump of part.match(/\p{Lu}+(?!\p{Ll})|\p{Lu}?\p{Ll}+|\p{N}+|\p{L}+/gu) ?? []) out.push(hump.toLowerCase());
  }
  return out;
}

interface ImportSite {
  readonly specifier: string;
  readonly token: Token;
}

/** Module specifiers: `from '…'`, `import '…'`, `import('…')`, `require('…')`. */
function importsOf(tokens: readonly Token[]): { imports: ImportSite[]; specifierTokens: Set<Token> } {
  const imports: ImportSite[] = [];
  const specifierTokens = new Set<Token>();
  for (let k = 0; k < tokens.length - 1; k++) {
    const token = tokens[k]!;
    if (token.kind !== 'ident') continue;
    const next = tokens[k + 1]!;
    let specifier: Token | undefined;
    if ((token.text === 'from' || token.text === 'import') && next.kind === 'string') specifier = next;
    else if ((token.text === 'import' || token.text === 'require') && next.text === '(' && tokens[k + 2]?.kind === 'string') {
      // A whole literal only: `import(\`./x/${name}\`)` is a template, not followed here.
      if (tokens[k + 3]?.text === ')' || tokens[k + 3]?.text === ',') specifier = tokens[k + 2];
    }
    if (specifier === undefined) continue;
    imports.push({ specifier: specifier.text, token: specifier });
    specifierTokens.add(specifier);
  }
  return { imports, specifierTokens };
}

// ---- layers ----

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}

/** The path under src/, with forward slashes. */
const srcPath = (file: string): string => relative(SRC, file).split(sep).join('/');

function layerOf(path: string): string {
  const top = path.split('/')[0]!;
  if (path === 'cli.ts' || path === 'api.ts') return 'cli';
  if (path === 'exit-codes.ts' || path === 'version.ts' || path === 'runtime.ts' || top === 'text' || top === 'faults') return 'base';
  if (top === 'lab') return LAB_STARTERS.has(path) ? 'lab starters' : 'lab tools';
  if (!(top in RANK)) throw new Error(`src/${path}: no layer is defined for it; add it to layers.test.ts`);
  return top;
}

/** `irc` for src/protocols/irc/…, undefined for files outside a protocol folder. */
function protocolFolderOf(path: string): string | undefined {
  const parts = path.split('/');
  return parts[0] === 'protocols' && parts.length > 2 ? parts[1] : undefined;
}

const isNeutral = (path: string): boolean => NEUTRAL.includes(path.split('/')[0]!) || (isProtocolApi(path) && path !== REGISTRY);

interface Parsed {
  readonly path: string;
  readonly tokens: Token[];
  readonly imports: { readonly target: string; readonly token: Token }[];
  readonly specifierTokens: Set<Token>;
}

function parseAll(): Parsed[] {
  return sourceFiles(SRC).map((file) => {
    const tokens = scan(readFileSync(file, 'utf8'));
    const { imports, specifierTokens } = importsOf(tokens);
    const internal = imports
      .filter((site) => site.specifier.startsWith('.'))
      .map((site) => ({ target: srcPath(resolve(dirname(file), site.specifier.replace(/\.js$/, '.ts'))), token: site.token }));
    return { path: srcPath(file), tokens, imports: internal, specifierTokens };
  });
}

export function layerViolations(files: readonly Parsed[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const from = layerOf(file.path);
    for (const { target, token } of file.imports) {
      const where = `src/${file.path}:${token.line}:${token.column} imports src/${target}`;
      if (target.startsWith('..')) {
        problems.push(`${where}: outside src/`);
        continue;
      }
      const to = layerOf(target);
      const folder = protocolFolderOf(target);
      if (RANK[to]! > RANK[from]!) problems.push(`${where}: ${from} is below ${to}`);
      for (const [a, b] of FORBIDDEN_PEERS) if (from === a && to === b) problems.push(`${where}: ${a} never imports ${b}`);
      if (folder !== undefined && isNeutral(file.path)) problems.push(`${where}: a protocol folder, from protocol-neutral code`);
      else if (to === 'protocols' && RANK[from]! > RANK.protocols! && !isProtocolApi(target)) {
        problems.push(`${where}: above the protocols, import only their neutral API (the files of src/protocols/, not its folders)`);
      }
      const own = protocolFolderOf(file.path);
      if (folder !== undefined && own !== undefined && own !== folder) problems.push(`${where}: one protocol folder imports another`);
    }
  }
  return problems;
}

export function nameViolations(files: readonly Parsed[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    if (NO_LAB_KIND_LITERALS.includes(file.path.split('/')[0]!)) {
      for (const token of file.tokens) {
        if ((token.kind === 'string' || token.kind === 'template') && LAB_KIND_NAMES.has(token.text)) {
          problems.push(`src/${file.path}:${token.line}:${token.column}: ${token.kind} ${JSON.stringify(token.text)} names a lab server kind`);
        }
      }
    }
    if (!isNeutral(file.path)) continue;
    for (const token of file.tokens) {
      if (token.kind === 'number' || token.kind === 'punct' || file.specifierTokens.has(token)) continue;
      const named = words(token.text).filter((word) => PROTOCOL_WORDS.has(word));
      if (named.length === 0) continue;
      const shown = token.kind === 'ident' ? token.text : JSON.stringify(token.text.length > 60 ? `${token.text.slice(0, 57)}...` : token.text);
      problems.push(`src/${file.path}:${token.line}:${token.column}: ${token.kind} ${shown} names ${[...new Set(named)].join(', ')}`);
    }
  }
  return problems;
}

// ---- the scanner and the rules on small inputs, so the checks below can be trusted ----

test('the scanner: comments are free; strings, templates, regexes and identifiers are read', () => {
  const source = [
    "// irc in a comment, /* and 'sip' in a line comment",
    "/* rvp:// in a block comment */ const a = 'irc://h', b = \"x\";",
    'const t = `one ${ { k: `sip ${x}` }.k } two`, r = /rvps?:\\/\\//i, d = a / 2 / 3;',
    "import type { X } from './protocols/irc/index.js'; await import('./y.js'); let sippPath = 'bench/sipp/x';",
  ].join('\n');
  const tokens = scan(source);
  const literal = tokens.filter((t) => t.kind !== 'punct' && t.kind !== 'number').map((t) => `${t.kind}:${t.text}@${t.line}`);
  assert.deepEqual(literal, [
    'ident:const@2', 'ident:a@2', 'string:irc://h@2', 'ident:b@2', 'string:x@2',
    'ident:const@3', 'ident:t@3', 'template:one @3', 'ident:k@3', 'template:sip @3', 'ident:x@3', 'template:@3', 'ident:k@3', 'template: two@3',
    'ident:r@3', 'regex:rvps?:\\/\\/@3', 'ident:d@3', 'ident:a@3',
    'ident:import@4', 'ident:type@4', 'ident:X@4', 'ident:from@4', 'string:./protocols/irc/index.js@4', 'ident:await@4', 'ident:import@4', 'string:./y.js@4',
    'ident:let@4', 'ident:sippPath@4', 'string:bench/sipp/x@4',
  ]);
  assert.deepEqual(importsOf(tokens).imports.map((site) => site.specifier), ['./protocols/irc/index.js', './y.js']);
});

test('protocol names are whole words: sip, SIP_PORT, ircServer, rvps:// are; sipp, InspIRCd, gossip are not', () => {
  const named = (text: string) => words(text).some((word) => PROTOCOL_WORDS.has(word));
  for (const text of ['sip', 'SIP_PORT', 'ircServer', 'rvps://host', 'xmpp', 'sip:alice@example.com', 'parseSipUri', 'XMPPS']) assert.ok(named(text), text);
  for (const text of ['sipp', 'bench/sipp/run.sh', 'InspIRCd', 'gossip', 'ngircd', 'tipsy', 'circle']) assert.ok(!named(text), text);
});

test('the rules catch a protocol folder imported from the engine and report → capacity', () => {
  const file = (path: string, source: string): Parsed => {
    const tokens = scan(source);
    const { imports, specifierTokens } = importsOf(tokens);
    return {
      path,
      tokens,
      specifierTokens,
      imports: imports.map((site) => ({ target: srcPath(resolve(dirname(join(SRC, path)), site.specifier.replace(/\.js$/, '.ts'))), token: site.token })),
    };
  };
  const problems = layerViolations([
    file('engine/x.ts', "import { a } from '../protocols/irc/user.js';\nimport { b } from '../protocols/registry.js';"),
    file('report/y.ts', "export * from '../capacity/plan.js';"),
    file('analysis/z.ts', "const m = await import('../engine/vu.js');"),
    file('cli.ts', "const { main } = await import('./protocols/rvp/server/main.js');"),
  ]);
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.match(problems.join('\n'), /cli\.ts:1:31 imports src\/protocols\/rvp\/server\/main\.ts: above the protocols, import only their neutral API/);
  assert.match(problems.join('\n'), /engine\/x\.ts:1:19 imports src\/protocols\/irc\/user\.ts: a protocol folder, from protocol-neutral code/);
  assert.match(problems.join('\n'), /report never imports capacity/);
  assert.match(problems.join('\n'), /analysis is below engine/);
});

test('the rules catch a lab kind branched on by name in the lab starters, and a protocol named in the engine', () => {
  const file = (path: string, source: string): Parsed => {
    const tokens = scan(source);
    return { path, tokens, specifierTokens: importsOf(tokens).specifierTokens, imports: [] };
  };
  const problems = nameViolations([
    file('lab/index.ts', "if (kind === 'kamailio-pool') start(); const label = 'kamailio pool';"),
    file('engine/x.ts', "const udp = protocol === 'sip';"),
    file('protocols/sip/lab.ts', "const kind = 'kamailio-pool';"),
  ]);
  assert.deepEqual(problems, [
    'src/lab/index.ts:1:14: string "kamailio-pool" names a lab server kind',
    'src/engine/x.ts:1:26: string "sip" names sip',
  ]);
});

// ---- the code base ----

test('imports point one way: the layer order, the peers apart, protocol folders through the registry only', () => {
  const problems = layerViolations(parseAll());
  assert.deepEqual(problems, [], `${problems.length} import(s) against the layers:\n${problems.join('\n')}`);
});

test('protocol-neutral code names no protocol (identifiers, strings, templates, regexes; comments excluded)', () => {
  const problems = nameViolations(parseAll());
  assert.deepEqual(problems, [], `${problems.length} protocol name(s) in protocol-neutral code:\n${problems.join('\n')}`);
});

/** Import cycles (strongly connected modules, `import type` included) among `paths`. */
function cycles(files: readonly Parsed[], within: (path: string) => boolean): string[][] {
  const edges = new Map<string, string[]>();
  for (const file of files) if (within(file.path)) edges.set(file.path, file.imports.map((i) => i.target).filter(within));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('the protocols import one way too: no import cycle among their modules (e.g. an IRC user and its CAP and auditorium units)', () => {
  const found = cycles(parseAll(), (path) => path.startsWith('protocols/'));
  assert.deepEqual(found, [], found.map((c) => c.join(' ⇄ ')).join('\n'));
});
