/** `--out kind=target` (repeatable) → the run's outputs. docs/outputs.md. */
import { JsonOutput } from './json.js';
import { OtlpOutput } from './otlp.js';
import type { Output, OutputContext } from './output.js';
import { parsePrometheusTarget, PrometheusOutput } from './prometheus.js';

export type { Output, OutputContext, OutputStopResult } from './output.js';
export { OutputSet } from './output.js';

export const OUTPUT_KINDS = ['prometheus', 'otlp', 'json'] as const;

export class OutputSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputSpecError';
  }
}

export function createOutput(spec: string, context: OutputContext = {}): Output {
  const eq = spec.indexOf('=');
  const kind = eq < 0 ? spec : spec.slice(0, eq);
  const target = eq < 0 ? '' : spec.slice(eq + 1);
  if (!target) throw new OutputSpecError(`--out ${spec}: write kind=target, e.g. prometheus=http://127.0.0.1:9090/api/v1/write, otlp=http://127.0.0.1:4318/v1/metrics or json=seconds.ndjson`);
  try {
    switch (kind) {
      case 'prometheus':
        return new PrometheusOutput(parsePrometheusTarget(target), context.labels);
      case 'otlp':
        return new OtlpOutput(target, context.labels);
      case 'json':
        return new JsonOutput(target, context);
      default:
        // Before live outputs, `--out a=b` named a folder: say how to name one with "=" now.
        throw new OutputSpecError(
          `--out ${spec}: unknown output "${kind}" (one of ${OUTPUT_KINDS.join(', ')}); for a run folder whose name contains "=", write it as a path: --out ./${spec}`,
        );
    }
  } catch (e) {
    if (e instanceof OutputSpecError) throw e;
    throw new OutputSpecError((e as Error).message.startsWith('--out') ? (e as Error).message : `--out ${spec}: ${(e as Error).message}`);
  }
}
