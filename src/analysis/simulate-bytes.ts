/**
 * Application bytes on the wire (both directions, as imload counts them) per event, per protocol.
 * Shapes come from the agents' code (what each action sends and receives); the constants were
 * fitted by least squares to the per-second byte counters of lab runs against the servers named
 * below (docs/capacity.md § Byte model), with the default 40-byte message filler and 7-character
 * user names. `--calibrate` says how far a prediction is from a measured run.
 */
import type { Scenario } from '../scenarios/schema.js';
import type { WorkloadPlan } from '../scenarios/schedule.js';
import type { ByteModel, TimedTraffic } from '../protocols/byte-model.js';
// Until the registry of descriptors serves byte models (#18): XMPP's lives in its descriptor.
import { xmppDescriptor } from '../protocols/xmpp/descriptor.js';

export type { ByteModel, TimedTraffic };

/** The filler size the constants were fitted with (the schema's default). */
export const FITTED_MESSAGE_BYTES = 40;

const BUILT_IN: Record<string, ByteModel> = {
  // InspIRCd 3 (lab): tags (server-time, msgid) on every relayed line, a PING barrier per send.
  irc: {
    protocol: 'irc',
    fittedAgainst: 'InspIRCd 3 lab',
    channels: true,
    presence: false,
    logon: 2_200,
    logonPerContact: 0,
    join: 590,
    joinPerMember: 68,
    logoff: 905,
    logoffPerContact: 0,
    logoffPerMember: 49,
    message: 188,
    messageDelivery: 180,
    channelMessage: 165,
    channelDelivery: 180,
    presenceChange: 0,
    presenceNotify: 0,
    bodyCopiesPerSend: 1,
    bodyCopiesPerDelivery: 1,
    // The lab sets pingfreq 3600; a server PING and its PONG.
    timers: [{ what: 'server PING/PONG', bytes: 60, bytesPerContact: 0, everySeconds: 3_600 }],
  },
  // Our reference RVP server (lab, combined role): HTTP/1.1 requests and responses.
  rvp: {
    protocol: 'rvp',
    fittedAgainst: 'imload reference RVP server (combined)',
    channels: false,
    presence: true,
    logon: 3_000,
    logonPerContact: 1_519,
    join: 0,
    joinPerMember: 0,
    logoff: 1_500,
    logoffPerContact: 776,
    logoffPerMember: 0,
    message: 1_200,
    messageDelivery: 978,
    channelMessage: 0,
    channelDelivery: 0,
    presenceChange: 1_409,
    presenceNotify: 962,
    bodyCopiesPerSend: 1,
    bodyCopiesPerDelivery: 1,
    timers: [
      // PROPPATCH of the presence lease every leaseRefreshSeconds (900 s by default).
      { what: 'presence lease refresh', bytes: 1_000, bytesPerContact: 0, everySeconds: 900 },
      // Login and contact subscriptions renewed 300 s before their 14,400 s lifetime ends.
      { what: 'subscription renewals', bytes: 1_519, bytesPerContact: 1_519, everySeconds: 14_100 },
    ],
  },
  // Kamailio 5.6 (lab, UDP): REGISTER, PUBLISH, SUBSCRIBE/NOTIFY per contact, pager-mode MESSAGE.
  sip: {
    protocol: 'sip',
    fittedAgainst: 'Kamailio 5.6 lab (UDP)',
    channels: false,
    presence: true,
    logon: 2_500,
    logonPerContact: 2_344,
    join: 0,
    joinPerMember: 0,
    logoff: 2_500,
    logoffPerContact: 2_413,
    logoffPerMember: 0,
    message: 750,
    messageDelivery: 749,
    channelMessage: 0,
    channelDelivery: 0,
    presenceChange: 1_044,
    presenceNotify: 1_283,
    bodyCopiesPerSend: 1,
    bodyCopiesPerDelivery: 1,
    // Bindings of 3,600 s refreshed 30 s early: REGISTER, PUBLISH, and a SUBSCRIBE per contact.
    timers: [{ what: 'REGISTER, PUBLISH and SUBSCRIBE refreshes', bytes: 2_500, bytesPerContact: 2_344, everySeconds: 3_570 }],
  },
  xmpp: xmppDescriptor.byteModel,
};

export const MODELLED_PROTOCOLS = Object.keys(BUILT_IN);

export function byteModelFor(protocol: string): ByteModel {
  const model = BUILT_IN[protocol];
  if (!model) throw new Error(`no byte model for protocol "${protocol}" (known: ${MODELLED_PROTOCOLS.join(', ')})`);
  return model;
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
