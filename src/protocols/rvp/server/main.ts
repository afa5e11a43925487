/**
 * Standalone RVP server process: `node --import tsx src/protocols/rvp/server/main.ts --role combined ...`.
 * Prints exactly one `rvp-server listening on http://HOST:PORT` line when ready (the lab waits
 * for it) and exits 0 on SIGTERM/SIGINT after closing its sockets.
 */
import { parseArgs } from 'node:util';
import type { AuthScheme } from '../wire/auth.js';
import { ConfigError, parseHomeMap, type PasswordSource, type UserSource } from './directory.js';
import type { RvpServerOptions, ServerRole } from './options.js';
import { runRvpServer } from './server.js';

export const USAGE = `usage: rvp-server --role home|router|combined --domain IM-DOMAIN
  [--host 127.0.0.1] [--port 0]
  [--users PATTERN --user-count N [--first-number 0] | --users-file FILE]   PATTERN like u{index:6}
  [--password-env VAR | --password-file FILE] [--auth digest,basic | --no-auth]
  [--home FROM-TO=URL ... | --home hash=URL,URL]          alias -> home server (router; peers)
  [--self-url URL] [--max-inbound 1024] [--second-ms 1000] [--max-lease S] [--max-lifetime S]
  [--request-timeout-ms 30000] [--idle-timeout-ms 120000] [--max-connections-per-address 1024]
  [--tls-cert PEM --tls-key PEM]                          serve HTTPS (rvps://) [--quiet]
  [--notify-state-only]                                   presence NOTIFYs carry r:state alone`;

export function parseServerArgs(argv: readonly string[]): RvpServerOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      role: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      domain: { type: 'string' },
      users: { type: 'string' },
      'user-count': { type: 'string' },
      'first-number': { type: 'string' },
      'users-file': { type: 'string' },
      'password-env': { type: 'string' },
      'password-file': { type: 'string' },
      auth: { type: 'string' },
      'no-auth': { type: 'boolean' },
      home: { type: 'string', multiple: true },
      'self-url': { type: 'string' },
      'max-inbound': { type: 'string' },
      'max-connections-per-address': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'second-ms': { type: 'string' },
      'max-lease': { type: 'string' },
      'max-lifetime': { type: 'string' },
      'request-timeout-ms': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      quiet: { type: 'boolean' },
      'notify-state-only': { type: 'boolean' },
    },
    strict: true,
  });
  const role = values.role as ServerRole | undefined;
  if (role !== 'home' && role !== 'router' && role !== 'combined') throw new ConfigError('--role must be home, router or combined');
  if (!values.domain) throw new ConfigError('--domain is required (the IM domain, e.g. im.example.com)');
  let users: UserSource;
  if (values['users-file']) users = { file: values['users-file'] };
  else if (values.users) {
    const firstNumber = values['first-number'] === undefined ? 0 : int(values['first-number'], '--first-number');
    users = { pattern: values.users, count: int(values['user-count'] ?? '', '--user-count'), firstNumber };
  }
  else throw new ConfigError('give --users PATTERN --user-count N or --users-file FILE');
  let password: PasswordSource | undefined;
  if (values['password-env']) password = { env: values['password-env'] };
  else if (values['password-file']) password = { file: values['password-file'] };
  const auth: AuthScheme[] = values['no-auth'] ? [] : parseSchemes(values.auth ?? 'digest,basic');
  const optional = (name: string, value: string | undefined) => (value === undefined ? undefined : int(value, name));
  return {
    role,
    domain: values.domain,
    host: values.host ?? '127.0.0.1',
    port: optional('--port', values.port) ?? 0,
    users,
    password,
    auth,
    homes: parseHomeMap(values.home ?? []),
    selfUrl: values['self-url'],
    maxInbound: optional('--max-inbound', values['max-inbound']),
    maxConnectionsPerAddress: optional('--max-connections-per-address', values['max-connections-per-address']),
    tls: tlsFiles(values['tls-cert'], values['tls-key']),
    secondMs: optional('--second-ms', values['second-ms']),
    maxLeaseSeconds: optional('--max-lease', values['max-lease']),
    maxSubscriptionLifetime: optional('--max-lifetime', values['max-lifetime']),
    requestTimeoutMs: optional('--request-timeout-ms', values['request-timeout-ms']),
    idleTimeoutMs: optional('--idle-timeout-ms', values['idle-timeout-ms']),
    notifyStateOnly: values['notify-state-only'] ?? false,
    log: values.quiet ? undefined : (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  };
}

function tlsFiles(certificateFile: string | undefined, privateKeyFile: string | undefined): RvpServerOptions['tls'] {
  if (certificateFile === undefined && privateKeyFile === undefined) return undefined;
  if (certificateFile === undefined || privateKeyFile === undefined) throw new ConfigError('HTTPS needs both --tls-cert and --tls-key');
  return { certificateFile, privateKeyFile };
}

function parseSchemes(text: string): AuthScheme[] {
  const schemes = text.split(',').map((s) => s.trim().toLowerCase());
  for (const scheme of schemes) {
    if (scheme !== 'digest' && scheme !== 'basic') throw new ConfigError(`unknown auth scheme "${scheme}" (digest, basic)`);
  }
  return schemes as AuthScheme[];
}

function int(text: string, name: string): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(`${name} expects a non-negative integer, got "${text}"`);
  return Number(text);
}

/** Runs the server until a termination signal; used by this file and by `imload rvp-server`. */
export async function main(argv: readonly string[]): Promise<void> {
  let options: RvpServerOptions;
  try {
    options = parseServerArgs(argv);
  } catch (error) {
    process.stderr.write(`rvp-server: ${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  let handle;
  try {
    handle = await runRvpServer(options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`rvp-server: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stdout.write(`rvp-server listening on ${handle.url}\n`);
  const stop = () => {
    void handle.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`rvp-server: ${error.message}\n`);
    process.exit(1);
  });
}
