/**
 * Loads scenarios.yaml and reports every mistake as `file:line:column: path.to.field: problem`,
 * all of them at once, so a user fixes a file in one pass.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, visit, type Alias, type Node, type Document } from 'yaml';
import type { ZodError } from 'zod';
import { ScenarioFile } from './schema.js';
import { BUILT_IN_PROFILES, findProfile } from './limits.js';
import { editDistance } from './suggest.js';
import { labServerOf } from '../protocols/registry.js';

export interface ScenarioProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted path to the field, e.g. `scenarios.chat-smoke.population.users`. */
  readonly path: string;
  readonly message: string;
}

/** Bad input in a scenario file; carries every problem found. Exit code 2. */
export class ScenarioError extends Error {
  constructor(readonly problems: readonly ScenarioProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ScenarioError';
  }
}

/** `file:line:column: path: problem` (modules, which have no YAML positions: `file: path: problem`). */
export function formatProblem(p: ScenarioProblem): string {
  return formatLine(p, '');
}

/** `file:line:column: warning: path: problem`: something that loads but will not do what it says. */
export function formatWarning(p: ScenarioProblem): string {
  return formatLine(p, 'warning: ');
}

function formatLine(p: ScenarioProblem, kind: string): string {
  const at = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return printable(`${at}: ${kind}${p.path || '(file)'}: ${p.message}`);
}

/** Problems quote the user's own keys: control characters are shown escaped, never sent to the terminal. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A path into the scenario file, e.g. `['scenarios', 'smoke', 'thresholds', 0]`. */
export type ScenarioPath = ReadonlyArray<string | number>;

export interface LoadedScenarioFile {
  readonly file: string;
  readonly text: string;
  readonly config: ScenarioFile;
  /** A problem at `path`, placed where the file says it (line and column in YAML). */
  readonly problemAt: (path: ScenarioPath, message: string) => ScenarioProblem;
}

export function loadScenarioFile(file: string): LoadedScenarioFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ScenarioError([{ file, line: 1, column: 1, path: '', message: reason }]);
  }
  return { file, text, ...parseScenarioDocument(text, file) };
}

export function parseScenarioText(text: string, file = '<scenario>'): ScenarioFile {
  return parseScenarioDocument(text, file).config;
}

function parseScenarioDocument(text: string, file: string): Pick<LoadedScenarioFile, 'config' | 'problemAt'> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((error) => {
        const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
        return { file, line: pos.line, column: pos.col, path: '', message: `YAML: ${firstLine(error.message)}` };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // Unresolved or runaway aliases surface only here, as a ReferenceError without a position.
    throw new ScenarioError(aliasProblems(doc, lineCounter, file, error as Error));
  }
  const result = ScenarioFile.safeParse(data);
  if (!result.success) throw new ScenarioError(problemsFromZod(result.error, doc, lineCounter, file));
  const problemAt = (path: ScenarioPath, message: string): ScenarioProblem => ({
    file,
    ...locate(doc, path, lineCounter, false),
    path: dotted(path),
    message,
  });
  const problems = referenceProblems(result.data).map(({ path, message }) => problemAt(path, message));
  if (problems.length > 0) throw new ScenarioError(problems);
  return { config: result.data, problemAt };
}

/** Cross-references the schema cannot express: targets and limit profiles named by scenarios. */
function referenceProblems(config: ScenarioFile): Array<{ path: ScenarioPath; message: string }> {
  const problems: Array<{ path: ScenarioPath; message: string }> = [];
  for (const [name, scenario] of Object.entries(config.scenarios)) {
    if (!config.targets[scenario.target]) {
      problems.push({
        path: ['scenarios', name, 'target'],
        message: `no target named "${scenario.target}" (targets: ${Object.keys(config.targets).join(', ') || 'none'})`,
      });
    }
    scenario.faults.forEach((fault, i) => {
      const [field, named] = 'kill' in fault ? ['kill', fault.kill] : ['netsplit', fault.netsplit];
      if (!config.targets[named]) {
        problems.push({ path: ['scenarios', name, 'faults', i, field], message: `no target named "${named}"` });
      } else if ('kill' in fault && fault.server !== undefined) {
        const problem = faultServerProblem(fault.server, named, config.targets[named].lab);
        if (problem) problems.push({ path: ['scenarios', name, 'faults', i, 'server'], message: problem });
      }
    });
    if (scenario.limits && !findProfile(scenario.limits, config.profiles)) {
      const known = [...Object.keys(config.profiles), ...Object.keys(BUILT_IN_PROFILES)];
      problems.push({ path: ['scenarios', name, 'limits'], message: `no limit profile named "${scenario.limits}" (profiles: ${known.join(', ')})` });
    }
  }
  return problems;
}

/** A kill's `server:` must be one the target's lab starts and can kill. */
function faultServerProblem(server: string, target: string, labKind: string | undefined): string | undefined {
  const lab = labKind === undefined ? undefined : labServerOf(labKind);
  if (lab === undefined) return `target "${target}" has no lab: server names one of the servers a lab starts`;
  const servers = lab.faultServers;
  if (servers === undefined) return `lab server ${lab.kind} starts one server: omit server`;
  if (!servers.includes(server)) return `lab server ${lab.kind} has no server "${server}" (servers: ${servers.join(', ')})`;
  return undefined;
}

/**
 * Places an alias error: every alias with no anchor before it, or (the YAML library's guard
 * against a "billion laughs") the first alias whose anchor itself holds aliases.
 */
function aliasProblems(doc: Document, lines: LineCounter, file: string, error: Error): ScenarioProblem[] {
  const aliases: Alias[] = [];
  visit(doc, { Alias: (_, alias) => void aliases.push(alias) });
  const at = (alias: Alias) => {
    const { line, col } = lines.linePos(alias.range?.[0] ?? 0);
    return { file, line, column: col, path: '' };
  };
  const unresolved = aliases.filter((alias) => alias.resolve(doc) === undefined);
  if (unresolved.length > 0) {
    return unresolved.map((alias) => ({ ...at(alias), message: `YAML: unresolved alias *${alias.source} (no anchor &${alias.source} before it)` }));
  }
  const nested = aliases.find((alias) => {
    let holdsAlias = false;
    visit(alias.resolve(doc) as Node, { Alias: () => void (holdsAlias = true) });
    return holdsAlias;
  });
  const first = nested ?? aliases[0];
  const message = `YAML: ${firstLine(error.message)}`;
  return [first ? { ...at(first), message: `${message} (aliases of aliases expand too far: write the values out)` } : { file, line: 1, column: 1, path: '', message }];
}

function problemsFromZod(error: ZodError, doc: Document, lines: LineCounter, file: string): ScenarioProblem[] {
  const problems: ScenarioProblem[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      // Point at each unknown key itself rather than at the object holding it.
      for (const key of issue.keys) {
        const at = locate(doc, [...path, key], lines, true);
        problems.push({ file, ...at, path: dotted([...path, key]), message: `unknown key "${key}"${suggest(key)}` });
      }
      continue;
    }
    // A problem with a key itself (an unknown protocol option) is pointed at the key, not its value.
    const atKey = issue.code === 'custom' && (issue.params as { atKey?: unknown } | undefined)?.atKey === true;
    const at = locate(doc, path, lines, atKey);
    const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
    problems.push({ file, ...at, path: dotted(path), message: missing ? 'required field is missing' : issue.message });
  }
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Finds the source position of a path; falls back to the nearest existing ancestor. */
function locate(doc: Document, path: ReadonlyArray<string | number>, lines: LineCounter, atKey: boolean) {
  let node: unknown = doc.contents;
  let position = 0;
  for (let i = 0; i < path.length; i++) {
    const step = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(step));
      if (!pair) break;
      const key = pair.key as Node;
      position = key.range?.[0] ?? position;
      const last = i === path.length - 1;
      if (last && atKey) break;
      node = pair.value;
      if (!last) continue;
      position = (pair.value as Node | null)?.range?.[0] ?? position;
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step] as Node | undefined;
      if (!item) break;
      position = item.range?.[0] ?? position;
      node = item;
    } else {
      break;
    }
  }
  const { line, col } = lines.linePos(position);
  return { line, column: col };
}

function dotted(path: ReadonlyArray<string | number>): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** "did you mean" for typos of the schema's own key names. */
function suggest(key: string): string {
  const known = KNOWN_KEYS.find((k) => editDistance(k, key) <= 2 && k !== key);
  return known ? `; did you mean "${known}"?` : '';
}

const KNOWN_KEYS = [
  'version', 'targets', 'profiles', 'scenarios', 'url', 'transport', 'domain', 'password', 'tls', 'lab', 'options',
  'description', 'target', 'limits', 'seed', 'timeScale', 'workers', 'population', 'phases', 'behaviour',
  'thresholds', 'users', 'namePattern', 'contacts', 'channels', 'auditoriums', 'count', 'prefix', 'perUser',
  'spread', 'presenters', 'listeners', 'phase', 'rate', 'maxInFlight', 'duration', 'messagesPerHour',
  'channelMessagesPerHour', 'presenterMessagesPerHour', 'presenceChangesPerHour', 'messageBytes',
  'activityStart', 'drain', 'logonTimeout', 'joinTimeout', 'reconnect', 'enabled', 'maxAttempts',
  'initialDelay', 'maxDelay', 'check', 'abortOnFail', 'delayAbortEval', 'insecure', 'serverName', 'ca',
  'faults', 'at', 'kill', 'server', 'restartAfter', 'netsplit', 'link', 'for', 'stepSearch', 'from', 'step', 'stepDuration', 'windows', 'activityDelay',
];
