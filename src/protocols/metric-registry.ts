/**
 * The metric registry a run uses: the engine's metrics (src/metrics/registry.ts) plus what each
 * protocol's descriptor declares (the shared latencies it produces, and its own metrics). The
 * threshold grammar bound to it is what scenarios, analysis and the report call.
 */
import { ENGINE_METRICS, MetricRegistry } from '../metrics/registry.js';
import { DESCRIPTORS } from './registry.js';
import * as grammar from '../metrics/threshold-grammar.js';

export const METRICS: MetricRegistry = MetricRegistry.build(ENGINE_METRICS, DESCRIPTORS);

/** Threshold metrics as they read in messages and the scenario JSON Schema. */
export const THRESHOLD_METRICS: readonly string[] = grammar.thresholdMetrics(METRICS);

export const isThresholdMetric = (metric: string): boolean => grammar.isThresholdMetric(METRICS, metric);
export const latencyOf = (metric: string): string | undefined => grammar.latencyOf(METRICS, metric);
export const parseThresholdCheck = (text: string): grammar.ThresholdCheck | string => grammar.parseThresholdCheck(METRICS, text);
