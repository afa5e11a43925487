/**
 * Application bytes on the wire (both directions, as imload counts them) per event, per protocol.
 * Each protocol's descriptor carries its byte model: shapes from the agent's code (what each action
 * sends and receives), constants fitted by least squares to the per-second byte counters of lab
 * runs against the server it names (docs/capacity.md § Byte model), with the default 40-byte
 * message filler and 7-character user names. `--calibrate` says how far a prediction is from a
 * measured run. This file applies a model to a scenario.
 */
import type { Scenario } from '../scenarios/schema.js';
import type { WorkloadPlan } from '../scenarios/schedule.js';
import type { ByteModel, TimedTraffic } from '../protocols/byte-model.js';
import { PROTOCOLS, descriptorOf } from '../protocols/registry.js';

export type { ByteModel, TimedTraffic };

/** The filler size the constants were fitted with (the schema's default). */
export const FITTED_MESSAGE_BYTES = 40;

/** Every protocol in the registry carries a byte model, so `simulate` works for any of them. */
export const MODELLED_PROTOCOLS: readonly string[] = PROTOCOLS;

export function byteModelFor(protocol: string): ByteModel {
  const descriptor = descriptorOf(protocol);
  if (!descriptor) throw new Error(`no byte model for protocol "${protocol}" (known: ${MODELLED_PROTOCOLS.join(', ')})`);
  return descriptor.byteModel;
}

/** Per-event bytes for one scenario: message costs follow its message size. */
export interface EventBytes {
  readonly model: ByteModel;
  readonly message: number;
  readonly messageDelivery: number;
  readonly channelMessage: number;
  readonly channelDelivery: number;
  /** Timer bytes per online user per wall second. */
  readonly timerBytesPerUserSecond: number;
}

export function eventBytes(model: ByteModel, scenario: Scenario): EventBytes {
  const extra = scenario.behaviour.messageBytes - FITTED_MESSAGE_BYTES;
  const contacts = scenario.population.contacts;
  return {
    model,
    message: model.message + extra * model.bodyCopiesPerSend,
    messageDelivery: model.messageDelivery + extra * model.bodyCopiesPerDelivery,
    channelMessage: model.channelMessage + extra * model.bodyCopiesPerSend,
    channelDelivery: model.channelDelivery + extra * model.bodyCopiesPerDelivery,
    timerBytesPerUserSecond: model.timers.reduce((sum, t) => sum + (t.bytes + t.bytesPerContact * (model.presence ? contacts : 0)) / t.everySeconds, 0),
  };
}

/**
 * Calls `fire(atMs, bytes)` for each timer firing in the schedule: every period after a user's
 * logon (plus `logonMs`, when it completes) until its logoff.
 */
export function forEachTimerFire(plan: WorkloadPlan, model: ByteModel, logonMs: number, fire: (atMs: number, bytes: number) => void): void {
  const contacts = model.presence ? plan.scenario.population.contacts : 0;
  for (const timer of model.timers) {
    const period = timer.everySeconds * 1000;
    const bytes = timer.bytes + timer.bytesPerContact * contacts;
    for (let i = 0; i < plan.users; i++) {
      const end = plan.logoffAt(i);
      for (let at = plan.logonAt(i) + logonMs + period; at < end; at += period) fire(at, bytes);
    }
  }
}
