/**
 * ejabberd bulk provisioning: a compiled Erlang module loaded into the running node writes the
 * Mnesia `passwd` (plain password, `auth_password_format: plain`) and `roster` records
 * (`subscription` both/to/from) straight into its tables. Measured in bench/RESULTS.md against
 * XEP-0227 (`import_piefxis`); docs/decisions.md § XMPP provisioning.
 *
 * Records follow ejabberd 23.01's include/ejabberd_auth.hrl and include/mod_roster.hrl:
 *   {passwd, {User, Server}, Password}
 *   {roster, {U, S, {CU, CS, <<>>}}, {U, S}, {CU, CS, <<>>}, Name, Subscription, Ask, Groups, AskMessage, Xs}
 * with Subscription both | to | from as provision.ts derives it from the contact lists.
 * Record by record (dirty_write) is slow: ~100 s for 420,000 records into ejabberd's own
 * disc_only_copies `roster` (a dets file), ~27 s into disc_copies. The module therefore loads in
 * bulk (see its comment): ~7 s. Both tables end as disc_copies (RAM + disk); the lab config
 * turns ejabberd's caches off, so the records are seen at once. Meant for a lab node with nobody
 * logged in: during the load the tables are briefly RAM-only and the roster index is rebuilt.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { erlEval, type EjabberdCtlAddress } from './ejabberd-node.js';

export type Subscription = 'both' | 'to' | 'from';

export interface NormalisedUser {
  readonly name: string;
  readonly password: string;
  /** Bare JIDs, lower-cased. */
  readonly contacts: readonly string[];
  /** The roster to write, derived from every user's contacts (rosterItems). */
  readonly roster: readonly { readonly jid: string; readonly subscription: Subscription }[];
}

const MODULE_SOURCE = `-module(imload_provision).
-export([run/2]).

%% Bulk load: both tables become RAM copies, the roster's index on \`us\` is dropped, the records
%% go straight into the tables (mnesia:ets: no transaction log, no index upkeep), the index is
%% rebuilt once, and the tables become disc copies again (one table dump each).
run(File, Host) ->
    T0 = erlang:monotonic_time(millisecond),
    {ok, Data} = file:read_file(File),
    Lines = binary:split(Data, <<"\\n">>, [global, trim_all]),
    {Records, Accounts, Items} = lists:foldl(fun(Line, Acc) -> user(Line, Host, Acc) end, {[], 0, 0}, Lines),
    ok = copy_type(roster, ram_copies),
    ok = copy_type(passwd, ram_copies),
    Indexed = lists:member(3, mnesia:table_info(roster, index)),
    Indexed andalso ({atomic, ok} = mnesia:del_table_index(roster, us)) =:= {atomic, ok},
    mnesia:ets(fun() -> lists:foreach(fun mnesia:write/1, Records) end),
    {atomic, ok} = mnesia:add_table_index(roster, us),
    ok = copy_type(roster, disc_copies),
    ok = copy_type(passwd, disc_copies),
    {Accounts, Items, erlang:monotonic_time(millisecond) - T0}.

copy_type(Table, Type) ->
    case mnesia:table_info(Table, storage_type) of
        Type -> ok;
        _ -> {atomic, ok} = mnesia:change_table_copy_type(Table, node(), Type), ok
    end.

user(Line, Host, {Records, Accounts, Items}) ->
    [User, PasswordHex | Rest] = binary:split(Line, <<"\\t">>, [global]),
    Contacts = case Rest of [] -> []; [<<>>] -> []; [List] -> binary:split(List, <<",">>, [global]) end,
    US = {User, Host},
    Roster = [begin
                  [JID, Sub] = binary:split(Contact, <<":">>),
                  [CU, CS] = binary:split(JID, <<"@">>),
                  LJID = {CU, CS, <<>>},
                  {roster, {User, Host, LJID}, US, LJID, <<>>, subscription(Sub), none, [], <<>>, []}
              end || Contact <- Contacts],
    {[{passwd, US, binary:decode_hex(PasswordHex)} | Roster ++ Records], Accounts + 1, Items + length(Contacts)}.

subscription(<<"both">>) -> both;
subscription(<<"to">>) -> to;
subscription(<<"from">>) -> from.
`;

export async function provisionEjabberd(
  lab: EjabberdCtlAddress,
  host: string,
  users: readonly NormalisedUser[],
): Promise<{ accounts: number; rosterItems: number }> {
  const stamp = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const dataFile = join(lab.dir, `provision-${stamp}.tsv`);
  const sourceFile = join(lab.dir, 'imload_provision.erl');
  const lines: string[] = [];
  for (const user of users) {
    lines.push(`${user.name}\t${Buffer.from(user.password, 'utf8').toString('hex')}\t${user.roster.map((item) => `${item.jid}:${item.subscription}`).join(',')}`);
  }
  writeFileSync(dataFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(sourceFile, MODULE_SOURCE);
  // Compiled on the helper node, loaded into the server, run there (interpreted -eval code is
  // ~10x slower than a compiled module for 400,000 records).
  const code = [
    `{ok, Mod, Bin} = compile:file(${erlString(sourceFile)}, [binary, report_errors]),`,
    `{module, Mod} = rpc:call(Node, code, load_binary, [Mod, ${erlString(sourceFile)}, Bin]),`,
    `case rpc:call(Node, Mod, run, [${erlString(dataFile)}, <<${erlString(host)}>>], infinity) of`,
    `  {A, I, Ms} -> io:format("provisioned ~p ~p ~p~n", [A, I, Ms]), halt(0);`,
    `  Other -> io:format("provision failed: ~p~n", [Other]), halt(1)`,
    'end.',
  ].join('\n');
  let output: string;
  try {
    output = await erlEval(lab, code, 600_000);
  } finally {
    rmSync(dataFile, { force: true }); // it holds the passwords
  }
  const match = /provisioned (\d+) (\d+) (\d+)/.exec(output);
  if (!match) throw new Error(`ejabberd provisioning failed: ${output.trim().slice(0, 500)}`);
  return { accounts: Number(match[1]), rosterItems: Number(match[2]) };
}

/** An Erlang string literal (the module path, data path and host are plain ASCII here). */
function erlString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
