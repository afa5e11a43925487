/**
 * What crosses between the users a server at a site holds and everyone else's servers, when
 * servers are federated (home servers, pools): each subscription between a user here and a
 * contact elsewhere (made at logon, dropped at logoff), each instant message between them and
 * each presence notification between them, once, whichever side started it. Logons, a user's own
 * publications and the exchanges among the site's own users stay on its LAN.
 *
 * The plan counts these exchanges from its rates and the share of contacts elsewhere
 * (plan-bandwidth.ts); `imload plan --lab` counts them on the lab's own seeded schedule, so the
 * prediction it checks a link against is the byte model on the draws the lab really runs: with
 * 150 users the share of contacts elsewhere and the notifications to watchers online drift a few
 * per cent from their expected values, and the prediction drifted with them.
 */
import type { ByteModel } from '../protocols/byte-model.js';
import type { Scenario } from '../scenarios/schema.js';
import { WorkloadPlan } from '../scenarios/schedule.js';

/** Exchanges between a site's users and users elsewhere over one session, both ways. */
export interface CrossingExchanges {
  /** Subscriptions to a contact on the other side (each made at logon and dropped at logoff). */
  readonly subscriptions: number;
  readonly messages: number;
  readonly notifications: number;
}

/** The byte model's bytes for those exchanges, as one server relays them to another; timers aside. */
export function crossingBytes(exchanges: CrossingExchanges, m: ByteModel): number {
  return exchanges.subscriptions * (m.logonPerContact + m.logoffPerContact) + exchanges.messages * m.message + exchanges.notifications * (m.presenceRelay ?? m.presenceNotify);
}

/** The exchanges the scenario's schedule draws between the users `here` and the rest. */
export function scheduledCrossing(scenario: Scenario, here: (user: number) => boolean): CrossingExchanges {
  const plan = new WorkloadPlan(scenario);
  let subscriptions = 0;
  let messages = 0;
  let notifications = 0;
  for (let user = 0; user < plan.users; user++) {
    const side = here(user);
    for (const contact of plan.contactIndices(user)) if (here(contact) !== side) subscriptions++;
    const stream = plan.activity(user, { ...plan.identity(user), channels: [] });
    for (let action = stream.next(); action; action = stream.next()) {
      if (action.kind === 'message') {
        if (here(action.toIndex) !== side) messages++;
      } else if (action.kind === 'presence') notifications += plan.watchersOnline(user, action.at, (watcher) => here(watcher) !== side);
    }
  }
  return { subscriptions, messages, notifications };
}
