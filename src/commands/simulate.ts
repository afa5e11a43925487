/** `imload simulate <file> -s NAME`: a scenario's traffic predicted without endpoints; --calibrate beside a run. */
import { EXIT, UserFacingError } from '../exit-codes.js';
import { loadScenarioFile } from '../scenarios/load.js';
import { applyOverrides, type Overrides } from '../scenarios/overrides.js';
import { parseTargetUrl } from '../scenarios/target.js';
import { predictTraffic } from '../capacity/simulate.js';
import { MODELLED_PROTOCOLS } from '../analysis/simulate-bytes.js';
import { calibrateAgainstRun, CalibrationError } from '../capacity/simulate-calibrate.js';
import { formatCalibration, formatPrediction } from '../capacity/simulate-format.js';

export interface SimulateOptions extends Overrides {
  readonly file: string;
  readonly scenario?: string;
  readonly calibrate?: string;
  /** How long a logon takes, ms: shifts logons, joins and reachability that much later. */
  readonly logonMs?: number;
  readonly json?: boolean;
}

export function simulateCommand(options: SimulateOptions): string {
  if (options.calibrate) {
    try {
      const calibration = calibrateAgainstRun(options.calibrate);
      return options.json ? JSON.stringify({ runDir: calibration.runDir, protocol: calibration.protocol, rows: calibration.rows }, null, 2) : formatCalibration(calibration);
    } catch (error) {
      if (error instanceof CalibrationError) throw new UserFacingError(error.message, EXIT.badInput);
      throw error;
    }
  }
  if (!options.scenario) throw new UserFacingError('which scenario? give -s NAME (or --calibrate <run-dir>)', EXIT.badInput);
  const loaded = loadScenarioFile(options.file);
  const base = loaded.config.scenarios[options.scenario];
  if (!base) {
    throw new UserFacingError(`${options.file}: no scenario named "${options.scenario}" (scenarios: ${Object.keys(loaded.config.scenarios).join(', ')})`, EXIT.badInput);
  }
  const { scenario, targets } = applyOverrides(base, loaded.config.targets, options);
  const protocol = parseTargetUrl(targets[scenario.target]!.url).protocol;
  if (!MODELLED_PROTOCOLS.includes(protocol)) throw new UserFacingError(`no byte model for protocol ${protocol}`, EXIT.badInput);
  const network = targets[scenario.target]!.network;
  const servers = network?.urls?.length ?? network?.servers ?? 1;
  const eachInstanceServers = network?.channels === 'each-instance' && servers >= 2 ? servers : undefined;
  const prediction = predictTraffic(scenario, protocol, { logonMs: options.logonMs, eachInstanceServers });
  if (!options.json) return formatPrediction(options.scenario, prediction);
  // Per-second rows are left out of the JSON unless they are few: a 10-minute run has 600+.
  const { seconds, ...rest } = prediction;
  return JSON.stringify({ scenario: options.scenario, ...rest, seconds: seconds.length <= 120 ? seconds : undefined }, null, 2);
}
