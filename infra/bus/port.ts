// The live bus port (DESIGN.md "Live delivery (NATS)"). The bus only carries notifications: the store stays the
// source of truth, so a subscriber that loses messages (gap, overflow, reconnect) re-reads the store.
import type { Position, StoredEvent } from '../eventstore/port.ts';

export interface BusMessage {
  readonly event: StoredEvent;
  /**
   * No event of the same tenant lies strictly between `prevPosition` and `event.position`: a subscriber whose
   * last seen tenant position is below `prevPosition` has missed something and must re-read the store.
   */
  readonly prevPosition: Position;
}

/** Called synchronously on the bus's delivery path: must not throw or block (the live query only buffers). */
export interface BusListener {
  onMessage(message: BusMessage): void;
  /** Messages may have been lost (publisher restarted, connection re-established): re-read the store. */
  onReset(): void;
}

export interface BusSubscription {
  close(): Promise<void>;
}

/** The subscribing half, all a live query needs. */
export interface BusSubscriber {
  /**
   * Delivers every message of one tenant to `listener`. Resolves once the subscription is active, so that a store
   * read started afterwards cannot miss an event that is published but not delivered.
   */
  subscribe(tenant: string, listener: BusListener): Promise<BusSubscription>;
}

export interface Bus extends BusSubscriber {
  /** Publishes one event; messages from one publisher arrive in publish order. */
  publish(message: BusMessage): void;
  /** Tells every subscriber on every instance to re-read the store (see BusListener.onReset). */
  publishReset(): void;
  /** Delivers what was already published, then closes every subscription and the connection. */
  close(): Promise<void>;
}

export class BusError extends Error {
  override name = 'BusError';
}

/** A message on the wire that is not a bus message; it is dropped (subscribers recover from the store). */
export class MalformedBusMessageError extends BusError {
  override name = 'MalformedBusMessageError';
}
