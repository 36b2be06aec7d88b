// NATS core bus: at-most-once, low latency. Each instance holds one NATS subscription per tenant with live
// queries (fanned out in-process) plus one for resets; losses are repaired from the store, not by NATS.
import { connect } from '@nats-io/transport-node';
import { decodeBusMessage, encodeBusMessage } from './codec.ts';
import { TenantFanout } from './fanout.ts';
import { BusError, type Bus, type BusSubscription } from './port.ts';
import {
  DEFAULT_SUBJECT_PREFIX,
  eventSubject,
  isValidSubjectPrefix,
  resetSubject,
  tenantOf,
  tenantSubjects,
} from './subject.ts';

export interface NatsBusOptions {
  url: string;
  /** First subject token(s); tests use a unique one per run so that runs sharing a server never meet. */
  subjectPrefix?: string;
  /** Connection name shown in the server's monitoring. */
  name?: string;
  /** Undeliverable messages and subscription errors; delivery goes on (subscribers recover from the store). */
  onError?: (error: Error) => void;
}

export async function createNatsBus(options: NatsBusOptions): Promise<Bus> {
  const prefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  if (!isValidSubjectPrefix(prefix)) throw new BusError(`invalid NATS subject prefix: ${JSON.stringify(prefix)}`);
  const report = options.onError ?? ((error: Error) => console.warn(`live bus: ${error.message}`));
  const nats = await connect({ servers: options.url, name: options.name, maxReconnectAttempts: -1 }).catch(
    (error: unknown) => {
      throw new BusError(`cannot connect to NATS at ${options.url}`, { cause: error });
    },
  );
  const fanout = new TenantFanout();
  const upstream = new Map<string, { close(): Promise<void>; ready: Promise<void> }>();
  const isOpen = () => !nats.isClosed() && !nats.isDraining();

  nats.subscribe(resetSubject(prefix), { callback: () => fanout.resetAll() });
  // Core NATS drops whatever is published while a connection is down, so after a reconnect every live query
  // re-reads the store.
  const statusWatch = (async () => {
    for await (const status of nats.status()) if (status.type === 'reconnect') fanout.resetAll();
  })();

  function openTenant(tenant: string) {
    const subscription = nats.subscribe(tenantSubjects(prefix, tenant), {
      callback: (error, msg) => {
        if (error !== null) return report(error);
        try {
          fanout.deliver(tenant, decodeBusMessage(msg.string()));
        } catch (decodeError) {
          report(decodeError as Error);
        }
      },
    });
    return {
      // The server has registered the subscription once a round trip after SUB completes.
      ready: nats.flush(),
      close: async () => {
        if (isOpen() && !subscription.isClosed()) await subscription.drain();
      },
    };
  }

  return {
    async subscribe(tenant, listener): Promise<BusSubscription> {
      if (!isOpen()) throw new BusError('bus is closed');
      if (fanout.add(tenant, listener)) upstream.set(tenant, openTenant(tenant));
      const tenantSubscription = upstream.get(tenant);
      const close = async () => {
        if (fanout.remove(tenant, listener)) {
          upstream.delete(tenant);
          await tenantSubscription?.close();
        }
      };
      try {
        await tenantSubscription?.ready;
      } catch (error) {
        await close();
        throw new BusError(`cannot subscribe to tenant ${tenant}`, { cause: error });
      }
      return { close };
    },
    publish(message) {
      const tenant = tenantOf(message.event.streamId);
      if (tenant !== undefined) nats.publish(eventSubject(prefix, tenant, message.event), encodeBusMessage(message));
    },
    publishReset() {
      nats.publish(resetSubject(prefix));
    },
    async close() {
      if (isOpen()) await nats.drain();
      await statusWatch;
      fanout.clear();
      upstream.clear();
    },
  };
}
