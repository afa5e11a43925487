/**
 * The metric registry a run uses: the engine's metrics (src/metrics/registry.ts) plus what each
 * protocol's descriptor declares (the shared latencies it produces, and its own metrics). The
 * threshold grammar bound to it is what scenarios, analysis and the report call.
 */
import { ENGINE_METRICS, MetricRegistry, type MetricDeclaration, type ProtocolMetricSource } from '../metrics/registry.js';
import * as grammar from '../metrics/threshold-grammar.js';

const register = (description: string): MetricDeclaration => ({ name: 'register', kind: 'latency', unit: 'ms', description });

/**
 * ADAPTER until the protocol descriptors land (branch h-descriptor): the `latencies` and
 * `metrics` fields each descriptor declares. Then this list becomes `DESCRIPTORS` from
 * ./registry.js (a descriptor is a ProtocolMetricSource as it stands).
 */
const PROTOCOL_SOURCES: readonly ProtocolMetricSource[] = [
  { name: 'irc', latencies: ['logon', 'join', 'delivery'], metrics: [register('NICK/USER sent to 001 (the server admitted the user)')] },
  { name: 'rvp', latencies: ['logon', 'delivery', 'presence'], metrics: [register('login SUBSCRIBE to its 200, router referral and Digest included')] },
  {
    name: 'sip',
    latencies: ['logon', 'delivery', 'presence'],
    metrics: [
      register('REGISTER to its 2xx, Digest rounds included'),
      { name: 'retransmissions', kind: 'counter', unit: 'count', description: 'requests sent again because no answer came in time (UDP); counted apart, never hidden in other figures' },
    ],
  },
];

export const METRICS: MetricRegistry = MetricRegistry.build(ENGINE_METRICS, PROTOCOL_SOURCES);

/** Threshold metrics as they read in messages and the scenario JSON Schema. */
export const THRESHOLD_METRICS: readonly string[] = grammar.thresholdMetrics(METRICS);

export const isThresholdMetric = (metric: string): boolean => grammar.isThresholdMetric(METRICS, metric);
export const latencyOf = (metric: string): string | undefined => grammar.latencyOf(METRICS, metric);
export const parseThresholdCheck = (text: string): grammar.ThresholdCheck | string => grammar.parseThresholdCheck(METRICS, text);
