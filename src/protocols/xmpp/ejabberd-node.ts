/**
 * Reaching a lab ejabberd node from Node: ejabberdctl commands and Erlang expressions run on a
 * hidden control node with the lab node's cookie and distribution port (no epmd). Used by the
 * lab starter, bulk provisioning and the agent's cross-check alike, so it imports neither.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { LabError } from '../../lab/types.js';

/** What a control command needs to reach the node: plain data, safe in LabTarget.options. */
export interface EjabberdCtlAddress {
  /** Erlang node name, e.g. `imload-ejabberd-40123@localhost`. */
  readonly node: string;
  readonly cookie: string;
  /** The node's distribution port (there is no epmd). */
  readonly distPort: number;
  /** The `erl` binary and ERL_LIBS the node was started with. */
  readonly erl: string;
  readonly erlLibs: string;
  /** Lab folder: HOME for the control nodes, scratch files. */
  readonly dir: string;
}

/** The server's own count of connected sessions (`ejabberdctl connected_users_number`). */
export async function ejabberdOnlineCount(address: EjabberdCtlAddress): Promise<number> {
  const output = (await ejabberdCtl(address, ['connected_users_number'])).trim();
  if (!/^\d+$/.test(output)) throw new LabError(`unexpected connected_users_number output: ${output.slice(0, 200)}`, 'ejabberd');
  return Number(output);
}

/** Registered accounts of a virtual host (`ejabberdctl registered_users <host>`). */
export async function ejabberdRegisteredUsers(address: EjabberdCtlAddress, domain: string): Promise<string[]> {
  return (await ejabberdCtl(address, ['registered_users', domain])).split('\n').filter((line) => line.length > 0);
}

/** One roster (`ejabberdctl get_roster <user> <host>`): JID and subscription per item. */
export async function ejabberdRoster(address: EjabberdCtlAddress, user: string, domain: string): Promise<{ jid: string; subscription: string }[]> {
  const output = await ejabberdCtl(address, ['get_roster', user, domain]);
  return output
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const fields = line.split('\t');
      return { jid: fields[0]!, subscription: fields[2] ?? '' };
    });
}

/** Runs an ejabberdctl command against the lab's node; resolves with its output, rejects on a non-zero status. */
export function ejabberdCtl(address: EjabberdCtlAddress, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const control = [
    '-sname', controlName('ctl'), '-setcookie', address.cookie, '-hidden', '-noinput',
    '-erl_epmd_port', String(address.distPort), '-start_epmd', 'false', '-dist_listen', 'false',
    '-s', 'ejabberd_ctl', '-extra', address.node, ...args,
  ];
  return run(address, control, timeoutMs, `ejabberdctl ${args.join(' ')}`);
}

/** Evaluates Erlang expressions on a hidden control node where `Node` is bound to the lab's node. */
export function erlEval(address: EjabberdCtlAddress, code: string, timeoutMs = 60_000): Promise<string> {
  const control = [
    '-sname', controlName('eval'), '-setcookie', address.cookie, '-hidden', '-noinput',
    '-erl_epmd_port', String(address.distPort), '-start_epmd', 'false', '-dist_listen', 'false',
    '-eval', `Node = '${address.node}', pong = net_adm:ping(Node), ${code}`,
  ];
  return run(address, control, timeoutMs, 'erl -eval');
}

function run(address: EjabberdCtlAddress, args: string[], timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(address.erl, args, { timeout: timeoutMs, cwd: address.dir, env: nodeEnv(address), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new LabError(`${what} failed: ${(stdout + stderr).trim().slice(0, 500) || error.message}`, 'ejabberd'));
      else resolve(stdout);
    });
  });
}

let controlCounter = 0;
function controlName(role: string): string {
  return `imload-${role}-${process.pid}-${++controlCounter}-${randomBytes(3).toString('hex')}@localhost`;
}

export function nodeEnv(address: EjabberdCtlAddress, configFile?: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // Erlang reads and may write ~/.erlang.cookie: keep it in the lab folder.
    HOME: address.dir,
    ERL_LIBS: address.erlLibs,
    ERL_CRASH_DUMP: join(address.dir, 'erl_crash.dump'),
    ERL_CRASH_DUMP_BYTES: '0',
    ERL_MAX_PORTS: '262144',
    ...(configFile
      ? { EJABBERD_CONFIG_PATH: configFile, EJABBERD_LOG_PATH: join(address.dir, 'ejabberd.log'), EJABBERD_PID_PATH: join(address.dir, 'ejabberd.pid') }
      : {}),
  };
}

