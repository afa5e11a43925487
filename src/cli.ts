/** imload's command line. Each command lives in src/commands/; this file only wires them. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT, UserFacingError } from './exit-codes.js';
import { ScenarioError, formatProblem, formatWarning } from './scenarios/load.js';
import { SecretError, TargetError } from './scenarios/target.js';
import { LabError } from './lab/types.js';
import { JournalError } from './metrics/journal.js';
import { IMLOAD_VERSION } from './version.js';
import { DESCRIPTORS, LAB_KINDS } from './protocols/registry.js';
import { LAB_TOOLS } from './lab/types.js';

const DEFAULT_FILE = 'scenarios.yaml';

function positiveInt(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
    return Number(value);
  };
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return Number(value);
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0');
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

const program = new Command()
  .name('imload')
  .description(`Load testing and capacity simulation for real-time messaging servers (${DESCRIPTORS.map((d) => d.title).join(', ')})`)
  .version(IMLOAD_VERSION)
  .showHelpAfterError()
  .exitOverride((error) => {
    // commander's own usage errors (unknown option, bad value) are bad input: exit 2.
    process.exit(error.exitCode === 0 ? 0 : EXIT.badInput);
  });

/**
 * `--out` values: `kind=target` (a word then `=`: prometheus, otlp, json; an unknown kind is
 * refused by name, not taken for a folder) are live outputs, the rest the run folder. A folder
 * named `a=b` is given as a path (`./a=b`), as the refusal says.
 */
function splitOut(values: string[] | undefined): { out?: string; outputs: string[] } {
  const outputs = (values ?? []).filter((v) => /^[a-z][a-z0-9]*=/i.test(v));
  const dirs = (values ?? []).filter((v) => !outputs.includes(v));
  if (dirs.length > 1) throw new UserFacingError(`--out names one run folder, not ${dirs.length} (${dirs.join(', ')}); live outputs are kind=target`, EXIT.badInput);
  return { ...(dirs[0] !== undefined ? { out: dirs[0] } : {}), outputs };
}

function runOptions(command: Command, withOutputs = false): Command {
  return command
    .option('--users <n>', 'override population.users', positiveInt('--users'))
    .option('--duration <time>', 'override the hold duration (e.g. 90s, 10m)')
    .option('--time-scale <x>', 'override timeScale (simulated seconds per wall second)', positiveNumber)
    .option('--seed <n>', 'override the seed', nonNegativeInt)
    .option('--target <name=url>', 'point a target at another endpoint (repeatable)', collect)
    .option('--workers <n>', 'number of worker processes (default: one per 10,000 users)', positiveInt('--workers'))
    .addOption(
      withOutputs ?
        new Option('--out <dir|kind=target>', 'write the run folder here (default reports/<run-id>; new or empty; a name with "=" as a path: ./a=b); or a live output each second (repeatable, also with --repeat): prometheus=URL (remote write; ?native=1 native histograms), otlp=URL (OTLP/HTTP JSON), json=FILE').argParser(collect)
      : new Option('--out <dir>', 'write the run folder here (default reports/<run-id>); it must be new or empty'),
    )
    .option('--overwrite', 'empty --out first when it holds an earlier run')
    .option('--allow-remote', 'allow a target that is not on loopback')
    .option('-q, --quiet', 'no progress line or text summary');
}

runOptions(
  program
    .command('run')
    .description('run a scenario and write its outputs')
    .argument('[file]', 'scenario file', DEFAULT_FILE)
    .requiredOption('-s, --scenario <name>', 'scenario to run')
    .option('--lab', 'start the lab server named by the target (lab:) and run against it')
    .option('--segment <i/N>', 'run only the i-th of N deterministic parts of the population (one per host)')
    .option('--no-record', 'do not write events.ndjson.gz (what each user did, for imload replay)')
    .option('--start-at <epoch-ms>', 'start the run clock at this time (all segments of a multi-host run alike)', nonNegativeInt)
    .option('--start-gate <dir>', 'once ready, write a ready file in <dir> and start the clock at the time another process writes to <dir>/start (runs started together)')
    .option('--repeat <n>', 'run the same seeded scenario n times (each in <out>/repeat-<i>) and summarise the spread', positiveInt('--repeat'))
    .option('--dashboard [host:port]', 'serve a live page of the run (default 127.0.0.1 on a free port; another host needs --allow-remote); its URL is printed'),
  true,
).action(async (file: string, given) => {
  const { out, outputs } = splitOut(given.out);
  const options = { ...given, out };
  if (options.repeat !== undefined) {
    const { repeatCommand } = await import('./commands/repeat.js');
    const { exitCode } = await repeatCommand({ file, ...options, outputs, targets: options.target });
    process.exitCode = exitCode;
    return;
  }
  const { runCommand } = await import('./commands/run.js');
  const { exitCode } = await runCommand({ file, ...options, outputs, targets: options.target });
  process.exitCode = exitCode;
});

runOptions(
  program
    .command('demo')
    .description('start the lab servers, run the demo scenarios (demo, then every demo-*), write their outputs and say where')
    .argument('[file]', 'scenario file', DEFAULT_FILE)
    .option('-s, --scenario <name>', 'run only this scenario'),
).action(async (file: string, options) => {
  const { demoCommand } = await import('./commands/demo.js');
  process.exitCode = await demoCommand(file, { ...options, targets: options.target });
});

program
  .command('replay')
  .description('re-issue exactly what a recorded run did (events.ndjson.gz), keeping relative timing')
  .argument('<run-dir>', 'the recorded run folder')
  .option('--target <name=url>', 'replay against another endpoint (repeatable)', collect)
  .option('--speed <x>', 'replay x times faster (2) or slower (0.5)', positiveNumber, 1)
  .option('--lab', 'start the lab server named by the target and replay against it')
  .option('--out <dir>', 'write the replay folder here (default <run-dir>/replay-<time>); it must be new or empty')
  .option('--overwrite', 'empty --out first when it holds an earlier run')
  .option('--allow-remote', 'allow a target that is not on loopback')
  .option('-q, --quiet', 'no progress line or text summary')
  .action(async (runDir: string, options) => {
    const { replayCommand } = await import('./commands/replay.js');
    process.exitCode = await replayCommand(runDir, { ...options, targets: options.target });
  });

program
  .command('validate')
  .description('check a scenario file; every mistake is reported with file:line:column')
  .argument('[file]', 'scenario file', DEFAULT_FILE)
  .action(async (file: string) => {
    const { loadScenario } = await import('./scenarios/module.js');
    const { config, warnings } = await loadScenario(file);
    for (const warning of warnings) process.stderr.write(`${formatWarning(warning)}\n`);
    process.stdout.write(`${file}: ok (${Object.keys(config.scenarios).length} scenarios, ${Object.keys(config.targets).length} targets)\n`);
  });

program
  .command('schema')
  .description('print the JSON Schema of scenarios.yaml (for editors)')
  .action(async () => {
    const { scenarioJsonSchema } = await import('./scenarios/schema.js');
    process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
  });

program
  .command('report')
  .description('rebuild every output of a run folder from its journal.ndjson (also after a killed run)')
  .argument('<run-dir>', 'run folder')
  .action(async (runDir: string) => {
    const { reportCommand } = await import('./commands/report.js');
    await reportCommand(runDir);
  });

program
  .command('merge')
  .description('merge the journals of segment runs (run --segment i/N) into one run folder and write its outputs')
  .argument('<run-dirs...>', 'segment run folders (or their journal.ndjson files), every segment of one run')
  .option('--out <dir>', 'write the merged run folder here (default reports/<run-id>-merged); it must be new or empty')
  .option('--overwrite', 'empty --out first when it holds an earlier run')
  .option('-q, --quiet', 'no text summary')
  .action(async (runDirs: string[], options) => {
    const { mergeCommand } = await import('./commands/merge.js');
    const { exitCode } = await mergeCommand({ runDirs, ...options });
    process.exitCode = exitCode;
  });

program
  .command('compare')
  .description('compare a run with a baseline: deltas, a rank-sum test on per-second samples; exit 99 on a regression')
  .argument('<baseline-dir>', 'baseline run folder')
  .argument('<run-dir>', 'run folder to judge')
  .option('--max-regression <metric=limit>', 'allowed worsening, e.g. delivery.p99=10% or delivery.p99=20ms (repeatable)', collect)
  .option('--alpha <p>', 'significance level of the test (default 0.05)', positiveNumber)
  .option('--out <file>', 'HTML comparison file (default <run-dir>/compare.html)')
  .option('--json', 'print the comparison as JSON (docs/report.md) instead of the table')
  .action(async (baselineDir: string, runDir: string, options) => {
    const { compareCommand } = await import('./commands/compare.js');
    const { exitCode } = await compareCommand({ baselineDir, runDir, ...options });
    process.exitCode = exitCode;
  });

function fraction(value: string): number {
  const n = Number(value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be a fraction 0..1 or a percentage like 5%');
  return n;
}

program
  .command('plan')
  .description('size a deployment: IM home servers and routers, chat servers, SIP pools, WAN bandwidth per site')
  .argument('[plan-file]', 'YAML/JSON plan (users, peakOnlineFraction, sites, workload, ...); flags override it')
  .option('--users <n>', 'accounts in the population', nonNegativeInt)
  .option('--peak-online <fraction>', 'fraction online at peak: corporate ≈ 1, hosting e.g. 5%', fraction)
  .option('--site <name=users@kbps[,costly][,internet][,local=F]>', 'a site and its WAN link, e.g. branch-a=100@56,costly; internet: the Internet connection is here; local=60%: contacts at the site (repeatable)', collect)
  .option('--messages-per-hour <n>', 'instant messages per user per hour', positiveNumber)
  .option('--contacts <n>', 'contacts per user', nonNegativeInt)
  .option('--headroom <fraction>', 'spare link capacity required (default 0.25)', fraction)
  .option('--fd-limit <n>', 'open-file limit of one server process (default 20000)', positiveInt('--fd-limit'))
  .option('--router-profile <name>', 'limit profile for IM routers (e.g. exchange2000-im-router-sp2)')
  .option('--from-run <run-dir>', 'use the capacity and bandwidth measured in a run (repeatable)', collect)
  .option('--json', 'print the plan as JSON')
  .option('--html', 'print the plan as an HTML fragment')
  .option('--lab', 'build the placement in network namespaces with shaped links (root), run the workload across it, and check each link\'s traffic against the prediction (exit 99 outside the tolerance)')
  .option('--lab-users <n>', 'users the lab runs (default 150)', positiveInt('--lab-users'))
  .option('--lab-seconds <s>', 'wall seconds a session\'s activity is compressed into (default 30)', positiveNumber)
  .option('--tolerance <fraction>', 'with --lab: largest deviation of a link from the prediction (default 10%)', fraction)
  .option('--lab-out <dir>', 'with --lab: where the lab scenario, the runs and plan-lab.json go (default reports/plan-lab-<time>)')
  .action(async (file: string | undefined, options) => {
    const { planCommand, planLabCommand } = await import('./commands/plan.js');
    if (options.lab) {
      const { output, exitCode } = await planLabCommand({ file, ...options });
      process.stdout.write(`${output}\n`);
      process.exitCode = exitCode;
      return;
    }
    process.stdout.write(`${planCommand({ file, ...options })}\n`);
  });

program
  .command('simulate')
  .description("predict a scenario's traffic without endpoints: messages and bytes per user, logon storm, channel fan-out")
  .argument('[file]', 'scenario file', DEFAULT_FILE)
  .option('-s, --scenario <name>', 'scenario to simulate')
  .option('--users <n>', 'override population.users', positiveInt('--users'))
  .option('--duration <time>', 'override the hold duration (e.g. 90s, 10m)')
  .option('--time-scale <x>', 'override timeScale', positiveNumber)
  .option('--seed <n>', 'override the seed', nonNegativeInt)
  .option('--logon-ms <ms>', 'how long a logon takes (IRC servers often delay registration ~1 s)', positiveNumber)
  .option('--calibrate <run-dir>', 'predict the scenario a run ran and report the error per metric')
  .option('--json', 'print JSON')
  .action(async (file: string, options) => {
    const { simulateCommand } = await import('./commands/simulate.js');
    process.stdout.write(`${simulateCommand({ file, ...options })}\n`);
  });

const lab = program.command('lab').description('real servers on loopback: install, start, stop, list');
lab
  .command('install')
  .description('install the lab servers with apt (as root on Debian/Ubuntu), or say what to install')
  .action(async () => {
    const { labInstall } = await import('./commands/lab.js');
    process.exitCode = await labInstall();
  });
lab
  .command('up')
  .description('start lab servers in the background and record them')
  .argument('[kinds...]', `servers to start: ${[...LAB_KINDS, ...LAB_TOOLS].join(' ')}`, ['inspircd', 'ngircd'])
  .action(async (kinds: string[]) => {
    const { labUp } = await import('./commands/lab.js');
    await labUp(kinds);
  });
lab
  .command('down')
  .description('stop every recorded lab server')
  .action(async () => {
    const { labDown } = await import('./commands/lab.js');
    await labDown();
  });
lab
  .command('status')
  .description('list recorded lab servers and whether they still run')
  .action(async () => {
    const { labStatus } = await import('./commands/lab.js');
    labStatus();
  });

// Commands a protocol adds (its descriptor's `commands`), each parsing its own arguments.
for (const command of DESCRIPTORS.flatMap((d) => d.commands ?? [])) {
  program
    .command(command.name)
    .description(command.description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]')
    .action(async () => {
      const args = process.argv.slice(process.argv.indexOf(command.name) + 1);
      // Asked for help is not a usage error: print it on stdout and exit 0, like every other command.
      if (args.includes('--help') || args.includes('-h')) {
        process.stdout.write(`${await command.usage()}\n`);
        return;
      }
      await command.run(args);
    });
}

program.addOption(new Option('--debug', 'print stack traces for internal errors').hideHelp());

function fail(error: unknown): never {
  if (error instanceof ScenarioError) {
    for (const problem of error.problems) process.stderr.write(`${formatProblem(problem)}\n`);
    process.stderr.write(`${error.problems.length} problem${error.problems.length === 1 ? '' : 's'} found\n`);
    process.exit(EXIT.badInput);
  }
  if (error instanceof UserFacingError) {
    process.stderr.write(`imload: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  if (error instanceof LabError) {
    process.stderr.write(`imload: lab: ${error.message}${error.hint ? `\n  ${error.hint}` : ''}\n`);
    process.exit(EXIT.couldNotStart);
  }
  if (error instanceof SecretError || error instanceof TargetError || error instanceof JournalError) {
    process.stderr.write(`imload: ${error.message}\n`);
    process.exit(EXIT.badInput);
  }
  const debug = process.argv.includes('--debug') || process.env.IMLOAD_DEBUG;
  process.stderr.write(`imload: internal error: ${(error as Error).message ?? String(error)}\n`);
  if (debug) process.stderr.write(`${(error as Error).stack}\n`);
  else process.stderr.write('  (run again with IMLOAD_DEBUG=1 for the stack trace, and report it)\n');
  process.exit(EXIT.internalError);
}

program.parseAsync(process.argv).catch(fail);
